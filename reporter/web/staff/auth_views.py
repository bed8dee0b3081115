"""Login (password, then TOTP), logout and password recovery."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from reporter import unlock
from reporter.access import OWN_ACCOUNT, require
from reporter.crypto.wrapping import display_recovery_code
from reporter.extensions import db
from reporter.models.base import utcnow
from reporter.staff import authentication
from reporter.staff.passwords import PasswordRejected
from reporter.web import context
from reporter.web.staff import bp, limits
from reporter.web.staff import session as staff_session
from reporter.web.staff.forms import PASSWORD_PROBLEMS, CodeForm, EmptyForm, LoginForm, RecoverForm

Page = tuple[str, int] | Response


@bp.route("/login", methods=["GET", "POST"])
@limits.per_account
@limits.per_client
def login() -> Page:
    """Ask for e-mail and password; right ones lead to the TOTP step. One message for every failure."""
    form = LoginForm()
    if request.method == "GET":
        if current_user.is_authenticated:
            return redirect(url_for("staff.home"))
        form.next.data = staff_session.safe_next(request.args.get("next")) or ""
        return render_template("staff/login.html", form=form), 200
    if not form.validate():
        return render_template("staff/login.html", form=form), 400
    try:
        ticket = authentication.check_password(
            form.email.data or "", form.password.data or "", session=db.session,
            params=context.kdf_params(), now=utcnow())
    except authentication.LoginFailed:
        return render_template("staff/login.html", form=form, failed=True), 401
    staff_session.park_login(ticket, staff_session.account_key(form.email.data or ""))
    return redirect(url_for("staff.login_totp", next=staff_session.safe_next(form.next.data)))


@bp.route("/login/totp", methods=["GET", "POST"])
@limits.per_account
@limits.per_client
def login_totp() -> Page:
    """Ask for the TOTP code of a login whose password was right; then open the staff session."""
    form, pending = CodeForm(), staff_session.parked_login()
    if pending is None:
        return redirect(url_for("staff.login"))
    if request.method == "GET":
        form.next.data = staff_session.safe_next(request.args.get("next")) or ""
        return render_template("staff/totp.html", form=form), 200
    if not form.validate():
        return render_template("staff/totp.html", form=form), 400
    try:
        done = authentication.finish_login(
            pending, form.code.data or "", session=db.session, keyring=context.keyring(), now=utcnow(),
            lifetime=staff_session.session_lifetime())
    except unlock.SessionExpired:
        staff_session.forget()
        return redirect(url_for("staff.login"))
    except authentication.LoginFailed as failed:
        reused = isinstance(failed, authentication.CodeAlreadyUsed)
        return render_template("staff/totp.html", form=form, failed=True, reused=reused), 401
    except authentication.AwaitingVetting:
        staff_session.forget()
        return render_template("staff/awaiting_vetting.html"), 403
    return _logged_in(done, form.next.data)


def _logged_in(done: authentication.LoggedIn, next_path: str | None) -> Page:
    """Start the session; after a key renewal show the new recovery code once, else go on."""
    limits.remember_device()
    staff_session.start(done.ticket)
    target = staff_session.safe_next(next_path) or url_for("staff.home")
    if done.recovery_code:
        return render_template("staff/key_renewed.html", next_url=target,
                               recovery_code=display_recovery_code(done.recovery_code)), 200
    return redirect(target)


@bp.post("/logout")
@require(OWN_ACCOUNT)
def logout() -> Response:
    """End the session: the server record is deleted, so no copy of the cookie opens anything."""
    EmptyForm().validate_on_submit()  # CSRFProtect has already checked the token
    ticket = staff_session.current_ticket()
    if ticket is not None:
        authentication.logout(ticket.token, current_user._get_current_object(), session=db.session)
    staff_session.forget()
    return redirect(url_for("staff.login"))


@bp.route("/recover", methods=["GET", "POST"])
@limits.per_account
@limits.per_client
def recover() -> Page:
    """Reset a forgotten password with the recovery code and a TOTP code; show the new recovery code once."""
    form = RecoverForm()
    if request.method == "GET" or not form.validate():
        return render_template("staff/recover.html", form=form), 200 if request.method == "GET" else 400
    try:
        done = authentication.recover(
            form.email.data or "", form.recovery_code.data or "", form.code.data or "",
            form.password.data or "", session=db.session, keyring=context.keyring(),
            params=context.kdf_params(), now=utcnow(), lifetime=staff_session.session_lifetime())
    except PasswordRejected as rejected:
        problem = PASSWORD_PROBLEMS[rejected.reason]
        return render_template("staff/recover.html", form=form, problem=problem), 400
    except authentication.LoginFailed:
        return render_template("staff/recover.html", form=form, failed=True), 401
    limits.remember_device()
    staff_session.start(done.ticket)
    return render_template("staff/recovered.html", recovery_code=done.recovery_code), 200
