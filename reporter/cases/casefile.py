"""The case file: everything a holder sees of a case, decrypted, and the audit event of that view.

Reading a case is itself an action: each view is recorded (`case.viewed`) in the transaction that
decrypted it. The history shown with the case is the case's own audit events (never the views, which
auditors read in the audit log).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from reporter import vault
from reporter.audit import chain
from reporter.cases import entries, holding, openings
from reporter.crypto import CiphertextInvalid
from reporter.evidence import attachments
from reporter.models import AuditEvent, Report, StaffMember
from reporter.models.base import utcnow

#: Case actions shown as the case history (views are in the audit log, not in the history).
HISTORY_ACTIONS = ("report.submitted", "case.status_changed", "case.risk_changed", "case.assessed",
                   "case.note_added", "case.message_sent", "case.reporter_message", "case.referred",
                   "case.referred_to_partner", "case.routed", "case.escalated", "case.escalating",
                   "case.escalation_cleared",
                   "report.needs_routing", "case.retention_extended",
                   "campaign.case_added", "campaign.case_removed")


@dataclass(frozen=True)
class OpenedCase:
    """A case as its holder sees it: the report's fields, entries and history, decrypted."""

    report: Report
    fields: dict[str, str]
    entries: list[entries.Entry]
    history: list[AuditEvent]
    holders: list[str]
    attachments: list[attachments.AttachmentView]


def open_case(session: Session, report_id: str, *, person: StaffMember, private_key: bytes) -> OpenedCase:
    """Decrypt a case for its holder and record the view; commit. IntegrityFailure is also audited."""
    report, data_key = holding.unseal(session, report_id, person, private_key)
    try:
        fields = vault.open_report_fields(report, data_key)
        thread = entries.entries_of(session, report, data_key, person=person)
        files = attachments.list_attachments(session, report.id, data_key)
    except CiphertextInvalid:
        raise holding.integrity_failure(session, report_id, person, "content") from None
    history = list(session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "report", AuditEvent.object_id == report.id,
        AuditEvent.action.in_(HISTORY_ACTIONS)).order_by(AuditEvent.seq)))
    holders = sorted(holding.holders(session, report.id))
    chain.record(session, actor=chain.Actor.of(person), action="case.viewed", object_type="report",
                 object_id=report.id)
    openings.record_opening(session, person.id, report.id, now=utcnow())
    session.commit()
    return OpenedCase(report=report, fields=fields, entries=thread, history=history, holders=holders,
                      attachments=files)
