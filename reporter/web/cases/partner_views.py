"""Partner organisations: the coordinators' register, and a holder's sealed export of a case to one."""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.wrappers import Response

from reporter.access import HANDLE_CASES, MANAGE_PARTNERS, require
from reporter.cases import holding, partner_export, partners
from reporter.crypto.partner_files import MAX_PUBLIC_TEXT
from reporter.extensions import db
from reporter.intake import consent
from reporter.models import Report, StaffMember
from reporter.models.base import utcnow
from reporter.web import context
from reporter.web.cases import bp, views
from reporter.web.cases.forms import PROBLEMS, EmptyForm

Page = tuple[str, int] | Response
PARTNER_PROBLEMS = {
    "name_empty": _l("Please give the organisation's public name."),
    "name_too_long": _l("Please shorten the name to %(limit)s characters or fewer.",
                        limit=partners.NAME_LIMIT),
    "key_too_long": _l("This is too long for a public key file. Please paste only the key file the "
                       "partner sent."),
    "key_invalid": _l("This is not a partner public key file, or the key in it is damaged."),
    "own": _l("You registered this organisation: another coordinator must confirm its fingerprint."),
    "not_compared": _l("Please confirm that you compared the fingerprint with the partner."),
    "not_waiting": _l("This organisation is not waiting for this change."),
    "not_found": _l("There is no such partner organisation."),
    "integrity": _l("This organisation's record failed its integrity check and cannot be used."),
    "not_allowed": _l("Only an active coordinator can manage partner organisations."),
    **{f"name_{code}": PROBLEMS[code] for code in ("nul", "control", "encoding")},
}
EXPORT_PROBLEMS = {
    "no_consent": _l("The reporter has not agreed that a partner organisation may receive this case."),
    "partner": _l("Please choose a confirmed partner organisation from the list."),
    "choice": _l("Please choose fields and files from the lists."),
    "nothing_chosen": _l("Please choose at least one field or file to send."),
}
FIELD_LABELS = {"description": _l("Description"), "perpetrator": _l("Who did it"),
                "contact": _l("How to reach the reporter"), "occurred_on": _l("Date"),
                "online_details": _l("Where online")}


@bp.app_template_global()
def partner_referral(report: Report) -> dict[str, Any]:
    """Give the case page its partner section: the consent, the usable partners and past referrals.

    A record that fails its MAC here is written as an integrity failure, and committed.
    """
    section = {"consent": consent.referral_allowed(db.session, report),
               "partners": partners.usable(db.session),
               "referrals": partner_export.referrals(db.session, report.id), "field_labels": FIELD_LABELS}
    db.session.commit()
    return section


def _me() -> StaffMember:
    person: StaffMember = current_user._get_current_object()
    return person


def _page(status: int = 200, **extra: Any) -> Page:
    listed = partners.listing(db.session)
    names = views.names_of([p.registered_by for p, _ in listed] + [p.confirmed_by for p, _ in listed])
    return render_template("cases/partners.html", partners=listed, people=names, me=_me(),
                           readable=lambda text: " ".join(text[i:i + 4] for i in range(0, len(text), 4)),
                           form=EmptyForm(formdata=None), **extra), status


@bp.route("/partners", methods=["GET", "POST"])
@require(MANAGE_PARTNERS)
def partner_list() -> Page:
    """List partner organisations; register one from its public key file (unconfirmed)."""
    if request.method == "GET":
        done = request.args.get("done")
        return _page(done=done if done in ("registered", "confirmed", "retired") else None)
    values = {"public_name": request.form.get("public_name", "")[:1000],
              "key_text": request.form.get("key_text", "")[:MAX_PUBLIC_TEXT + 1]}
    try:
        partners.register(db.session, person=_me(), now=utcnow(), **values)
    except partners.PartnerRefused as refused:
        db.session.rollback()
        return _page(400, problem=PARTNER_PROBLEMS[refused.reason], posted=values)
    return redirect(url_for("cases.partner_list", done="registered"))


def _change(partner_id: str, change: str) -> Page:
    try:
        if change == "confirmed":
            compared = request.form.get("compared") == "y"
            partners.confirm(db.session, partner_id, person=_me(), compared=compared, now=utcnow())
        else:
            partners.retire(db.session, partner_id, person=_me())
    except partners.PartnerRefused as refused:
        db.session.rollback()
        if refused.reason == "not_found":
            abort(404)
        return _page(400, problem=PARTNER_PROBLEMS[refused.reason])
    return redirect(url_for("cases.partner_list", done=change))


@bp.post("/partners/<partner_id>/confirm")
@require(MANAGE_PARTNERS)
def confirm_partner(partner_id: str) -> Page:
    """Confirm a partner's key fingerprint (a coordinator who did not register it)."""
    return _change(partner_id, "confirmed")


@bp.post("/partners/<partner_id>/retire")
@require(MANAGE_PARTNERS)
def retire_partner(partner_id: str) -> Page:
    """Retire a partner organisation: it is never offered again."""
    return _change(partner_id, "retired")


@bp.post("/cases/<report_id>/partner-export")
@require(HANDLE_CASES)
def partner_export_case(report_id: str) -> Page:
    """Send the chosen fields and files of a held case as one file sealed to a partner; audited."""
    try:
        exported = partner_export.export_case(
            db.session, views._case_id(report_id), person=_me(), private_key=views._private_key(),
            partner_id=request.form.get("partner", ""), fields=request.form.getlist("fields")[:20],
            files=request.form.getlist("files")[:100], store=context.attachment_store(), now=utcnow())
    except holding.ActionRefused as refused:
        db.session.rollback()
        return views._case_page(report_id, 400, problem=EXPORT_PROBLEMS[refused.reason],
                                problem_at="partner_form")
    response = Response(exported.data, content_type="application/octet-stream")
    response.headers.set("Content-Disposition", "attachment", filename=exported.filename)
    response.headers["Content-Security-Policy"] = views.DOWNLOAD_CSP
    response.headers["Cache-Control"] = "no-store"
    return response

