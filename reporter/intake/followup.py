"""The reporter's way back to their report: a receipt opens their seal, and nothing else."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy import select
from sqlalchemy.orm import Session

from reporter import unlock, vault
from reporter.audit import chain
from reporter.cases import entries, holding, triage
from reporter.crypto import CiphertextInvalid, receipts
from reporter.evidence import attachments, inspection
from reporter.evidence.store import AttachmentStore
from reporter.keyring import Keyring
from reporter.lifecycle import receipt_keys
from reporter.models import Report, Seal

log = logging.getLogger(__name__)
KIND = "reporter"


class ReceiptInvalid(Exception):
    """The receipt is malformed, unknown, or does not open the seal. One error for every cause."""


class CasePurged(Exception):
    """The receipt is right, but its case was purged after its retention period; `purged_on` says when.

    Only the receipt lookup survives a purge (reporter.lifecycle.purge), so only the holder of the
    receipt learns this, and nothing else about the case.
    """

    def __init__(self, purged_on: datetime) -> None:
        super().__init__("case purged")
        self.purged_on = purged_on


@dataclass(frozen=True)
class ReporterView:
    """What a reporter may see of their own case."""

    report: Report
    fields: dict[str, str]
    #: Staff messages and the reporter's own replies, oldest first (never notes or assessments).
    messages: list[entries.Entry]
    #: The files of the report and of the reporter's messages: their own names, what cleaning removed.
    files: list[attachments.AttachmentView]


def start_followup(
    receipt_text: str, *, session: Session, keyring: Keyring, now: datetime, lifetime: timedelta,
    audit_denied: bool = True,
) -> unlock.Ticket:
    """Open the reporter's seal with a receipt and start an unlocked session; audit the outcome.

    With `audit_denied` off a wrong receipt writes nothing: the caller audits wrong receipts in bulk
    (reporter.web.intake.guessing: one event per client and hour, not one per guess).
    """
    try:
        receipt = receipts.normalise(receipt_text)
        report = receipt_keys.find_report(session, keyring, receipt)
        if report is None:
            raise ReceiptInvalid()
        if report.purged_at is not None:
            chain.record(session, actor=chain.REPORTER, action="followup.purged_case", object_type="report",
                         object_id=report.id)
            session.commit()
            raise CasePurged(report.purged_at)
        seal = session.scalars(
            select(Seal).where(Seal.report_id == report.id, Seal.recipient_kind == "reporter")
        ).one_or_none()
        if seal is None:
            raise ReceiptInvalid()
        data_key = vault.open_reporter_seal(seal, receipt)
        receipt_keys.renew_lookup(report, keyring, receipt)
    except (receipts.ReceiptMalformed, CiphertextInvalid, ReceiptInvalid):
        if audit_denied:
            chain.record(session, actor=chain.REPORTER, action="followup.denied")
            session.commit()
        raise ReceiptInvalid() from None
    ticket = unlock.open_session(session, kind=KIND, subject_id=report.id, role=chain.REPORTER.role,
                                 secret=data_key, now=now, lifetime=lifetime)
    chain.record(session, actor=chain.REPORTER, action="followup.opened", object_type="report",
                 object_id=report.id)
    session.commit()
    return ticket


def _unlocked(ticket: unlock.Ticket, session: Session, now: datetime) -> tuple[Report, bytes]:
    report_id, data_key = unlock.read_session(session, ticket, kind=KIND, now=now)
    report = session.get(Report, report_id)
    if report is None:
        raise unlock.SessionExpired()
    return report, data_key


def view_case(ticket: unlock.Ticket, *, session: Session, now: datetime) -> ReporterView:
    """Return the reporter's own report and message thread, decrypted, or raise unlock.SessionExpired."""
    report, data_key = _unlocked(ticket, session, now)
    try:
        fields = vault.open_report_fields(report, data_key)
        files = attachments.list_attachments(session, report.id, data_key)
    except CiphertextInvalid:
        raise holding.integrity_failure(session, report.id, None, "content") from None
    fields.pop("excluded", None)  # the reporter's own choice, but nothing to show back
    thread = entries.reporter_entries(session, report, data_key)
    return ReporterView(report=report, fields=fields, messages=thread, files=files)


def reply(
    ticket: unlock.Ticket, body: str, files: Sequence[inspection.Upload] = (), *, session: Session,
    now: datetime,
    store: AttachmentStore | None = None, limits: inspection.UploadLimits = inspection.DEFAULT_LIMITS,
    keep_originals: bool = False, new_incident: bool = False, hours: Mapping[str, int] | None = None,
) -> None:
    """Add the reporter's message and files to their case; commit.

    With `new_incident` (the reporter ticked "something new has happened") the case is flagged
    escalating in the same transaction, its deadline counted from now with `hours`. The reporter is
    never shown the flag: it is the team's reading of the case, not the reporter's.
    Raises TriageError for an empty or bad body and UploadRejected for refused files (nothing stored).
    """
    report, data_key = _unlocked(ticket, session, now)
    prepared = inspection.prepare_attachments(files, data_key=data_key, key_version=report.key_version,
                                            limits=limits, keep_originals=keep_originals)
    also: Callable[[Report], None] | None = None
    if new_incident:
        if hours is None:
            raise ValueError("a new incident needs the deadline hours")
        also = partial(triage.flag_escalating, session, reason="new_incident", actor=chain.REPORTER, now=now,
                       hours=hours)
    entries.reporter_message(session, report, data_key, body=body, now=now, files=prepared, store=store,
                             also=also)


def end_followup(token: str, *, session: Session) -> None:
    """Forget the unlocked case at once."""
    unlock.close_session(session, token)
    session.commit()
