"""The reporter's record, at follow-up, of what a platform did about one of their online details."""

from __future__ import annotations

from typing import Any

from flask import g, redirect, request, url_for
from werkzeug.wrappers import Response

from reporter import unlock
from reporter.cases import holding, platform_updates
from reporter.extensions import db, limiter
from reporter.intake import platform_reports
from reporter.models.base import utcnow
from reporter.web import platform_labels
from reporter.web.intake import bp, guessing
from reporter.web.intake import session as reporter_session
from reporter.web.intake.forms import MessageForm
from reporter.web.intake.views import _case_again, _closed, _submit_limit


@bp.context_processor
def response_labels() -> dict[str, Any]:
    """Give the reporter's pages the words for what platforms did, and a refused update's problems."""
    return {**platform_labels.labels(), "response_errors": g.get("response_errors", {}),
            "response_at": g.get("response_at"), "posted_response": g.get("posted_response")}


def _refused(ticket: unlock.Ticket, position: int, values: dict[str, str],
             errors: dict[str, str]) -> tuple[str, int] | Response:
    here = f"platform-{position}"
    g.response_errors = {f"{here}-{name}": message for name, message in errors.items()}
    g.response_at, g.posted_response = here, values
    return _case_again(ticket, MessageForm(formdata=None), 400)


@bp.post("/followup/case/platforms/<int:position>")
@limiter.limit(_submit_limit, key_func=guessing.case_key, exempt_when=guessing.no_case)
def followup_platform_response(position: int) -> tuple[str, int] | Response:
    """Record what the platform did about one online detail of the reporter's case; audited."""
    ticket = reporter_session.current()
    if ticket is None:
        return _closed()
    values = {name: request.form.get(name, "") for name in platform_reports.FIELDS}
    response, problems = platform_reports.clean_response(values, today=utcnow().date())
    if problems:
        return _refused(ticket, position, values, platform_labels.problem_messages(problems))
    try:
        platform_updates.record_by_reporter(db.session, ticket, position=position, response=response,
                                            now=utcnow())
    except unlock.SessionExpired:
        return _closed()
    except holding.ActionRefused:
        return _refused(ticket, position, values, {"reported_to_platform": str(platform_labels.OUT_OF_DATE)})
    reporter_session.touch()
    return redirect(url_for("intake.followup_case", done="platform", _anchor="platforms"))
