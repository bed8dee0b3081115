"""The coarse plaintext of what platforms did, kept only for reports whose reporter agreed to statistics."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from reporter.models.base import Base


class PlatformResponseStat(Base):
    """One online detail of a consenting report that was reported to its platform (reporter.stats.responses).

    No account, link, reference or day is kept: the platform code from the fixed list, the outcome
    code, and the months (first day, midnight UTC) it was reported and answered. The sealed row of the
    report holds the rest; this row is written again from it whenever the reporter or staff change it.
    """

    __tablename__ = "platform_responses"
    __table_args__ = (Index("ix_platform_responses_month", "reported_month", "platform", "outcome"),)

    report_id: Mapped[str] = mapped_column(String(32), ForeignKey("reports.id", ondelete="CASCADE"),
                                           primary_key=True)
    #: The row's place among the report's online details.
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16))
    #: The month it was reported to the platform (the report's month when no date was given).
    reported_month: Mapped[datetime] = mapped_column(DateTime)
    outcome_month: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
