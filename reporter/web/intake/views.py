"""Views of the reporter's side: parse the request, call one domain function, render."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from flask import current_app, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from reporter import followup, unlock
from reporter.countries import country_choices, country_name
from reporter.crypto.receipts import display
from reporter.extensions import db, limiter
from reporter.models.base import utcnow
from reporter.submission import submit_report
from reporter.validation import ReportDraft
from reporter.web.i18n import select_locale
from reporter.web.intake import bp
from reporter.web.intake.forms import CATEGORY_LABELS, KIND_LABELS, EmptyForm, ReceiptForm, ReportForm

SESSION_KEY = "reporter"


def _followup_limit() -> str:
    return str(current_app.config["REPORTER_FOLLOWUP_LIMIT"])


def _followup_global_limit() -> str:
    return str(current_app.config["REPORTER_FOLLOWUP_GLOBAL_LIMIT"])


def _submit_limit() -> str:
    return str(current_app.config["REPORTER_SUBMIT_LIMIT"])


def _only_posts() -> bool:
    return request.method != "POST"


def _render_form(form: ReportForm, status: int = 200, expired: bool = False) -> tuple[str, int]:
    region, others = country_choices(select_locale())
    return render_template(
        "intake/report.html", form=form, region_countries=region, other_countries=others,
        kind_labels=KIND_LABELS, category_labels=CATEGORY_LABELS, expired=expired,
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
    """Show the report form, or seal and store a submitted report and show its receipt."""
    form = ReportForm()
    if request.method == "GET":
        return _render_form(form)
    if not form.validate():
        return _render_form(form, 400)
    draft = ReportDraft(
        incident_kind=form.incident_kind.data or "", category=form.category.data or "",
        country=form.country.data or "", description=form.description.data or "",
        occurred_on=form.occurred_on.data, perpetrator=form.perpetrator.data or "",
        contact=form.contact.data or "", language=select_locale(),
    )
    submitted = submit_report(draft, session=db.session, keyring=current_app.extensions["reporter.keyring"])
    return render_template("intake/receipt.html", receipt=display(submitted.receipt)), 200


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
            form.receipt.data or "", session=db.session, keyring=current_app.extensions["reporter.keyring"],
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
    report = view.report
    return render_template(
        "intake/case.html", report=report, fields=view.fields, form=EmptyForm(),
        country=country_name(report.country, select_locale()), kind_labels=KIND_LABELS,
        category_labels=CATEGORY_LABELS,
    ), 200


@bp.post("/followup/logout")
def followup_logout() -> Response:
    """Forget the unlocked case at once."""
    form = EmptyForm()
    form.validate_on_submit()  # CSRFProtect has already checked the token
    data: Any = session.pop(SESSION_KEY, None)
    if isinstance(data, dict) and isinstance(data.get("t"), str):
        followup.end_followup(data["t"], session=db.session)
    return redirect(url_for("intake.index"))
