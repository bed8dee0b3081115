"""What staff and the reporter add to a case: notes, messages, risk assessments. All sealed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from reporter.models.base import Base, new_id, utcnow

#: note: internal, never shown to the reporter; staff_message / reporter_message: the two-way thread;
#: assessment: the answers of a risk assessment (JSON), internal.
ENTRY_KINDS = ("note", "staff_message", "reporter_message", "assessment")
#: The kinds the reporter sees on follow-up.
REPORTER_VISIBLE = ("staff_message", "reporter_message")


class CaseEntry(Base):
    """One note, message or assessment. The body is AES-256-GCM under the case's data key."""

    __tablename__ = "case_entries"
    __table_args__ = (Index("ix_case_entries_report_created", "report_id", "created_at"),
                      Index("ix_case_entries_report_seq", "report_id", "seq", unique=True))

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    report_id: Mapped[str] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))
    #: The staff member who wrote it; None for the reporter.
    author_id: Mapped[str | None] = mapped_column(ForeignKey("staff_members.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    key_version: Mapped[int] = mapped_column(Integer, default=1)
    #: Position in the case, from 1: the case's entry chain (reporter.directory) counts and orders them.
    seq: Mapped[int | None] = mapped_column(Integer)
    #: 2: author, kind, time and position are in the ciphertext's associated data; 1: entries written
    #: before that, whose author, time and position only the entry chain authenticates.
    format: Mapped[int] = mapped_column(Integer, default=2, server_default="1")
    body_ct: Mapped[bytes] = mapped_column(LargeBinary)
