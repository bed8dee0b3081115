"""What the staff workspace remembers per person: when they last opened each case they hold."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from reporter.models.base import Base


class CaseOpening(Base):
    """The last time one staff member opened one case, and how far its thread had got then.

    Plain metadata, no case content: the audit log already records every view; this row only keeps
    the latest one per person and case so the overview and the queue can tell which cases have
    reporter messages the person has not seen, without reading the audit log per case.
    """

    __tablename__ = "case_openings"

    staff_id: Mapped[str] = mapped_column(String(32), ForeignKey("staff_members.id", ondelete="CASCADE"),
                                          primary_key=True)
    report_id: Mapped[str] = mapped_column(String(32), ForeignKey("reports.id", ondelete="CASCADE"),
                                           primary_key=True,
                                           index=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime)
    #: The highest entry position (case_entries.seq) of the case when the person last opened it:
    #: entries keep their time only to the hour, so "newer than the last opening" is told by position.
    seen_seq: Mapped[int] = mapped_column(Integer, default=0)
