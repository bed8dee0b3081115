"""Staff intake: a focal point or coordinator enters a report for someone who called or came in person.

The same form and the same pipeline as the reporter's (reporter.web.intake.report_form,
reporter.intake.submission), marked as entered by the staff member and audited as theirs. The
anonymous reporters' flood limits do not apply to a logged-in person; a limit of their own does
(`LIMIT`, or REPORTER_STAFF_INTAKE_LIMIT when the configuration sets it). The receipt is shown once,
on the answer to the POST, and never stored.
"""

from __future__ import annotations

from flask import current_app, render_template, request, url_for
from flask_login import current_user

from reporter.access import ENTER_REPORTS, require
from reporter.cases import holding
from reporter.cases.recipients import NoRecipient
from reporter.crypto.receipts import display
from reporter.evidence.inspection import UploadRejected
from reporter.extensions import db, limiter
from reporter.intake.validation import DraftInvalid
from reporter.web import notify
from reporter.web.cases import bp
from reporter.web.intake import report_form
from reporter.web.intake.forms import ReportForm
from reporter.web.intake.views import _submit

PAGE = "cases/intake.html"
#: Reports one person may enter: far more than calls a person can take, far fewer than a script.
LIMIT = "30 per hour"


def _limit() -> str:
    return str(current_app.config.get("REPORTER_STAFF_INTAKE_LIMIT", LIMIT))


def _person_key() -> str:
    return f"staff-intake:{current_user.get_id()}"


def _not_a_post() -> bool:
    return request.method != "POST" or not current_user.is_authenticated


@bp.route("/intake", methods=["GET", "POST"])
@require(ENTER_REPORTS)
@limiter.limit(_limit, key_func=_person_key, exempt_when=_not_a_post)
def enter_report() -> tuple[str, int]:
    """Show the report form to a staff member, or store the report they entered and show its receipt once."""
    form = ReportForm()
    posted = report_form.read(form, template=PAGE)
    if not isinstance(posted, report_form.Posted):
        return posted
    person = current_user._get_current_object()
    try:
        submitted = _submit(form, posted.details, posted.uploads, possible_flood=False, entered_by=person)
    except (UploadRejected, DraftInvalid, NoRecipient) as refused:
        return report_form.refused(form, refused, template=PAGE)
    notify.after_commit()
    holds = person.id in holding.holders(db.session, submitted.report_id)
    back = url_for("cases.case", report_id=submitted.report_id) if holds else url_for("cases.queue")
    return render_template("cases/intake_receipt.html", receipt=display(submitted.receipt),
                           report_id=submitted.report_id, back=back, holds=holds), 200
