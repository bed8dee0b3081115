"""Closed months and quarters: the only periods statistics are given for.

A period still running is never counted: two exports made a day apart would differ by the reports of
that day, and one new report could be read off the difference. A closed period's counts only change
when the consenting reports of that period change, which nothing does after submission.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

KINDS = ("month", "quarter")
_LABEL = re.compile(r"^(?P<year>\d{4})-(?:(?P<month>\d{2})|Q(?P<quarter>[1-4]))$")


class PeriodInvalid(ValueError):
    """The period is malformed, unknown, or not yet over."""


@dataclass(frozen=True, order=True)
class Period:
    """A calendar month (index 1..12) or quarter (index 1..4) of a year, in UTC."""

    year: int
    kind: str
    index: int

    @property
    def start(self) -> datetime:
        """Return the first instant of the period."""
        month = self.index if self.kind == "month" else 3 * self.index - 2
        return datetime(self.year, month, 1)  # noqa: DTZ001 (naive UTC, as stored)

    @property
    def end(self) -> datetime:
        """Return the first instant after the period."""
        step = 1 if self.kind == "month" else 3
        month = (self.index if self.kind == "month" else 3 * self.index - 2) + step
        year = self.year + (month - 1) // 12
        return datetime(year, (month - 1) % 12 + 1, 1)  # noqa: DTZ001

    @property
    def label(self) -> str:
        """Return the period as 2026-11 (month) or 2026-Q3 (quarter)."""
        return f"{self.year}-{self.index:02d}" if self.kind == "month" else f"{self.year}-Q{self.index}"

    def previous(self) -> Period:
        """Return the period just before this one, of the same kind."""
        last = 12 if self.kind == "month" else 4
        return Period(self.year - 1, self.kind, last) if self.index == 1 else \
            Period(self.year, self.kind, self.index - 1)


def containing(moment: datetime, kind: str) -> Period:
    """Return the period of `kind` that contains `moment`."""
    if kind not in KINDS:
        raise PeriodInvalid("kind")
    index = moment.month if kind == "month" else (moment.month - 1) // 3 + 1
    return Period(moment.year, kind, index)


def closed(kind: str, now: datetime, count: int = 12) -> list[Period]:
    """Return the last `count` closed periods of `kind`, newest first."""
    periods = [containing(now, kind).previous()]
    while len(periods) < count:
        periods.append(periods[-1].previous())
    return periods


def parse(label: str, now: datetime) -> Period:
    """Return the closed period a label names, or raise PeriodInvalid."""
    match = _LABEL.match(label.strip())
    if not match:
        raise PeriodInvalid("format")
    year = int(match["year"])
    period = Period(year, "month", int(match["month"])) if match["month"] else \
        Period(year, "quarter", int(match["quarter"]))
    if not 1 <= period.index <= (12 if period.kind == "month" else 4) or year < 2000:
        raise PeriodInvalid("format")
    if period.end > now:
        raise PeriodInvalid("running")
    return period
