"""Recording on the case page what a platform did about one online detail (holders of the case)."""

from __future__ import annotations

from typing import Any

from flask import request

from reporter.access import HANDLE_CASES, require
from reporter.cases import platform_updates
from reporter.intake import platform_reports
from reporter.models.base import utcnow
from reporter.web import platform_labels
from reporter.web.cases import bp
from reporter.web.cases.forms import EmptyForm
from reporter.web.cases.views import Page, _case_page, act_on_case


@bp.context_processor
def response_labels() -> dict[str, Any]:
    """Give the case page the words for what platforms did."""
    return platform_labels.labels()


@bp.post("/cases/<report_id>/platforms/<int:position>")
@require(HANDLE_CASES)
def platform_response(report_id: str, position: int) -> Page:
    """Record whether a detail was reported to its platform, the reference and the outcome; audited."""
    values = {name: request.form.get(name, "") for name in platform_reports.FIELDS}
    response, problems = platform_reports.clean_response(values, today=utcnow().date())
    here = f"platform-{position}"
    if problems:
        errors = {f"{here}-{name}": message
                  for name, message in platform_labels.problem_messages(problems).items()}
        return _case_page(report_id, 400, problem=next(iter(errors.values())), problem_at=here,
                          response_errors=errors, posted_response=values)
    return act_on_case(report_id, "platform_form", EmptyForm(formdata=None), "platforms",
                       platform_updates.record_by_holder,
                       lambda: {"position": position, "response": response, "now": utcnow()})
