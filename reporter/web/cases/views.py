"""The queue, the case view and the actions on a case.

A case's errors are answered in one place, the blueprint's handlers at the end of this module: a case
the person does not hold (or that does not exist) is 404 and an audited attempt; a ciphertext that
fails authentication is an error page, never content. Views only parse, call one domain function and
render or redirect.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from reporter.access import EXTEND_RETENTION, HANDLE_CASES, MANAGE_ROUTING, may, require
from reporter.cases import casefile, holding, openings, replies, routing, triage
from reporter.cases import entries as case_entries
from reporter.cases.queue import QueueFilter, case_queue, flood_in_progress
from reporter.countries import country_choices, country_name
from reporter.evidence import downloads
from reporter.extensions import db
from reporter.intake import online_details
from reporter.lifecycle import retention
from reporter.models import StaffMember
from reporter.models.base import utcnow
from reporter.models.report import CATEGORIES, RISKS, STATUSES
from reporter.web import context, labels, notify
from reporter.web.cases import bp
from reporter.web.cases.forms import (
    DONE,
    PROBLEMS,
    QUESTION_LABELS,
    REASON_LABELS,
    AssessForm,
    EmptyForm,
    ExtendForm,
    MessageForm,
    NoteForm,
    ReferForm,
    TriageForm,
    version_of,
)
from reporter.web.cases.linking_views import seen_elsewhere
from reporter.web.cases.reply_views import message_form_from_template
from reporter.web.i18n import select_locale
from reporter.web.staff import session as staff_session

Page = tuple[str, int] | Response
_CASE_ID = re.compile(r"^[0-9a-f]{32}$")
T = TypeVar("T")


def from_json(text: str | None) -> dict[str, Any]:
    """Template filter: the dict an audit detail or assessment holds ({} for anything else)."""
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


bp.add_app_template_filter(from_json, "fromjson")


def _me() -> StaffMember:
    person: StaffMember = current_user._get_current_object()
    return person


_private_key = staff_session.private_key


def _case_id(report_id: str) -> str:
    """Return a well-formed case id, or answer 404 (a malformed id is not worth an audit event)."""
    if not _CASE_ID.match(report_id):
        abort(404)
    return report_id


def names_of(ids: Iterable[str | None]) -> dict[str, StaffMember]:
    """Return the staff members with these ids, by id (for names in histories and lists)."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {p.id: p for p in db.session.scalars(select(StaffMember).where(StaffMember.id.in_(wanted)))}


@bp.get("/cases")
@require(HANDLE_CASES)
def queue() -> Page:
    """List the cases this person holds, filtered, the most urgent deadline first."""
    flt = QueueFilter.from_args(request.args.to_dict())
    now = utcnow()
    since = openings.previous_login(db.session, _me().id) if flt.new else None
    page = case_queue(db.session, _me().id, flt, page=_page_number(), now=now, since=since)
    locale = select_locale()
    region, _others = country_choices(locale)
    if flt.country and flt.country not in dict(region):
        region = [*region, (flt.country, country_name(flt.country, locale))]
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    # Labels resolved once per page (not once per row), and the rows' links built from one prefix.
    return render_template(
        "cases/queue.html", page=page, flt=flt, now=now, statuses=STATUSES, risks=RISKS,
        categories=CATEGORIES,
        status_labels=_plain(labels.STATUS_LABELS), risk_labels=_plain(labels.RISK_LABELS),
        category_labels=_plain(labels.CATEGORY_LABELS), countries=region, country_names=dict(region),
        case_prefix=url_for("cases.queue") + "/", args=args, id_search=request.args.get("id", "")[:64],
        flood=flood_in_progress(db.session, _me().id, now),
        purging=retention.purging_soon(page.rows, retention.period(db.session), now),
        entrants=names_of(row.entered_by for row in page.rows),
    ), 400 if flt.id_invalid else 200


def _page_number() -> int:
    try:
        return int(request.args.get("page", "1"))
    except ValueError:
        return 1


def _plain(names: dict[str, Any]) -> dict[str, str]:
    return {code: str(label) for code, label in names.items()}


