"""When a person last opened each case, and when they logged in before this session.

Both are plain metadata about the staff member, never case content. The opening is written in the
same transaction as the view's audit event; the previous login is read from the audit log, which
already records every login, so no login time is added to the staff record (whose fields are
authenticated by an instance key and must not change on every login).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from reporter.models import AuditEvent, CaseEntry, CaseOpening


def record_opening(session: Session, person_id: str, report_id: str, *, now: datetime) -> None:
    """Remember that the person opened the case now, with the position its thread had reached."""
    seen = session.scalar(select(func.max(CaseEntry.seq)).where(CaseEntry.report_id == report_id)) or 0
    values = {"staff_id": person_id, "report_id": report_id, "opened_at": now, "seen_seq": seen}
    # An upsert, so two views of the same case at once by the same person never collide on the key.
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(CaseOpening).values(**values)
    session.execute(statement.on_conflict_do_update(
        index_elements=["staff_id", "report_id"], set_={"opened_at": now, "seen_seq": seen}))


def previous_login(session: Session, person_id: str) -> datetime | None:
    """Return when the person logged in before their latest login, or None for a first login."""
    return session.scalar(
        select(AuditEvent.at).where(AuditEvent.actor_id == person_id, AuditEvent.action == "staff.login")
        .order_by(AuditEvent.seq.desc()).limit(1).offset(1))
