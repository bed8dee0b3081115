"""The outbox of content-free notifications: written with the action, sent after commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from reporter.models.base import Base, utcnow

#: Why a person is told "a case is waiting". The reason is never put in the message itself.
#: "audit_head" is the other message: the newest signed audit head, for an auditor to keep.
REASONS = ("routed", "referred", "overdue", "message", "audit_head", "escalating")


class Notification(Base):
    """One e-mail to one staff member, retried until sent or given up."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff_members.id", ondelete="CASCADE"), index=True)
    reason: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: Not sent before this time: the back-off after a failure, or a claim by a sending worker.
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    #: The class of the last error (never its message, which may quote the server's reply).
    last_error: Mapped[str | None] = mapped_column(String(64))
