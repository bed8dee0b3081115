"""Views of the reporter's side: parse the request, call one domain function, render."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from flask import current_app, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from reporter import unlock
from reporter.cases import holding
from reporter.cases.recipients import NoRecipient
from reporter.countries import country_name
from reporter.crypto.receipts import display
from reporter.evidence.inspection import Upload, UploadRejected
from reporter.extensions import db, has_client_address, limiter
from reporter.intake import followup, online_details
from reporter.intake.submission import Submitted, submit_report
from reporter.intake.validation import DraftInvalid, ReportDraft
from reporter.models import StaffMember
from reporter.models.base import utcnow
from reporter.web import context, notify
from reporter.web.i18n import select_locale
from reporter.web.intake import attachments as files
from reporter.web.intake import bp, floods, guessing, report_form
from reporter.web.intake import session as reporter_session
from reporter.web.intake.forms import (
    MESSAGE_PROBLEMS,
    EmptyForm,
    MessageForm,
    ReceiptForm,
    ReportForm,
)
from reporter.web.labels import CATEGORY_LABELS, KIND_LABELS, PLATFORM_LABELS


def _submit_limit() -> str:
    return str(current_app.config["REPORTER_SUBMIT_LIMIT"])


def _only_posts() -> bool:
    return request.method != "POST"


def form_expired() -> tuple[str, int]:
    """Show the report form again, with what was typed, after its CSRF token expired."""
    form = ReportForm(meta={"csrf": False})
    return report_form.render(form, 400, expired=True)


@bp.get("/")
def index() -> str:
    """Show the landing page."""
    return render_template("intake/index.html")


@bp.get("/safety")
def safety() -> str:
    """Show how to report safely: devices, Tor Browser, the receipt, what is stored, other contacts."""
    return render_template("intake/safety.html")


@bp.get("/healthz")
def healthz() -> tuple[str, int, dict[str, str]]:
    """Answer that the process is up, with no details."""
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}


def _no_client_limit() -> bool:
    """GETs are free; as an onion service no client can be told apart, so no per-client limit refuses
    (one budget for every reporter would let one flooder lock all out): floods.py bounds the site."""
    return _only_posts() or not has_client_address()


@bp.route("/report", methods=["GET", "POST"])
@limiter.limit(_submit_limit, exempt_when=_no_client_limit)
def report() -> tuple[str, int] | tuple[str, int, dict[str, str]]:
    """Show the report form, or scrub, seal and store a submitted report and show its receipt."""
    form = ReportForm()
    posted = report_form.read(form)
    if not isinstance(posted, report_form.Posted):
        return posted
    wait, possible_flood = floods.admit()
    if wait:
        return (*report_form.render(form, 503, busy=True), {"Retry-After": str(wait)})
    try:
        submitted = _submit(form, posted.details, posted.uploads, possible_flood=possible_flood)
    except (UploadRejected, DraftInvalid, NoRecipient) as refused:
        return report_form.refused(form, refused)
    notify.after_commit()
    return render_template("intake/receipt.html", receipt=display(submitted.receipt)), 200


def _submit(form: ReportForm, details: list[online_details.OnlineDetail], uploads: Sequence[Upload], *,
            possible_flood: bool, entered_by: StaffMember | None = None) -> Submitted:
    hours = context.deadline_hours()["unknown"]
    return submit_report(
        _draft(form, details), uploads, session=db.session, keyring=context.keyring(),
        store=context.attachment_store(), limits=files.limits(), triage_within=timedelta(hours=hours),
        possible_flood=possible_flood, entered_by=entered_by)


def _draft(form: ReportForm, details: list[online_details.OnlineDetail]) -> ReportDraft:
    return ReportDraft(
        incident_kind=form.incident_kind.data or "", category=form.category.data or "",
        country=form.country.data or "", description=form.description.data or "",
        occurred_on=form.occurred_on.data, perpetrator=form.perpetrator.data or "",
        contact=form.contact.data or "", language=select_locale(), excluded=form.exclude.data or None,
        online_details=tuple(details), keep_originals=bool(form.keep_originals.data),
        stats_consent=bool(form.stats_consent.data), referral_consent=bool(form.referral_consent.data))


@bp.route("/followup", methods=["GET", "POST"])
def followup_login() -> tuple[str, int] | tuple[str, int, dict[str, str]] | Response:
    """Ask for a receipt; a right one opens the reporter's case for this browser session.

    Wrong receipts are slowed per browser session and, under a flood, for every session alike
    (web/intake/guessing.py); nobody is refused because someone else guessed wrong.
    """
    form = ReceiptForm()
    if request.method == "GET" or not form.validate():
        guessing.form_shown()
        return render_template("intake/followup.html", form=form), 200 if request.method == "GET" else 400
    wait = guessing.wait_before_trying()
    if wait:
        page = render_template("intake/followup.html", form=form, wait=wait)
        return page, 429, {"Retry-After": str(wait)}
    try:
        ticket = guessing.open_followup(form.receipt.data or "", now=utcnow(),
                                        lifetime=reporter_session.session_lifetime())
    except followup.ReceiptInvalid:
        return render_template("intake/followup.html", form=form, invalid=True), 401
    except followup.CasePurged as purged:
        return render_template("intake/purged.html", purged_on=purged.purged_on.date()), 200
    reporter_session.start(ticket)
    return redirect(url_for("intake.followup_case"))


def _closed() -> Response:
    """Forget the case in this browser and ask for the receipt again."""
    reporter_session.forget()
    return redirect(url_for("intake.followup_login"))


def _opened(ticket: unlock.Ticket | None) -> followup.ReporterView | None:
    """Return the case the ticket opens, or None when there is no ticket or its session is over."""
    if ticket is None:
        return None
    try:
        return followup.view_case(ticket, session=db.session, now=utcnow())
    except unlock.SessionExpired:
        return None


@bp.get("/followup/case")
def followup_case() -> tuple[str, int] | Response:
    """Show the reporter's own report and its status."""
    view = _opened(reporter_session.current())
    if view is None:
        return _closed()
    reporter_session.touch()
    return _case_page(view, MessageForm(formdata=None), 200)