def _case_page(report_id: str, status: int = 200, **forms: Any) -> Page:
    me = _me()
    opened = casefile.open_case(db.session, _case_id(report_id), person=me, private_key=_private_key())
    report = opened.report
    people = names_of([*opened.holders, report.entered_by, *(e.author_id for e in opened.entries),
                       *(e.actor_id for e in opened.history)])
    candidates = routing.referral_candidates(db.session, report.id, person=me)
    defaults: dict[str, Any] = {
        "triage_form": TriageForm(formdata=None, status=report.status, risk=report.risk,
                                  version=report.version),
        "assess_form": AssessForm(formdata=None, version=report.version),
        "note_form": NoteForm(formdata=None), "message_form": message_form_from_template(),
        "refer_form": ReferForm(formdata=None), "route_form": EmptyForm(formdata=None),
        "extend_form": ExtendForm(formdata=None),
    }
    now = utcnow()
    purge_on = retention.purge_due(report, retention.period(db.session))
    defaults.update(forms)
    online = online_details.from_json(opened.fields["online_details"])
    # Labels resolved once per page (not once per use), and the links to other cases built from one prefix.
    return render_template(
        "cases/case.html", case=opened, report=report, fields=opened.fields, people=people, now=now,
        purge_on=purge_on, purge_soon=retention.purge_soon(purge_on, now),
        may_extend=may(me.role, EXTEND_RETENTION),
        candidates=candidates, statuses=STATUSES, risks=RISKS, transitions=triage.TRANSITIONS,
        status_labels=_plain(labels.STATUS_LABELS), risk_labels=_plain(labels.RISK_LABELS),
        question_labels=_plain(QUESTION_LABELS), reason_labels=_plain(REASON_LABELS),
        kind_labels=_plain(labels.KIND_LABELS), category_labels=_plain(labels.CATEGORY_LABELS),
        role_labels=_plain(labels.ROLE_LABELS), country=country_name(report.country, select_locale()),
        may_route=may(me.role, MANAGE_ROUTING),
        online=online, elsewhere=seen_elsewhere(report.id, online), case_prefix=url_for("cases.queue") + "/",
        platform_labels=_plain(labels.PLATFORM_LABELS), done=request.args.get("done"),
        reply_templates=replies.offered(db.session, report.language), reply_chosen=request.args.get("reply"),
        done_message=DONE.get(request.args.get("done", "")),
        **defaults,
    ), status


def _begin_writing() -> None:
    """Make this GET request's transactions write transactions from their first statement.

    Viewing a case writes its audit event (and so does a refused or failed view). On SQLite, a
    transaction that began reading and then writes fails (SQLITE_BUSY_SNAPSHOT) when another request
    committed in between; BEGIN IMMEDIATE takes the writer lock up front, as every POST's session does.
    """
    session = db.session
    session.rollback()
    session.bind = session.get_bind().execution_options(sqlite_begin_immediate=True)


@bp.get("/cases/<report_id>")
@require(HANDLE_CASES)
def case(report_id: str) -> Page:
    """Decrypt and show a case to a person who holds it; the view is an audit event."""
    _begin_writing()
    return _case_page(report_id)


#: A download is never shown inline, never sniffed, never cached, and runs nothing if a browser opens it.
DOWNLOAD_CSP = "sandbox; default-src 'none'"


@bp.get("/cases/<report_id>/attachments/<attachment_id>")
@require(HANDLE_CASES)
def attachment(report_id: str, attachment_id: str) -> Response:
    """Send an attachment of a held case (the scrubbed copy, or ?copy=original), verified first; audited."""
    if not _CASE_ID.match(attachment_id):
        abort(404)
    download = downloads.open_attachment(
        db.session, _case_id(report_id), attachment_id, person=_me(), private_key=_private_key(),
        store=context.attachment_store(), original=request.args.get("copy") == "original")
    response = Response(download.stream(), content_type=download.media_type, direct_passthrough=True)
    response.content_length = download.size
    response.headers.set("Content-Disposition", "attachment", filename=download.filename)
    response.headers["Content-Security-Policy"] = DOWNLOAD_CSP
    return response


