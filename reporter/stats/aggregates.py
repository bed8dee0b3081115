"""The counts behind the statistics, as a few GROUP BY queries over the plaintext columns.

Only consenting reports of the period are counted (`stats_consent`), except for the one figure that
needs all reports: the share that consented. Reports marked as a possible flood are left out, so that
a flood of invented reports cannot shape the published figures. Purged cases keep their row and are
still counted, so that a closed period's figures do not move when old cases are shredded.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from reporter.models import Report
from reporter.stats.periods import Period


@dataclass
class Counts:
    """Raw, unsuppressed counts of one period: never shown as they are."""

    #: (country, category, incident kind, first risk or "unassessed", closed) -> consenting reports
    reports: Counter[tuple[str, str, str, str, bool]] = field(default_factory=Counter)
    #: (country, platform) -> consenting reports naming the platform
    platforms: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: country -> every report of the period, consenting or not
    everyone: Counter[str] = field(default_factory=Counter)
    #: country -> whole hours to the first acknowledgement / assessment, one value per report
    ack_hours: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    assess_hours: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))

    def countries(self) -> tuple[str, ...]:
        """Return the countries with consenting reports, sorted."""
        return tuple(sorted({key[0] for key in self.reports}))


def _in_period(period: Period) -> list:
    return [Report.created_hour >= period.start, Report.created_hour < period.end,
            Report.possible_flood.is_(False)]


def count_period(session: Session, period: Period) -> Counts:
    """Count the reports of one closed period, for every country (suppression needs them all)."""
    counts = Counts()
    where = and_(*_in_period(period), Report.stats_consent.is_(True))
    closed = (Report.status == "closed").label("closed")
    risk = func.coalesce(Report.stats_first_risk, "unassessed").label("first_risk")
    grouped = (select(Report.country, Report.category, Report.incident_kind, risk, closed, func.count())
               .where(where).group_by(Report.country, Report.category, Report.incident_kind, risk, closed))
    for country, category, kind, first_risk, is_closed, number in session.execute(grouped):
        counts.reports[(country, category, kind, first_risk, bool(is_closed))] += number
    named = (select(Report.country, Report.stats_platforms, func.count())
             .where(where, Report.stats_platforms.is_not(None))
             .group_by(Report.country, Report.stats_platforms))
    for country, platforms, number in session.execute(named):
        for platform in (platforms or "").split(","):
            counts.platforms[(country, platform)] += number
    everyone = select(Report.country, func.count()).where(*_in_period(period)).group_by(Report.country)
    for country, number in session.execute(everyone):
        counts.everyone[country] += number
    timed = (select(Report.country, Report.stats_ack_hours, Report.stats_assess_hours)
             .where(where, (Report.stats_ack_hours.is_not(None)) | (Report.stats_assess_hours.is_not(None))))
    for country, ack, assess in session.execute(timed):
        if ack is not None:
            counts.ack_hours[country].append(ack)
        if assess is not None:
            counts.assess_hours[country].append(assess)
    return counts
