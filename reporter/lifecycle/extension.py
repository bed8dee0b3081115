"""Extending a case's retention: once per case, by a coordinator, with a reason kept sealed.

Retention is the default that protects reporters: content that no longer exists cannot leak. Some
cases need longer (a trial, a pattern still being documented), so a person with EXTEND_RETENTION who
holds the case may keep it one more retention period, once. The reason is staff-typed text and may
name people, so it is never stored in plaintext: it becomes a note of the case, sealed under the
case's data key like every note, and the audit event names only the note and the new date.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from reporter import access
from reporter.audit import chain
from reporter.cases import entries, holding
from reporter.cases.holding import ActionRefused
from reporter.lifecycle import retention
from reporter.models import StaffMember


def extend_retention(session: Session, report_id: str, *, person: StaffMember, private_key: bytes,
                     reason: str, now: datetime) -> datetime:
    """Keep a closed case one more retention period, once, with a sealed reason; audited; commit.

    Returns the new retention date. Raises ActionRefused("not_closed") for an open case and
    ActionRefused("extended") for a case extended before; AccessDenied without the permission.
    """
    access.check(person.role, access.EXTEND_RETENTION)
    text = entries.clean_body(reason)
    with holding.changing(session):
        report, data_key = holding.unseal(session, report_id, person, private_key)
        kept = retention.period(session)
        due = retention.purge_due(report, kept)
        if due is None:
            raise ActionRefused("not_closed")
        if report.retention_extended_at is not None:
            raise ActionRefused("extended")
        entry = entries.add_entry(session, report, data_key, "note", text, person, now)
        report.retention_until = max(due, now) + kept
        report.retention_extended_at = now
        chain.record(session, actor=chain.Actor.of(person), action="case.retention_extended",
                     object_type="report", object_id=report.id,
                     detail={"entry": entry.id, "until": report.retention_until.date().isoformat()}, at=now)
    return report.retention_until
