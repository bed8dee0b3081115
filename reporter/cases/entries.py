"""The entries of a case: internal notes, messages between staff and the reporter, assessments.

Each entry is sealed under the case's data key as it is written; a note never reaches the reporter,
who sees only the message thread (`REPORTER_VISIBLE`), signed "protection team", never a name. The
entries of a case are counted and ordered by its entry chain (`entry_chain`): reading them or adding
one first checks that none was deleted, moved, re-authored or back-dated; if one was, the case is an
IntegrityFailure ("entries"), written to the audit log.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from reporter import directory, vault
from reporter.audit import chain
from reporter.cases import entry_chain, holding, notifications
from reporter.cases.holding import ActionRefused
from reporter.evidence import attachments
from reporter.evidence.inspection import PreparedAttachment
from reporter.evidence.store import AttachmentStore
from reporter.intake.text import clean_text, text_problem
from reporter.lifecycle import retention
from reporter.models import CaseEntry, Report, StaffMember
from reporter.models.base import new_id, to_the_hour
from reporter.models.case import REPORTER_VISIBLE

BODY_LIMIT = 10000


@dataclass(frozen=True)
class Entry:
    """A decrypted note, message or assessment."""

    id: str
    kind: str
    author_id: str | None
    created_at: datetime
    body: str


def _checked_entries(session: Session, report: Report, person: StaffMember | None) -> list[CaseEntry]:
    """Return every entry of the case in order, or raise IntegrityFailure("entries") (audited)."""
    stored = list(session.scalars(select(CaseEntry).where(CaseEntry.report_id == report.id)
                                  .order_by(CaseEntry.seq)))
    try:
        entry_chain.check(directory.keys_of(session), report.id, report.entries_mac, stored)
    except entry_chain.ChainInvalid:
        raise holding.integrity_failure(session, report.id, person, "entries") from None
    return stored


def add_entry(session: Session, report: Report, data_key: bytes, kind: str, body: str,
              person: StaffMember | None, now: datetime) -> CaseEntry:
    """Seal `body` as the next entry of the case (by `person`, or the reporter) and count it in the chain."""
    stored = _checked_entries(session, report, person)
    entry = CaseEntry(id=new_id(), report_id=report.id, kind=kind, author_id=person.id if person else None,
                      created_at=now, key_version=report.key_version, seq=len(stored) + 1, format=2)
    vault.seal_entry(entry, data_key, body)
    session.add(entry)
    report.entries_mac = entry_chain.mac(directory.keys_of(session), report.id, [*stored, entry])
    return entry


def entries_of(session: Session, report: Report, data_key: bytes, kinds: Sequence[str] | None = None, *,
               person: StaffMember | None = None) -> list[Entry]:
    """Return the case's entries (of `kinds`, or all), decrypted, in order; the chain is checked first."""
    return [Entry(entry.id, entry.kind, entry.author_id, entry.created_at, vault.open_entry(entry, data_key))
            for entry in _checked_entries(session, report, person) if kinds is None or entry.kind in kinds]


def reporter_entries(session: Session, report: Report, data_key: bytes) -> list[Entry]:
    """Return the message thread the reporter sees: messages only, never notes or assessments."""
    return entries_of(session, report, data_key, REPORTER_VISIBLE)


def clean_body(body: str) -> str:
    """Return a note or message body cleaned, or raise ActionRefused naming its problem."""
    text = clean_text(body or "")
    if not text:
        raise ActionRefused("empty")
    problem = text_problem(text, BODY_LIMIT)
    if problem:
        raise ActionRefused(problem)
    return text


def _add_staff_entry(session: Session, report_id: str, kind: str, action: str, *, person: StaffMember,
                     private_key: bytes, body: str, now: datetime) -> None:
    text = clean_body(body)
    with holding.changing(session):
        report, data_key = holding.unseal(session, report_id, person, private_key)
        entry = add_entry(session, report, data_key, kind, text, person, now)
        chain.record(session, actor=chain.Actor.of(person), action=action, object_type="report",
                     object_id=report.id, detail={"entry": entry.id}, at=now)


def add_note(
    session: Session, report_id: str, *, person: StaffMember, private_key: bytes, body: str, now: datetime,
) -> None:
    """Add an internal note (never shown to the reporter); commit."""
    _add_staff_entry(session, report_id, "note", "case.note_added", person=person, private_key=private_key,
                     body=body, now=now)


def send_message(
    session: Session, report_id: str, *, person: StaffMember, private_key: bytes, body: str, now: datetime,
) -> None:
    """Send a message the reporter reads on follow-up (signed "protection team"); commit."""
    _add_staff_entry(session, report_id, "staff_message", "case.message_sent", person=person,
                     private_key=private_key, body=body, now=now)


def reporter_message(
    session: Session, report: Report, data_key: bytes, *, body: str, now: datetime,
    files: Sequence[PreparedAttachment] = (), store: AttachmentStore | None = None,
    also: Callable[[Report], None] | None = None,
) -> None:
    """Add the reporter's reply (from an unlocked follow-up session) with its files; holders are notified.

    The files are written encrypted before the commit and deleted again if it fails. `also` runs in the
    same transaction (the reporter's "something new has happened" flags the case escalating).
    """
    text = clean_body(body)
    with attachments.files_written(files, store=store, data_key=data_key, key_version=report.key_version), \
            holding.changing(session):
        # Stored to the hour, like everything a reporter does; the entry chain keeps the order.
        entry = add_entry(session, report, data_key, "reporter_message", text, None, to_the_hour(now))
        retention.restart_on_reporter_activity(session, report, now)  # a closed case is kept longer
        if files:
            session.flush()  # the entry before the rows that point to it (no ORM relationship orders them)
        session.add_all(attachments.rows_for(files, report_id=report.id, data_key=data_key, entry_id=entry.id,
                                             key_version=report.key_version))
        chain.record(session, actor=chain.REPORTER, action="case.reporter_message", object_type="report",
                     object_id=report.id, detail={"entry": entry.id, "files": len(files)}, at=now)
        notifications.enqueue(session, holding.holders(session, report.id), reason="message", now=now)
        if also is not None:
            also(report)
