"""What a platform did about one online detail: was it reported there, its reference, the outcome, when.

This is case content: it is sealed inside the report's `online_details` field with the row it belongs
to, and only the reporter (with their receipt) and the case's holders can read or change it. The few
coarse values statistics use (platform, outcome, months) are kept in plaintext only for reports whose
reporter agreed to be counted (reporter.stats.responses).

Dates are whole days typed by a person (never a time), kept as ISO text inside the seal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from reporter.intake.text import clean_text, text_problem

REPORTED = ("yes", "no", "unknown")
OUTCOMES = ("pending", "removed", "restricted", "no_action", "no_answer")
REFERENCE_LIMIT = 200
FIELDS = ("reported_to_platform", "platform_reference", "outcome", "reported_on", "outcome_on")


@dataclass(frozen=True)
class PlatformResponse:
    """The platform's side of one online detail; empty strings where nothing was said."""

    reported_to_platform: str = ""
    platform_reference: str = ""
    outcome: str = ""
    reported_on: str = ""
    outcome_on: str = ""

    def is_empty(self) -> bool:
        """Return whether nothing was said about the platform."""
        return not any(getattr(self, name) for name in FIELDS)

    def was_reported(self) -> bool:
        """Return whether the row was reported to the platform (what statistics count)."""
        return self.reported_to_platform == "yes"


def _date(text: str, today: date) -> tuple[date | None, str | None]:
    # Imported here: reporter.intake.validation reads the online rows, which hold these responses.
    from reporter.intake import validation

    if not text:
        return None, None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        return None, "date"
    return value, validation.date_problem(value, today=today)


def clean_response(values: Mapping[str, Any], *, today: date) -> tuple[PlatformResponse, dict[str, str]]:
    """Return the response cleaned and its problems by field name (empty when there are none).

    Problem codes: "choice" (not one of the options), the text codes of reporter.intake.text for the
    reference, "date" (not a date), "future", "too_old", "before_report" (outcome before the report).
    """
    texts = {name: clean_text(str(values.get(name) or "")) for name in FIELDS}
    problems: dict[str, str] = {}
    if texts["reported_to_platform"] not in ("", *REPORTED):
        problems["reported_to_platform"] = "choice"
    if texts["outcome"] not in ("", *OUTCOMES):
        problems["outcome"] = "choice"
    reference_problem = text_problem(texts["platform_reference"], REFERENCE_LIMIT)
    if reference_problem:
        problems["platform_reference"] = reference_problem
    reported_on, problem = _date(texts["reported_on"], today)
    if problem:
        problems["reported_on"] = problem
    outcome_on, problem = _date(texts["outcome_on"], today)
    if problem:
        problems["outcome_on"] = problem
    elif reported_on and outcome_on and outcome_on < reported_on:
        problems["outcome_on"] = "before_report"
    response = PlatformResponse(
        texts["reported_to_platform"], texts["platform_reference"], texts["outcome"],
        reported_on.isoformat() if reported_on else "", outcome_on.isoformat() if outcome_on else "")
    return response, problems


def from_dict(value: Any) -> PlatformResponse:
    """Return the response stored in a sealed row (an empty one for rows stored before it existed)."""
    if not isinstance(value, dict):
        return PlatformResponse()
    return PlatformResponse(**{f.name: str(value.get(f.name) or "") for f in fields(PlatformResponse)})
