"""The purge: crypto-shredding of the cases past their retention date, leaving a tombstone.

A case is purged by removing every copy of its data key and every ciphertext made under it:

- every seal (staff, escrow, reporter): no key that exists anywhere, the offline escrow key included,
  opens the case again;
- the report's sealed columns (overwritten with nothing), its notes, messages and assessments, its
  attachment rows, and any reporter follow-up session that held the data key wrapped for a browser;
- the blind indexes of its accounts and links (reporter.cases.linking), so it links to nothing, and
  its places in campaigns (reporter.cases.campaigns);
- its attachment files, through the attachment store's own API (so another store backend works too).

What remains is a tombstone: the country, category, incident kind, status and the month it was received
and closed, with the flood flag and the coarse figures a consenting reporter allowed (reporter.stats), so
the statistics of a closed period do not change; the receipt lookup, so the reporter's receipt opens a
page saying the case was deleted; and the audit events, which never held content. The exact hour becomes
the month; the language, risk, deadlines and routing flag are reset.

Batches: each batch is one transaction (select, delete, overwrite, one `case.purged` audit event per case,
commit), so a purge killed at any moment leaves every case either whole or fully purged, and a rerun
continues with what is left. The batch takes its cases with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL
and under SQLite's single writer lock, and checks the due condition inside that transaction: two hosts
running the purge at once never purge the same case twice, and a reporter who writes at that moment
either restarts the clock first or finds the case gone. A batch is at most BATCH_SIZE cases and stops
taking more after BATCH_SECONDS, so that a submission waits for at most one short batch, however loaded
the machine is.

Files: an attachment file is removed only after the transaction that deleted its row committed (a
rolled-back purge must not lose files of a case that still exists). Their ids are written to
`purged_files` in that transaction and removed from the list once the file is gone, so a run killed in
between leaves a list that the next run finishes first; `reporter vault check` reports those files too.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, Row, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from reporter.audit import chain
from reporter.evidence.store import AttachmentStore
from reporter.lifecycle import retention
from reporter.models import (
    AccountLink,
    Attachment,
    CampaignCase,
    CaseEntry,
    PurgedFile,
    Report,
    Seal,
    UnlockedSession,
)

log = logging.getLogger(__name__)

#: Cases per transaction at most, and how long one transaction goes on taking cases (it holds the write
#: lock: a submission waits for it), in chunks of CHUNK_SIZE cases.
BATCH_SIZE = 50
BATCH_SECONDS = 0.3
CHUNK_SIZE = 10
#: The follow-up session kind whose record holds a case's data key (reporter.intake.followup).
REPORTER_SESSION_KIND = "reporter"
_REPORTS = Report.__table__
assert isinstance(_REPORTS, Table)
_TOMBSTONE = update(_REPORTS).where(_REPORTS.c.id == bindparam("b_id")).values(
    created_hour=bindparam("b_created"), closed_at=bindparam("b_closed"), purged_at=bindparam("b_purged"),
    description_ct=b"", perpetrator_ct=b"", contact_ct=b"", occurred_on_ct=b"", submitted_at_ct=b"",
    excluded_ct=None, online_details_ct=None, entries_mac=None, language="", risk="unknown",
    deadline_at=None, escalated_at=None, retention_until=None, retention_extended_at=None,
    needs_routing=False, version=_REPORTS.c.version + 1,
)


@dataclass(frozen=True)
class DueCase:
    """A case the purge would remove: what the operator's list shows."""

    id: str
    closed_month: str
    country: str


@dataclass
class PurgeRun:
    """What a purge did: cases purged, files removed or already missing, and the longest batch."""

    cases: int = 0
    files_removed: int = 0
    files_missing: int = 0
    batches: int = 0
    longest_batch_seconds: float = 0.0


def month_of(moment: datetime) -> datetime:
    """Return `moment` rounded down to the first of its month: the only time a tombstone keeps."""
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def day_of(moment: datetime) -> datetime:
    """Return `moment` rounded down to the day: when a case was purged, as the reporter is told."""
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def count_due(session: Session, now: datetime) -> int:
    """Return how many cases are due for purging at `now`."""
    kept = retention.period(session)
    return int(session.scalar(select(func.count()).select_from(Report).where(
        retention.due_clause(now, kept))) or 0)


def due_cases(session: Session, now: datetime) -> Iterator[DueCase]:
    """Yield the cases due for purging at `now`, oldest closing first, without loading them all at once."""
    kept = retention.period(session)
    query = (select(Report.id, Report.closed_at, Report.country).where(retention.due_clause(now, kept))
             .order_by(Report.closed_at, Report.id).execution_options(yield_per=1000))
    for report_id, closed_at, country in session.execute(query):
        month = closed_at.strftime("%Y-%m") if closed_at is not None else "-"
        yield DueCase(id=report_id, closed_month=month, country=country)


def pending_files(session: Session) -> int:
    """Return how many files of purged cases are still to be removed from the store."""
    return int(session.scalar(select(func.count()).select_from(PurgedFile)) or 0)


def _store_ids(session: Session, ids: Sequence[str]) -> list[str]:
    found: list[str] = []
    for attachment_id, original_id in session.execute(
            select(Attachment.id, Attachment.original_id).where(Attachment.report_id.in_(ids))):
        found.append(attachment_id)
        if original_id:
            found.append(original_id)
    return found


