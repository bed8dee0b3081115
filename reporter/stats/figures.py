"""The statistics of one closed period for one scope, suppressed once and shared by every output."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session

from reporter.intake.online_details import PLATFORMS
from reporter.intake.platform_reports import OUTCOMES
from reporter.models.report import CATEGORIES, INCIDENT_KINDS
from reporter.stats import aggregates, responses, suppression
from reporter.stats.aggregates import Counts
from reporter.stats.periods import Period

FIRST_RISKS = ("low", "medium", "high", "critical", "unassessed")
#: The breakdowns by country of the same reports: they share the countries' totals (linked).
LINKED = ("category", "incident_kind", "first_risk", "closed")
ROWS: dict[str, tuple[str, ...]] = {"category": CATEGORIES, "incident_kind": INCIDENT_KINDS,
                                    "first_risk": FIRST_RISKS, "closed": ("closed", "open"),
                                    "platform": PLATFORMS}
_KEY_POSITION = {"category": 1, "incident_kind": 2, "first_risk": 3}
TOTAL = "total"
HIDDEN = "suppressed"


@dataclass(frozen=True)
class Breakdown:
    """One table as shown: `cells[i][j]` for each row then the total row, each column shown."""

    name: str
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: list[list[int | None]]


@dataclass(frozen=True)
class Median:
    """A median in whole hours per column shown; None when too few reports stand behind it."""

    name: str
    columns: tuple[str, ...]
    values: list[int | None]


@dataclass(frozen=True)
class Statistics:
    """Everything the page, the charts, the CSV and the command line publish for one period."""

    period: Period
    region: str | None
    min_cell: int
    breakdowns: list[Breakdown]
    medians: list[Median]
    consent_share: int | None
    closed_share: int | None
    #: Per platform (in PLATFORMS order): details reported to it by outcome and country.
    responses: list[Breakdown] = field(default_factory=list)

    @property
    def scope(self) -> str:
        """Return the region code, or "all"."""
        return self.region or "all"

    def csv_rows(self) -> Iterator[tuple[str, str, str, str, str, str]]:
        """Yield (period, region, figure, row, column, value) for every published figure."""
        for table in self.breakdowns:
            for label, line in zip((*table.rows, TOTAL), table.cells, strict=True):
                for column, value in zip(table.columns, line, strict=True):
                    yield (self.period.label, self.scope, table.name, label, column, _shown(value))
        for table in self.responses:
            for label, line in zip((*table.rows, TOTAL), table.cells, strict=True):
                for column, value in zip(table.columns, line, strict=True):
                    yield (self.period.label, self.scope, table.name, label, column, _shown(value))
        for median in self.medians:
            for column, value in zip(median.columns, median.values, strict=True):
                yield (self.period.label, self.scope, median.name, "", column, _shown(value))
        for name, share in (("consent_share_percent", self.consent_share),
                            ("closed_share_percent", self.closed_share)):
            yield (self.period.label, self.scope, name, "", self.scope, _shown(share))


def _shown(value: int | None) -> str:
    return HIDDEN if value is None else str(value)


def _table(counts: Counts, name: str, countries: tuple[str, ...]) -> suppression.Table:
    cells: dict[tuple[str, str], int] = {}
    if name == "platform":
        for (country, platform), number in counts.platforms.items():
            cells[(platform, country)] = cells.get((platform, country), 0) + number
    for key, number in counts.reports.items() if name != "platform" else ():
        row = ("closed" if key[4] else "open") if name == "closed" else str(key[_KEY_POSITION[name]])
        cells[(row, key[0])] = cells.get((row, key[0]), 0) + number
    return suppression.Table(ROWS[name], countries, cells)


def _response_tables(counts: Counter[tuple[str, str, str]]) -> list[suppression.Table]:
    """Return one table per platform: outcomes by country (each suppressed on its own: they count
    different details and share no published total)."""
    countries = tuple(sorted({country for country, _, _ in counts}))
    return [suppression.Table(OUTCOMES, countries, {(outcome, country): number for (country, named, outcome),
                                                    number in counts.items() if named == platform})
            for platform in PLATFORMS]


def _shown_table(published: suppression.Published, name: str, region: str | None) -> Breakdown:
    rows, countries = published.table.rows, published.table.columns
    if region is None:
        cells = [[published.value(i, j) for j in range(len(countries) + 1)] for i in range(len(rows) + 1)]
        return Breakdown(name, rows, (*countries, TOTAL), cells)
    column = published.column(region) if region in countries else [0] * (len(rows) + 1)
    return Breakdown(name, rows, (region,), [[value] for value in column])


def _median(values: list[int], min_cell: int) -> int | None:
    return round(statistics.median(values)) if suppression.publishable(len(values), min_cell) else None


def _medians(name: str, by_country: dict[str, list[int]], columns: tuple[str, ...], min_cell: int) -> Median:
    values = [_median(by_country.get(country, []), min_cell) for country in columns if country != TOTAL]
    if TOTAL in columns:
        values.append(_median([v for found in by_country.values() for v in found], min_cell))
    return Median(name, columns, values)


def _share(part: int | None, whole: int | None, *, step: int = 1) -> int | None:
    if part is None or whole is None or whole == 0:
        return None
    return round(100 * part / whole / step) * step


def build(counts: Counts, period: Period, region: str | None, min_cell: int) -> Statistics:
    """Suppress the period's tables for every country, then keep the columns of `region` (None: all)."""
    countries = counts.countries()
    linked = suppression.suppress_linked([_table(counts, name, countries) for name in LINKED], min_cell)
    platform = suppression.suppress(_table(counts, "platform", countries), min_cell)
    shown = [_shown_table(p, name, region) for p, name in zip((*linked, platform), (*LINKED, "platform"),
                                                             strict=True)]
    columns = shown[0].columns
    medians = [_medians("median_hours_to_acknowledge", counts.ack_hours, columns, min_cell),
               _medians("median_hours_to_first_assessment", counts.assess_hours, columns, min_cell)]
    everyone = counts.everyone.get(region, 0) if region else sum(counts.everyone.values())
    consenting = sum(n for key, n in counts.reports.items() if region is None or key[0] == region)
    # The share of all reports that consented, in steps of 5 %, and only over enough reports: the
    # count of every report is not published, and a coarse share does not give it away.
    enough = suppression.publishable(everyone, min_cell)
    consent_share = _share(consenting, everyone, step=5) if enough else None
    closed_table = shown[LINKED.index("closed")].cells
    closed_share = _share(closed_table[0][-1], closed_table[-1][-1])
    return Statistics(period, region, min_cell, shown, medians, consent_share, closed_share)


def with_responses(stats: Statistics, counts: Counter[tuple[str, str, str]]) -> Statistics:
    """Return the statistics with the platform responses of the period, suppressed like every table."""
    tables = [_shown_table(suppression.suppress(table, stats.min_cell), f"platform_responses_{platform}",
                           stats.region)
              for table, platform in zip(_response_tables(counts), PLATFORMS, strict=True)]
    return replace(stats, responses=tables)


def statistics_for(session: Session, period: Period, region: str | None, min_cell: int) -> Statistics:
    """Count and suppress the statistics of one closed period for a region, or for all (None)."""
    stats = build(aggregates.count_period(session, period), period, region, min_cell)
    return with_responses(stats, responses.count_period(session, period))