def _case_page(view: followup.ReporterView, message_form: MessageForm, status: int) -> tuple[str, int]:
    report = view.report
    return render_template(
        "intake/case.html", view=view, report=report, fields=view.fields, messages=view.messages,
        form=EmptyForm(),
        message_form=message_form, country=country_name(report.country, select_locale()),
        kind_labels=KIND_LABELS, category_labels=CATEGORY_LABELS, accepted=files.ACCEPTED,
        limits=files.limits(),
        online=online_details.from_json(view.fields.get("online_details", "")),
        platform_labels=PLATFORM_LABELS, max_online=online_details.MAX_ROWS,
    ), status


def _case_again(ticket: unlock.Ticket, form: MessageForm, status: int) -> tuple[str, int] | Response:
    """Show the case again with the message form as posted, or close it if its session is over."""
    view = _opened(ticket)
    return _closed() if view is None else _case_page(view, form, status)


def _message_refused(form: MessageForm, refused: Exception) -> int:
    """Put why a message was refused on its form; return the status to show it with."""
    if isinstance(refused, UploadRejected):
        db.session.rollback()
        form.attachments.errors, status = files.upload_errors(refused)
        return status
    if isinstance(refused, holding.ActionRefused) and refused.reason:
        form.body.errors = [MESSAGE_PROBLEMS.get(refused.reason, MESSAGE_PROBLEMS["empty"])]
    return 400


@bp.post("/followup/case/message")
@limiter.limit(_submit_limit, key_func=guessing.case_key, exempt_when=guessing.no_case)
def followup_message() -> tuple[str, int] | Response:
    """Add the reporter's message to their case, then show the case again."""
    ticket = reporter_session.current()
    if ticket is None:
        return _closed()
    form = MessageForm()
    uploads = files.uploads(request.files)
    valid = form.validate()
    if report_form.too_many_files(form, uploads) or not valid:
        return _case_again(ticket, form, 400)
    try:
        followup.reply(ticket, form.body.data or "", uploads, session=db.session, now=utcnow(),
                       store=context.attachment_store(), limits=files.limits(),
                       keep_originals=bool(form.keep_originals.data),
                       new_incident=bool(form.new_incident.data), hours=context.deadline_hours())
    except unlock.SessionExpired:
        return _closed()
    except (holding.ActionRefused, UploadRejected) as refused:
        return _case_again(ticket, form, _message_refused(form, refused))
    notify.after_commit()
    reporter_session.touch()
    return redirect(url_for("intake.followup_case", _anchor="messages"))


@bp.post("/followup/logout")
def followup_logout() -> Response:
    """Forget the unlocked case at once."""
    form = EmptyForm()
    form.validate_on_submit()  # CSRFProtect has already checked the token
    _forget_case()
    return redirect(url_for("intake.index"))


def _forget_case() -> None:
    """Forget the reporter's unlocked case in this browser and on the server."""
    token = reporter_session.forget()
    if token is not None:
        followup.end_followup(token, session=db.session)


@bp.route("/exit", methods=["GET", "POST"])
def quick_exit() -> Response:
    """Quick exit: forget the reporter's unlocked case on the server, then go to the neutral site.

    A plain same-origin link (one click, no script needed; with scripts it also replaces the page in
    history). It only ever ends access: another site cannot use it against a reporter, because the
    SameSite=Strict cookie is not sent on a navigation from elsewhere, so nothing is forgotten then.
    """
    _forget_case()
    return redirect(current_app.config["REPORTER_QUICK_EXIT_URL"], code=303)
