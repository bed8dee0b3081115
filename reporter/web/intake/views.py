"""Views of the reporter's side: parse the request, call one domain function, render."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from flask import current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from werkzeug.wrappers import Response

from reporter import unlock
from reporter.cases import routing, triage
from reporter.cases.routing import NoRecipient
from reporter.countries import country_choices, country_name
from reporter.crypto.receipts import display
from reporter.evidence.inspection import UploadRejected
from reporter.extensions import db, limiter
from reporter.intake import followup, online_details
from reporter.intake.submission import submit_report
from reporter.intake.validation import DraftInvalid, ReportDraft
from reporter.models.base import utcnow
from reporter.web import context, notify
from reporter.web.i18n import select_locale
from reporter.web.intake import attachments as files
from reporter.web.intake import bp
from reporter.web.intake.forms import (
    CATEGORY_LABELS,
    KIND_LABELS,
    MESSAGE_PROBLEMS,
    EmptyForm,
    MessageForm,
    ReceiptForm,
    ReportForm,
)

SESSION_KEY = "reporter"


def _followup_limit() -> str:
    return str(current_app.config["REPORTER_FOLLOWUP_LIMIT"])


def _followup_global_limit() -> str:
    return str(current_app.config["REPORTER_FOLLOWUP_GLOBAL_LIMIT"])


def _submit_limit() -> str:
    return str(current_app.config["REPORTER_SUBMIT_LIMIT"])


def _only_posts() -> bool:
    return request.method != "POST"


def _excludable() -> list[tuple[str, list[tuple[str, str]]]]:
    """Return the focal points a reporter may exclude, by country: (country name, [(id, public name)])."""
    locale = select_locale()
    groups = routing.public_focal_points(db.session)
    return sorted(((country_name(code, locale), people) for code, people in groups.items()),
                  key=lambda g: g[0])


def _render_form(form: ReportForm, status: int = 200, expired: bool = False, unavailable: bool = False,
                 online_errors: dict[str, str] | None = None, add_row: bool = False) -> tuple[str, int]:
    region, others = country_choices(select_locale())
    posted = files.online_rows(request.form)
    return render_template(
        "intake/report.html", form=form, region_countries=region, other_countries=others,
        kind_labels=KIND_LABELS, category_labels=CATEGORY_LABELS, expired=expired, unavailable=unavailable,
        excludable=_excludable(), online=posted,
        online_count=files.rows_to_show(request.form, posted, add=add_row),
        online_errors=online_errors or {}, platform_labels=files.PLATFORM_LABELS, accepted=files.ACCEPTED,
        limits=files.limits(),
    ), status


def form_expired() -> tuple[str, int]:
    """Show the report form again, with what was typed, after its CSRF token expired."""
    form = ReportForm(meta={"csrf": False})
    return _render_form(form, 400, expired=True)


@bp.get("/")
def index() -> str:
    """Show the landing page."""
    return render_template("intake/index.html")


@bp.get("/healthz")
def healthz() -> tuple[str, int, dict[str, str]]:
    """Answer that the process is up, with no details."""
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}


@bp.route("/report", methods=["GET", "POST"])
@limiter.limit(_submit_limit, exempt_when=_only_posts)
def report() -> tuple[str, int]:
    """Show the report form, or scrub, seal and store a submitted report and show its receipt."""
    form = ReportForm()
    if request.method == "GET" or "add_online_row" in request.form:
        return _render_form(form, add_row=request.method == "POST")
    valid = form.validate()
    try:
        details = online_details.clean_rows(files.online_rows(request.form))
    except online_details.DetailsInvalid as invalid:
        return _render_form(form, 400, online_errors=files.online_errors(invalid))
    uploads = files.uploads(request.files)
    if len(uploads) > files.limits().max_files:
        form.attachments.errors = [files.too_many_files()]
        valid = False
    if not valid:
        return _render_form(form, 400)
    hours = context.deadline_hours()["unknown"]
    try:
        submitted = submit_report(
            _draft(form, details), uploads, session=db.session, keyring=context.keyring(),
            store=context.attachment_store(), limits=files.limits(),
            triage_within=timedelta(hours=hours))
    except UploadRejected as refused:
        form.attachments.errors, status = files.upload_errors(refused)
        return _render_form(form, status)
    except DraftInvalid as invalid:
        if set(invalid.problems) != {"excluded"}:
            raise
        form.exclude.errors = [_("Please choose an officer who works in the country you chose, or nobody.")]
        return _render_form(form, 400)
    except NoRecipient:
        return _render_form(form, 503, unavailable=True)
    notify.after_commit()
    return render_template("intake/receipt.html", receipt=display(submitted.receipt)), 200


def _draft(form: ReportForm, details: list[online_details.OnlineDetail]) -> ReportDraft:
    return ReportDraft(
        incident_kind=form.incident_kind.data or "", category=form.category.data or "",
        country=form.country.data or "", description=form.description.data or "",
        occurred_on=form.occurred_on.data, perpetrator=form.perpetrator.data or "",
        contact=form.contact.data or "", language=select_locale(), excluded=form.exclude.data or None,
        online_details=tuple(details), keep_originals=bool(form.keep_originals.data),
    )


@bp.route("/followup", methods=["GET", "POST"])
@limiter.limit(_followup_limit, exempt_when=_only_posts)
@limiter.limit(_followup_global_limit, key_func=lambda: "followup-global", exempt_when=_only_posts)
def followup_login() -> tuple[str, int] | Response:
    """Ask for a receipt; a right one opens the reporter's case for this browser session."""
    form = ReceiptForm()
    if request.method == "GET" or not form.validate():
        return render_template("intake/followup.html", form=form), 200 if request.method == "GET" else 400
    config = current_app.config
    try:
        ticket = followup.start_followup(
            form.receipt.data or "", session=db.session, keyring=context.keyring(),
            now=utcnow(), lifetime=timedelta(minutes=config["REPORTER_FOLLOWUP_MAX_MINUTES"]),
        )
    except followup.ReceiptInvalid:
        return render_template("intake/followup.html", form=form, invalid=True), 401
    session[SESSION_KEY] = {**ticket.to_cookie(), "seen": int(time.time())}
    return redirect(url_for("intake.followup_case"))


