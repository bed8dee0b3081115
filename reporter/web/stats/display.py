"""The names people read on the statistics page: table titles, row labels, the choice of periods."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l

from reporter.countries import country_name
from reporter.intake.platform_reports import OUTCOMES
from reporter.stats import charts, periods
from reporter.stats.figures import Statistics
from reporter.web.labels import CATEGORY_LABELS, KIND_LABELS, PLATFORM_LABELS, RISK_LABELS
from reporter.web.platform_labels import OUTCOME_LABELS

TITLES = {
    "category": _l("Reports by kind of incident and country"),
    "incident_kind": _l("Reports by where it happened and country"),
    "platform": _l("Online platforms named, by country"),
    "first_risk": _l("Risk at the first assessment, by country"),
    "closed": _l("Cases closed and still open, by country"),
    "median_hours_to_acknowledge": _l("Median hours until a report was acknowledged"),
    "median_hours_to_first_assessment": _l("Median hours until the first risk assessment"),
}
ROW_LABELS: dict[str, dict[str, Any]] = {
    "category": CATEGORY_LABELS,
    "incident_kind": KIND_LABELS,
    "platform": PLATFORM_LABELS,
    "first_risk": {**{k: v for k, v in RISK_LABELS.items() if k != "unknown"},
                   "unassessed": _l("Not yet assessed")},
    "closed": {"closed": _l("Closed"), "open": _l("Still open")},
}
RESPONSES_TITLE = _l("Platform responses: online details reported to the platform, and what it did")


def response_lines(stats: Statistics) -> list[tuple[str, int | None, list[int | None]]]:
    """Return (platform, details reported to it, share in % of each outcome) for the scope's column.

    A platform with none reported is left out (a zero is published anyway); a share is shown only when
    both its count and the platform's total are published.
    """
    lines = []
    for table in stats.responses:
        reported = table.cells[-1][-1]
        if reported == 0:
            continue
        lines.append((table.name.removeprefix("platform_responses_"), reported,
                      [_percent(line[-1], reported) for line in table.cells[:-1]]))
    return lines


def _percent(part: int | None, whole: int | None) -> int | None:
    return None if part is None or not whole else round(100 * part / whole)


#: How many closed periods the page offers to choose from.
MONTHS, QUARTERS = 24, 8


def period_choices(now: datetime) -> list[tuple[Any, list[str]]]:
    """Return the closed months and quarters to choose from, newest first, grouped by kind."""
    return [(_l("Months"), [p.label for p in periods.closed("month", now, MONTHS)]),
            (_l("Quarters"), [p.label for p in periods.closed("quarter", now, QUARTERS)])]


def page_context(stats: Statistics, language: str, now: datetime) -> dict[str, Any]:
    """Return what the statistics template needs beside the figures."""
    codes = {c for table in stats.breakdowns for c in table.columns} | {c for m in stats.medians
                                                                        for c in m.columns}
    names = {code: country_name(code, language) for code in codes if len(code) == 2}
    return {"stats": stats, "charts": [charts.bar_chart(t) for t in stats.breakdowns], "titles": TITLES,
            "row_labels": ROW_LABELS, "country_names": names, "choices": period_choices(now),
            "responses_title": RESPONSES_TITLE, "response_lines": response_lines(stats),
            "outcomes": OUTCOMES, "outcome_labels": OUTCOME_LABELS}
