"""Content rules for a report beyond the form's syntax: sizes, allowed values, text hygiene.

The form layer shows these problems next to the fields; `submit_report` checks the same rules again,
so the CLI and any future API cannot store what the form would refuse.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from reporter.countries import ISO_CODES
from reporter.intake.online_details import MAX_ROWS, PLATFORMS, OnlineDetail
from reporter.intake.text import clean_text, text_problem
from reporter.models.report import CATEGORIES, INCIDENT_KINDS

LIMITS = {"description": 20000, "perpetrator": 2000, "contact": 500}
EARLIEST_DATE = date(1900, 1, 1)


@dataclass(frozen=True)
class ReportDraft:
    """What a reporter submitted, before it is sealed."""

    incident_kind: str
    category: str
    country: str
    description: str
    occurred_on: date | None = None
    perpetrator: str = ""
    contact: str = ""
    language: str = "en"
    #: The id of a focal point the reporter wants kept away from the case (conflict of interest).
    excluded: str | None = None
    #: Structured online-incident rows, already normalised (`reporter.online_details.clean_rows`).
    online_details: tuple[OnlineDetail, ...] = ()
    #: Keep the untouched originals of the attached files, sealed, beside the scrubbed copies.
    keep_originals: bool = False
    #: The reporter agreed that the report may be counted in anonymous statistics (reporter.stats).
    stats_consent: bool = False
    #: The reporter agreed that a partner organisation may receive the case (reporter.intake.consent).
    referral_consent: bool = False


@dataclass
class DraftInvalid(ValueError):
    """The draft breaks a content rule; `problems` maps field names to problem codes."""

    problems: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return ", ".join(f"{name}: {code}" for name, code in sorted(self.problems.items()))


def date_problem(value: date | None, *, today: date) -> str | None:
    """Return a problem code for an incident date in the future or implausibly far back, or None."""
    if value is None:
        return None
    if value > today + timedelta(days=1):  # one day of slack for time zones ahead of the server
        return "future"
    if value < EARLIEST_DATE:
        return "too_old"
    return None


def check_draft(draft: ReportDraft, *, today: date) -> ReportDraft:
    """Return the draft with its text cleaned, or raise DraftInvalid naming every problem."""
    cleaned = replace(
        draft,
        description=clean_text(draft.description),
        perpetrator=clean_text(draft.perpetrator),
        contact=clean_text(draft.contact),
        country=draft.country.strip().upper(),
    )
    problems: dict[str, str] = {}
    if cleaned.incident_kind not in INCIDENT_KINDS:
        problems["incident_kind"] = "choice"
    if cleaned.category not in CATEGORIES:
        problems["category"] = "choice"
    if cleaned.country not in ISO_CODES:
        problems["country"] = "choice"
    for name, limit in LIMITS.items():
        problem = text_problem(getattr(cleaned, name), limit)
        if problem:
            problems[name] = problem
    if not cleaned.description and "description" not in problems:
        problems["description"] = "required"
    details = cleaned.online_details
    if len(details) > MAX_ROWS or any(d.platform not in PLATFORMS for d in details):
        problems["online_details"] = "choice"
    problem = date_problem(cleaned.occurred_on, today=today)
    if problem:
        problems["occurred_on"] = problem
    if problems:
        raise DraftInvalid(problems)
    return cleaned
