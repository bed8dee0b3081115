"""The coarse plaintext that statistics keep for consenting reports, and nothing for the others.

A report's content is sealed; statistics must not need the key. So at submission and at triage the
few values the figures use are written in plaintext beside the sealed fields, and only when the
reporter agreed: the platform codes they chose from the fixed list (never an account or a link), the
risk level of the first assessment, and the whole hours to the first acknowledgement and to the first
assessment, counted between times already rounded down to the hour, as every stored time of a
reporter's action is.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from reporter.models import Report
from reporter.models.base import to_the_hour


def platforms_column(platforms: Iterable[str], *, consent: bool) -> str | None:
    """Return the sorted, distinct platform codes as one comma-separated value (None without consent)."""
    chosen = sorted({p for p in platforms if p})
    return ",".join(chosen) if consent and chosen else None


def _hours_since_submission(report: Report, now: datetime) -> int:
    return max(0, int((to_the_hour(now) - report.created_hour).total_seconds() // 3600))


def note_acknowledged(report: Report, now: datetime) -> None:
    """Keep the hours to the first status change after "new", for a consenting report, once."""
    if report.stats_consent and report.stats_ack_hours is None:
        report.stats_ack_hours = _hours_since_submission(report, now)


def note_assessed(report: Report, risk: str, now: datetime) -> None:
    """Keep the first assessed risk level and the hours to it, for a consenting report, once."""
    if report.stats_consent and report.stats_first_risk is None and risk != "unknown":
        report.stats_first_risk = risk
        report.stats_assess_hours = _hours_since_submission(report, now)
