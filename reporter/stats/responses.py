"""Platform responsiveness: the coarse plaintext kept for it, and its counts per period.

What a platform did is sealed with the online detail it belongs to (reporter.intake.platform_reports).
For statistics, and only for a report whose reporter agreed to be counted, each detail that was
reported to its platform also gets one plaintext row (PlatformResponseStat): the platform code, the
outcome code and two months. Never a day, a reference, an account or a link. The rows are written at
submission and written again, from the sealed details, whenever the reporter or a holder changes what
the platform did; a report without consent never has any.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from reporter.intake.online_details import OnlineDetail
from reporter.models import PlatformResponseStat, Report
from reporter.stats.periods import Period

#: What an outcome left blank on a detail that was reported counts as: the platform has not decided.
UNSAID_OUTCOME = "pending"


def _month(day: date | datetime) -> datetime:
    return datetime(day.year, day.month, 1)  # noqa: DTZ001 (naive UTC, as stored)


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


def rows_for(report: Report, details: Sequence[OnlineDetail]) -> list[PlatformResponseStat]:
    """Return the plaintext rows of a report's details that were reported to their platform (none
    without the reporter's consent to statistics)."""
    if not report.stats_consent:
        return []
    rows = []
    for position, detail in enumerate(details):
        response = detail.response
        if not response.was_reported():
            continue
        reported_on, outcome_on = _day(response.reported_on), _day(response.outcome_on)
        rows.append(PlatformResponseStat(
            report_id=report.id, position=position, platform=detail.platform,
            outcome=response.outcome or UNSAID_OUTCOME,
            reported_month=_month(reported_on or report.created_hour),
            outcome_month=_month(outcome_on) if outcome_on else None))
    return rows


def replace(session: Session, report: Report, details: Sequence[OnlineDetail]) -> None:
    """Write the report's rows again from its (changed) details; no commit."""
    session.execute(delete(PlatformResponseStat).where(PlatformResponseStat.report_id == report.id))
    session.add_all(rows_for(report, details))


def count_period(session: Session, period: Period) -> Counter[tuple[str, str, str]]:
    """Return (country, platform, outcome) -> details of consenting reports reported to the platform in
    the period. Reports marked as a possible flood are left out, as from every other figure."""
    query = (select(Report.country, PlatformResponseStat.platform, PlatformResponseStat.outcome, func.count())
             .join(Report, Report.id == PlatformResponseStat.report_id)
             .where(PlatformResponseStat.reported_month >= period.start,
                    PlatformResponseStat.reported_month < period.end,
                    Report.stats_consent.is_(True), Report.possible_flood.is_(False))
             .group_by(Report.country, PlatformResponseStat.platform, PlatformResponseStat.outcome))
    counts: Counter[tuple[str, str, str]] = Counter()
    for country, platform, outcome, number in session.execute(query):
        counts[(country, platform, outcome)] += number
    return counts
