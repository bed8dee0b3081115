"""What auditors read: filtered pages of the chain, a case's access report, CSV export.

Nothing here decrypts anything: auditors see who did what to which id, never case content.
Pages are keyset-paginated on seq (newest first), so page 1 and page 20,000 cost the same at a
million events.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, select, text
from sqlalchemy.orm import Session

from reporter.audit import chain
from reporter.audit.chain import Actor
from reporter.models import AuditEvent

PAGE_SIZE = 50
CSV_COLUMNS = ("seq", "at", "actor_id", "actor_role", "action", "object_type", "object_id", "detail",
               "prev_hash", "hash")
#: The readable columns beside the raw ones: the actor's name and role, the action's sentence, the detail
#: as "label: value; ...", in the language of the auditor who exports.
READABLE_COLUMNS = ("actor_name", "actor_role_name", "action_sentence", "detail_text")
#: Actions that decrypt or hand out case content; the access report lists them first among equals.
DECRYPTING_ACTIONS = frozenset({"case.viewed", "case.exported", "attachment.downloaded"})
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class EventFilter:
    """Which events an auditor asked for; every field is optional."""

    actor: str | None = None
    action: str | None = None
    object_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _filtered(flt: EventFilter) -> Select[AuditEvent]:
    query = select(AuditEvent)
    if flt.actor:
        query = query.where(AuditEvent.actor_id == flt.actor)
    if flt.action:
        query = query.where(AuditEvent.action == flt.action)
    if flt.object_id:
        query = query.where(AuditEvent.object_id == flt.object_id)
    if flt.since:
        query = query.where(AuditEvent.at >= flt.since)
    if flt.until:
        query = query.where(AuditEvent.at < flt.until)
    return query


def find_events(
    session: Session, flt: EventFilter, *, before_seq: int | None = None, limit: int = PAGE_SIZE
) -> list[AuditEvent]:
    """Return up to `limit` matching events with seq below `before_seq`, newest first."""
    query = _filtered(flt)
    if before_seq is not None:
        query = query.where(AuditEvent.seq < before_seq)
    return list(session.scalars(query.order_by(AuditEvent.seq.desc()).limit(limit)))


def iter_events(session: Session, flt: EventFilter) -> Iterator[AuditEvent]:
    """Yield every matching event, oldest first, without loading them all at once."""
    query = _filtered(flt).order_by(AuditEvent.seq).execution_options(yield_per=2000)
    yield from session.scalars(query)


# One index seek per distinct action on ix_audit_events_action_seq (a "loose index scan"), instead of
# reading every row as SELECT DISTINCT does on PostgreSQL: a million events and sixty actions cost
# sixty seeks on both databases.
_ACTIONS = text("""
WITH RECURSIVE found(action) AS (
    SELECT MIN(action) FROM audit_events
    UNION ALL
    SELECT (SELECT MIN(action) FROM audit_events WHERE action > found.action) FROM found
    WHERE found.action IS NOT NULL
)
SELECT action FROM found WHERE action IS NOT NULL
""")


def actions_in_log(session: Session) -> list[str]:
    """Return every distinct action the log holds, in code order."""
    return [str(action) for action in session.scalars(_ACTIONS)]


def access_report(session: Session, report_id: str) -> list[AuditEvent]:
    """Return every event about one case in order: who opened it, when, and what they changed."""
    query = select(AuditEvent).where(AuditEvent.object_type == "report", AuditEvent.object_id == report_id)
    return list(session.scalars(query.order_by(AuditEvent.seq)))


def _cell(value: object) -> str:
    text = "" if value is None else value.isoformat() if isinstance(value, datetime) else str(value)
    # A spreadsheet would run a cell starting like a formula; a leading quote keeps it text.
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(events: Iterable[AuditEvent],
           readable: Callable[[AuditEvent], Sequence[str]] | None = None) -> Iterator[str]:
    """Yield the events as CSV text, a header first, one line per event.

    With `readable`, each line also holds the READABLE_COLUMNS it returns for the event; every cell,
    raw or readable, is neutralised the same way.
    """
    buffer = io.StringIO()
    # RFC 4180 line ends: the writer quotes any cell holding CR or LF, so a value cannot start a row.
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS + (READABLE_COLUMNS if readable else ()))
    for event in events:
        row = [_cell(getattr(event, column)) for column in CSV_COLUMNS]
        if readable is not None:
            row += [_cell(value) for value in readable(event)]
        writer.writerow(row)
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def filter_detail(flt: EventFilter) -> dict[str, str | None]:
    """Return a filter as the detail of an audit event (times in ISO format, `until` exclusive)."""
    return {"actor": flt.actor, "action": flt.action, "object_id": flt.object_id,
            "since": flt.since.isoformat() if flt.since else None,
            "until": flt.until.isoformat() if flt.until else None}


def record_export(session: Session, flt: EventFilter, *, actor: Actor) -> chain.Appended:
    """Record that `actor` exported the events matching `flt`; the caller commits before streaming."""
    return chain.record(session, actor=actor, action="audit.exported", detail=filter_detail(flt))