def _shred(session: Session, rows: Sequence[Row[str, datetime, datetime | None]], purged_on: datetime,
           actor: chain.Actor) -> None:
    """Remove every seal, ciphertext and file row of these cases and leave their tombstones, audited."""
    ids = [row.id for row in rows]
    files = _store_ids(session, ids)
    if files:
        session.execute(insert(PurgedFile), [{"store_id": f, "purged_at": purged_on} for f in files])
    session.execute(delete(Attachment).where(Attachment.report_id.in_(ids)))
    session.execute(delete(CaseEntry).where(CaseEntry.report_id.in_(ids)))
    session.execute(delete(Seal).where(Seal.report_id.in_(ids)))
    session.execute(delete(AccountLink).where(AccountLink.report_id.in_(ids)))
    session.execute(delete(CampaignCase).where(CampaignCase.report_id.in_(ids)))
    session.execute(delete(UnlockedSession).where(UnlockedSession.kind == REPORTER_SESSION_KIND,
                                                  UnlockedSession.subject_id.in_(ids)))
    session.execute(_TOMBSTONE, [
        {"b_id": row.id, "b_created": month_of(row.created_hour), "b_purged": purged_on,
         "b_closed": month_of(row.closed_at) if row.closed_at is not None else None} for row in rows])
    for report_id in ids:
        chain.record(session, actor=actor, action="case.purged", object_type="report", object_id=report_id)


def purge_batch(session: Session, now: datetime, *, batch_size: int = BATCH_SIZE,
                seconds: float = BATCH_SECONDS, actor: chain.Actor = chain.CONSOLE) -> list[str]:
    """Purge up to `batch_size` dated cases due at `now` in one transaction; commit; return their ids.

    The transaction holds the write lock, so it also stops taking cases once `seconds` have passed
    (whatever the machine's load): the cases it locked but did not reach are left whole for the next
    batch. An empty list: none left. Cases closed before retention dates existed need
    `date_legacy_cases` first (`purge` does it).
    """
    started = time.perf_counter()
    done: list[str] = []
    try:
        rows = session.execute(
            select(Report.id, Report.created_hour, Report.closed_at).where(retention.expired_clause(now))
            .order_by(Report.retention_until, Report.id).limit(batch_size)
            .with_for_update(skip_locked=True)).all()
        for first in range(0, len(rows), CHUNK_SIZE):
            chunk = rows[first:first + CHUNK_SIZE]
            _shred(session, chunk, day_of(now), actor)
            done += [row.id for row in chunk]
            if time.perf_counter() - started > seconds:
                break
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return done


def remove_purged_files(session: Session, store: AttachmentStore, *,
                        batch_size: int = 500) -> tuple[int, int]:
    """Remove the files of purged cases from the store; return (removed, already missing).

    Each file is removed before its id leaves the list, so an interruption only repeats work.
    """
    removed = missing = 0
    last = ""
    while True:
        chunk = list(session.scalars(select(PurgedFile.store_id).where(PurgedFile.store_id > last)
                                     .order_by(PurgedFile.store_id).limit(batch_size)))
        session.rollback()
        if not chunk:
            return removed, missing
        for store_id in chunk:
            if store.delete(store_id):
                removed += 1
            else:
                missing += 1
        session.execute(delete(PurgedFile).where(PurgedFile.store_id.in_(chunk)))
        session.commit()
        last = chunk[-1]


def purge(session: Session, store: AttachmentStore, now: datetime, *, batch_size: int = BATCH_SIZE,
          actor: chain.Actor = chain.CONSOLE, progress: Callable[[int], None] | None = None) -> PurgeRun:
    """Purge every case due at `now` batch by batch, removing their files after each commit.

    Files left by an interrupted earlier run are removed first, and cases closed before retention
    dates existed get theirs. `progress` is told how many cases each batch purged.
    """
    run = PurgeRun()
    run.files_removed, run.files_missing = remove_purged_files(session, store)
    retention.date_legacy_cases(session, retention.period(session))
    while True:
        started = time.perf_counter()
        ids = purge_batch(session, now, batch_size=batch_size, actor=actor)
        if not ids:
            break
        run.longest_batch_seconds = max(run.longest_batch_seconds, time.perf_counter() - started)
        run.batches += 1
        run.cases += len(ids)
        removed, missing = remove_purged_files(session, store)
        run.files_removed, run.files_missing = run.files_removed + removed, run.files_missing + missing
        log.info("purged %d case(s), removed %d file(s)", len(ids), removed)
        if progress is not None:
            progress(len(ids))
    return run


#: The tables a purge deletes from or overwrites: what PostgreSQL must vacuum afterwards.
PURGED_TABLES = ("reports", "seals", "case_entries", "attachments", "unlocked_sessions", "purged_files")


def reclaim(engine: Engine) -> str:
    """Make the database drop the old copies of what a purge removed; return what was done, for the console.

    SQLite zeroes deleted content in the database file (``secure_delete``), but the write-ahead log still
    holds the pages as they were until it is checkpointed: a TRUNCATE checkpoint copies them back and
    empties it. PostgreSQL keeps every old row version (with its ciphertext) as a dead tuple until
    VACUUM: a plain VACUUM of the purged tables (which does not block writers) lets their space be
    reused. Neither can reach copies outside the database: backups, replicas, old disk blocks
    (SECURITY.md).
    """
    if engine.dialect.name == "sqlite":
        with engine.connect() as connection:
            busy, _log, _moved = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
        return "write-ahead log checkpointed and truncated" if not busy else \
            "write-ahead log checkpoint incomplete (a reader was busy): run the purge again later"
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        for table in PURGED_TABLES:
            connection.exec_driver_sql(f'VACUUM "{table}"')
    return f"vacuumed {', '.join(PURGED_TABLES)}"