def _ticket() -> unlock.Ticket | None:
    data: Any = session.get(SESSION_KEY)
    idle = current_app.config["REPORTER_FOLLOWUP_IDLE_MINUTES"] * 60
    if not isinstance(data, dict) or int(time.time()) - int(data.get("seen", 0)) > idle:
        return None
    return unlock.Ticket.from_cookie(data)


@bp.get("/followup/case")
def followup_case() -> tuple[str, int] | Response:
    """Show the reporter's own report and its status."""
    ticket = _ticket()
    if ticket is None:
        session.pop(SESSION_KEY, None)
        return redirect(url_for("intake.followup_login"))
    try:
        view = followup.view_case(ticket, session=db.session, now=utcnow())
    except unlock.SessionExpired:
        session.pop(SESSION_KEY, None)
        return redirect(url_for("intake.followup_login"))
    session[SESSION_KEY] = {**session[SESSION_KEY], "seen": int(time.time())}
    return _case_page(view, MessageForm(formdata=None), 200)


def _case_page(view: followup.ReporterView, message_form: MessageForm, status: int,
               problem: str | None = None) -> tuple[str, int]:
    report = view.report
    return render_template(
        "intake/case.html", report=report, fields=view.fields, messages=view.messages, form=EmptyForm(),
        message_form=message_form, problem=problem, country=country_name(report.country, select_locale()),
        kind_labels=KIND_LABELS, category_labels=CATEGORY_LABELS, accepted=files.ACCEPTED,
        limits=files.limits(),
        online=online_details.from_json(view.fields.get("online_details", "")),
        platform_labels=files.PLATFORM_LABELS,
    ), status


@bp.post("/followup/case/message")
@limiter.limit(_submit_limit)
def followup_message() -> tuple[str, int] | Response:
    """Add the reporter's message to their case, then show the case again."""
    ticket = _ticket()
    if ticket is None:
        session.pop(SESSION_KEY, None)
        return redirect(url_for("intake.followup_login"))
    form = MessageForm()
    uploads = files.uploads(request.files)
    status = 400
    try:
        if len(uploads) > files.limits().max_files:
            form.validate()
            form.attachments.errors = [files.too_many_files()]
        elif form.validate():
            followup.reply(ticket, form.body.data or "", uploads, session=db.session, now=utcnow(),
                           store=context.attachment_store(), limits=files.limits(),
                           keep_originals=bool(form.keep_originals.data))
            notify.after_commit()
            session[SESSION_KEY] = {**session[SESSION_KEY], "seen": int(time.time())}
            return redirect(url_for("intake.followup_case", _anchor="messages"))
        problem = None
    except triage.TriageError as refused:
        problem = refused.reason
    except UploadRejected as rejected:
        db.session.rollback()
        form.attachments.errors, status = files.upload_errors(rejected)
        problem = None
    except unlock.SessionExpired:
        session.pop(SESSION_KEY, None)
        return redirect(url_for("intake.followup_login"))
    try:
        view = followup.view_case(ticket, session=db.session, now=utcnow())
    except unlock.SessionExpired:
        session.pop(SESSION_KEY, None)
        return redirect(url_for("intake.followup_login"))
    if problem:
        form.body.errors = [MESSAGE_PROBLEMS.get(problem, MESSAGE_PROBLEMS["empty"])]
    return _case_page(view, form, status)


@bp.post("/followup/logout")
def followup_logout() -> Response:
    """Forget the unlocked case at once."""
    form = EmptyForm()
    form.validate_on_submit()  # CSRFProtect has already checked the token
    data: Any = session.pop(SESSION_KEY, None)
    if isinstance(data, dict) and isinstance(data.get("t"), str):
        followup.end_followup(data["t"], session=db.session)
    return redirect(url_for("intake.index"))
