"""The staff home page, one's own password, and enrolment through an invitation link."""

from __future__ import annotations

from flask import render_template, request
from flask_login import current_user
from werkzeug.wrappers import Response

from reporter import access, directory
from reporter.access import OWN_ACCOUNT, require
from reporter.cases import openings, overview
from reporter.crypto.wrapping import display_recovery_code
from reporter.extensions import db
from reporter.lifecycle import staff_keys
from reporter.models import StaffMember
from reporter.models.base import utcnow
from reporter.staff import authentication, enrolment, lifecycle, offboarding, totp
from reporter.staff.passwords import PasswordRejected
from reporter.web import context
from reporter.web.labels import RISK_LABELS, ROLE_LABELS, STATUS_LABELS
from reporter.web.staff import bp, limits
from reporter.web.staff import session as staff_session
from reporter.web.staff.forms import (
    PASSWORD_PROBLEMS,
    STAFF_PROBLEMS,
    ChangePasswordForm,
    CodeForm,
    EmptyForm,
    NewPasswordForm,
)

Page = tuple[str, int] | Response


@bp.errorhandler(enrolment.EnrolmentLinkInvalid)
def enrolment_link_invalid(_error: enrolment.EnrolmentLinkInvalid) -> tuple[str, int]:
    """Answer an unknown, used or expired link the same way: 404."""
    return render_template("staff/link_invalid.html"), 404


@bp.get("/")
@require(OWN_ACCOUNT)
def home() -> Page:
    """Show who is logged in, and for coordinators the people waiting for vetting or offboarding."""
    done = request.args.get("done")
    return home_page(200, done=done if done in ("vet_approve", "vet_reject") else None)


def home_page(status: int, **extra: object) -> Page:
    """Render the staff home: one's key fingerprint; for coordinators, vetting and offboarding requests."""
    person = current_user._get_current_object()
    may_vet = access.may(person.role, access.VET_STAFF)
    waiting = lifecycle.pending_vetting(db.session, vetter=person) if may_vet else []
    confirms = access.may(person.role, access.CONFIRM_OFFBOARDING)
    leaving = offboarding.pending_offboarding(db.session, coordinator=person) if confirms else []
    suspended = offboarding.suspended(db.session) if confirms else []
    key = directory.key_fingerprint(person.public_key, person.key_suite)
    fingerprint = directory.readable_fingerprint(key)
    return render_template("staff/home.html", person=person, waiting=waiting, leaving=leaving,
                           suspended=suspended, fingerprint=fingerprint, role_labels=ROLE_LABELS,
                           form=EmptyForm(), overview=_overview(person), status_labels=STATUS_LABELS,
                           risk_labels=RISK_LABELS, **extra), status


def _overview(person: StaffMember) -> overview.Overview | None:
    """Return the figures of the cases the person holds, or None for a role that holds no cases."""
    if not access.may(person.role, access.HANDLE_CASES):
        return None
    since = openings.previous_login(db.session, person.id)
    return overview.case_overview(db.session, person.id, now=utcnow(), since=since)


@bp.post("/key/renew")
@require(OWN_ACCOUNT)
def renew_own_key() -> Page:
    """Ask for a new key pair at one's own next login."""
    EmptyForm().validate_on_submit()  # CSRFProtect has already checked the token
    staff_keys.request_own_renewal(current_user._get_current_object(), session=db.session, now=utcnow())
    return home_page(200)


@bp.route("/password", methods=["GET", "POST"])
@require(OWN_ACCOUNT)
@limits.per_account
def change_password() -> Page:
    """Change one's own password (the current one re-wraps the key); every other session ends."""
    form = ChangePasswordForm()
    if request.method == "GET" or not form.validate():
        return render_template("staff/password.html", form=form), 200 if request.method == "GET" else 400
    try:
        ticket = authentication.change_password(
            current_user._get_current_object(), form.current_password.data or "", form.password.data or "",
            session=db.session, params=context.kdf_params(), now=utcnow(),
            lifetime=staff_session.session_lifetime())
    except PasswordRejected as rejected:
        problem = PASSWORD_PROBLEMS[rejected.reason]
        return render_template("staff/password.html", form=form, problem=problem), 400
    except authentication.LoginFailed:
        limits.count_failure()
        return render_template("staff/password.html", form=form, wrong_current=True), 400
    staff_session.start(ticket)
    return render_template("staff/password.html", form=ChangePasswordForm(formdata=None), changed=True), 200


@bp.route("/enroll/<token>", methods=["GET", "POST"])
def enroll(token: str) -> Page:
    """Enrol with an invitation link: choose a password, then set up and confirm TOTP."""
    if request.method == "POST" and "code" in request.form:
        return _confirm_code(token)
    if request.method == "POST":
        return _choose_password(token)
    binding = staff_session.enrolment_binding()
    if enrolment.enrolment_stage(token, binding, session=db.session, now=utcnow()) == "totp":
        return _totp_page(token, CodeForm(), 200)
    return render_template("staff/enroll_password.html", form=NewPasswordForm(), token=token), 200


def _choose_password(token: str) -> Page:
    form = NewPasswordForm()
    enrolment.enrolment_stage(token, None, session=db.session, now=utcnow())  # 404 for a dead link first
    if not form.validate():
        return render_template("staff/enroll_password.html", form=form, token=token), 400
    try:
        chosen = enrolment.choose_password(token, form.password.data or "", session=db.session,
                                       keyring=context.keyring(), params=context.kdf_params(),
                                       now=utcnow())
    except PasswordRejected as rejected:
        return render_template("staff/enroll_password.html", form=form, token=token,
                               problem=PASSWORD_PROBLEMS[rejected.reason]), 400
    staff_session.bind_enrolment(chosen.binding)
    return _totp_page(token, CodeForm(formdata=None), 200, recovery_code=chosen.recovery_code)


def _confirm_code(token: str) -> Page:
    form, binding = CodeForm(), staff_session.enrolment_binding()
    if not form.validate():
        return _totp_page(token, form, 400)
    try:
        person = enrolment.confirm_totp(token, binding, form.code.data or "", session=db.session,
                                    keyring=context.keyring(), now=utcnow())
    except lifecycle.StaffError as refused:
        return _totp_page(token, form, 400, problem=STAFF_PROBLEMS.get(refused.reason))
    staff_session.forget()
    return render_template("staff/enrolled.html", person=person), 200


def _totp_page(token: str, form: CodeForm, status: int, **extra: object) -> Page:
    binding = staff_session.enrolment_binding()
    person, secret = enrolment.enrolment_totp_secret(token, binding, session=db.session,
                                                     keyring=context.keyring(), now=utcnow())
    code = extra.pop("recovery_code", None)
    return render_template(
        "staff/enroll_totp.html", form=form, token=token, secret=secret, email=person.email,
        qr_svg=totp.qr_svg(totp.provisioning_uri(secret, email=person.email)),
        recovery_code=display_recovery_code(str(code)) if code else None, **extra), status

