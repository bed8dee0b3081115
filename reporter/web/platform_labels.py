"""The words for what a platform did, shared by the report form, the follow-up page and the case page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l

from reporter.intake.platform_reports import FIELDS, REFERENCE_LIMIT

REPORTED_LABELS: dict[str, Any] = {
    "yes": _l("Yes"),
    "no": _l("No"),
    "unknown": _l("I don't know"),
}
OUTCOME_LABELS: dict[str, Any] = {
    "pending": _l("Waiting for the platform's decision"),
    "removed": _l("Removed"),
    "restricted": _l("Restricted or hidden"),
    "no_action": _l("The platform took no action"),
    "no_answer": _l("No answer from the platform"),
}
FIELD_LABELS: dict[str, Any] = {
    "reported_to_platform": _l("Reported to the platform?"),
    "platform_reference": _l("The platform's reference number (optional)"),
    "outcome": _l("What did the platform do?"),
    "reported_on": _l("Reported on (optional)"),
    "outcome_on": _l("Decided on (optional)"),
}
PROBLEMS: dict[str, Any] = {
    "choice": _l("Please choose one of the options."),
    "date": _l("Please give the date as year-month-day, for example 2026-03-08."),
    "future": _l("This date is in the future."),
    "too_old": _l("Please check the year of this date."),
    "before_report": _l("The decision cannot come before the report to the platform."),
    "too_long": _l("Please shorten this to %(limit)s characters or fewer.", limit=REFERENCE_LIMIT),
    "nul": _l("This text contains a null character. Please remove it and try again."),
    "control": _l("This text contains invisible control characters. Please retype it."),
    "encoding": _l("This text arrived with damaged characters. Please retype it."),
}

OUT_OF_DATE = _l("This place is no longer part of the report as shown. Nothing was saved: please try again.")


def problem_messages(problems: Mapping[str, str]) -> dict[str, str]:
    """Return one message per field with a problem, by field name."""
    return {name: str(PROBLEMS.get(code, PROBLEMS["choice"])) for name, code in problems.items()}


def response_problem(errors: Mapping[str, str], prefix: str) -> bool:
    """Tell whether any response field with this id prefix has a problem (its group is shown open)."""
    return any(f"{prefix}{name}" in errors for name in FIELDS)


def labels() -> dict[str, Any]:
    """Return the label tables (and the one helper) a template needs to show or edit a response."""
    return {"reported_labels": REPORTED_LABELS, "outcome_labels": OUTCOME_LABELS,
            "response_field_labels": FIELD_LABELS, "response_problem": response_problem}
