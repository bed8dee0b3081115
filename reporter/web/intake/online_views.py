"""The reporter adds one online detail (a place, an account, links) to their case at follow-up."""

from __future__ import annotations

from typing import Any

from flask import g, redirect, request, url_for
from flask_babel import lazy_gettext as _l
from werkzeug.wrappers import Response

from reporter import unlock
from reporter.cases import holding
from reporter.extensions import db, limiter
from reporter.intake import online_additions, online_details
from reporter.models.base import utcnow
from reporter.web import context, notify
from reporter.web.intake import attachments as files
from reporter.web.intake import bp, guessing
from reporter.web.intake import session as reporter_session
from reporter.web.intake.forms import MessageForm
from reporter.web.intake.views import _case_again, _closed, _submit_limit

#: The posted row is read as the first row of the report form (online-0-<field>).
FIRST = "online-0-"
REFUSED = {
    "too_many": _l("Your report has %(limit)s places online, the most it can have. Please describe any other "
                   "place in a message.", limit=online_details.MAX_ROWS),
    "conflict": _l("Your report changed while you were adding this place. Nothing was saved: please try "
                   "again."),
}


@bp.context_processor
def added_detail() -> dict[str, Any]:
    """Give the case page the posted row and its problems when an addition was refused."""
    return {"added_errors": g.get("added_errors", {}), "added_row": g.get("added_row", {})}


def _refused(ticket: unlock.Ticket, row: dict[str, str],
             errors: dict[str, str]) -> tuple[str, int] | Response:
    g.added_errors, g.added_row = errors, row
    return _case_again(ticket, MessageForm(formdata=None), 400)


def _cleaned(row: dict[str, str]) -> tuple[online_details.OnlineDetail | None, dict[str, str]]:
    """Return the row normalised, or None with messages by field id; an empty row needs its platform."""
    try:
        cleaned = online_details.clean_rows([row], today=utcnow().date())
    except online_details.DetailsInvalid as invalid:
        return None, files.online_errors(invalid)
    if not cleaned:
        return None, {f"{FIRST}platform": str(files.ONLINE_PROBLEMS["choice"])}
    return cleaned[0], {}


@bp.post("/followup/case/online")
@limiter.limit(_submit_limit, key_func=guessing.case_key, exempt_when=guessing.no_case)
def followup_online_detail() -> tuple[str, int] | Response:
    """Add one online detail to the reporter's case: sealed, indexed for linking, audited."""
    ticket = reporter_session.current()
    if ticket is None:
        return _closed()
    row = files.online_rows(request.form)[:1] or [{}]
    detail, errors = _cleaned(row[0])
    if detail is None:
        return _refused(ticket, row[0], errors)
    try:
        online_additions.add_by_reporter(db.session, ticket, detail, keyring=context.keyring(), now=utcnow())
    except unlock.SessionExpired:
        return _closed()
    except holding.ActionRefused as refused:
        message = REFUSED.get(refused.reason or "", REFUSED["conflict"])
        return _refused(ticket, row[0], {f"{FIRST}platform": str(message)})
    notify.after_commit()
    reporter_session.touch()
    return redirect(url_for("intake.followup_case", done="online", _anchor="add-online"))