def act_on_case(report_id: str, form_name: str, form: Any, anchor: str, action: Callable[..., object],
                values: Callable[[], dict[str, Any]] = dict) -> Page:
    """Run `action` on the case as the logged-in holder, with the form's `values`, then show the case.

    A refusal shows the case again with the problem beside its form.
    """
    try:
        action(db.session, _case_id(report_id), person=_me(), private_key=_private_key(), **values())
    except holding.ActionRefused as refused:
        db.session.rollback()
        return _case_page(report_id, 409 if refused.reason == "conflict" else 400,
                          problem=PROBLEMS[refused.reason], problem_at=form_name, **{form_name: form})
    notify.after_commit()
    return redirect(url_for("cases.case", report_id=report_id, done=form_name.removesuffix("_form"),
                            _anchor=anchor))


@bp.post("/cases/<report_id>/triage")
@require(HANDLE_CASES)
def triage_case(report_id: str) -> Page:
    """Change the status and/or risk level."""
    form = TriageForm()
    return act_on_case(report_id, "triage_form", form, "triage", triage.triage, lambda: {
        "expected_version": version_of(form), "status": form.status.data or None,
        "risk": form.risk.data or None, "now": utcnow(), "hours": context.deadline_hours()})


@bp.post("/cases/<report_id>/assess")
@require(HANDLE_CASES)
def assess(report_id: str) -> Page:
    """Record a structured risk assessment; it sets the risk level and the deadline."""
    form = AssessForm()
    return act_on_case(report_id, "assess_form", form, "triage", triage.assess, lambda: {
        "expected_version": version_of(form), "now": utcnow(), "hours": context.deadline_hours(),
        "answers": {name: bool(getattr(form, name).data) for name in triage.RISK_QUESTIONS}})


@bp.post("/cases/<report_id>/note")
@require(HANDLE_CASES)
def note(report_id: str) -> Page:
    """Add an internal note."""
    form = NoteForm()
    return act_on_case(report_id, "note_form", form, "notes", case_entries.add_note,
                lambda: {"body": form.body.data or "", "now": utcnow()})


@bp.post("/cases/<report_id>/message")
@require(HANDLE_CASES)
def message(report_id: str) -> Page:
    """Send a message the reporter reads on follow-up."""
    form = MessageForm()
    return act_on_case(report_id, "message_form", form, "messages", case_entries.send_message,
                lambda: {"body": form.body.data or "", "now": utcnow()})


@bp.post("/cases/<report_id>/refer")
@require(HANDLE_CASES)
def refer(report_id: str) -> Page:
    """Seal the case to another active focal point or coordinator."""
    form = ReferForm()
    return act_on_case(report_id, "refer_form", form, "referral", routing.refer,
                lambda: {"to": form.to.data or "", "reason": form.reason.data or "", "now": utcnow()})


@bp.post("/cases/<report_id>/route")
@require(MANAGE_ROUTING)
def route_again(report_id: str) -> Page:
    """Send a case whose holder left through routing again (coordinators)."""
    EmptyForm().validate_on_submit()  # CSRFProtect has already checked the token
    return act_on_case(report_id, "route_form", EmptyForm(formdata=None), "referral", routing.route_again)


#: What an attempt on a case someone does not hold is recorded as, by the view that was asked.
_ATTEMPTS = {"cases.case": "view", "cases.attachment": "download", "cases.triage_case": "triage",
             "cases.assess": "assess", "cases.note": "note", "cases.message": "message",
             "cases.refer": "refer", "cases.route_again": "route",
             "cases.extend_retention": "extend_retention",
             "cases.clear_escalation": "clear_escalation", "cases.platform_response": "platform",
             "cases.partner_export_case": "partner_export",
             "cases.add_to_campaign": "campaign_add", "cases.remove_from_campaign": "campaign_remove"}


@bp.errorhandler(holding.CaseNotFound)
def case_not_held(_error: holding.CaseNotFound) -> Page:
    """Answer 404, as for a case that does not exist, and record the attempt."""
    db.session.rollback()
    report_id = (request.view_args or {})["report_id"]
    holding.record_denied(db.session, report_id, _me(), _ATTEMPTS[request.endpoint or ""])
    return render_template("errors/error.html", code=404, kind="404"), 404


