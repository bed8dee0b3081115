"""The staff side: login, enrolment, the staff's own account, user management and vetting.

Strictly apart from the reporter side: its own blueprint under /staff, its own session values under
``session["staff"]``, and Flask-Login identities loaded only from a live server-side session record.
"""

from __future__ import annotations

from flask import Blueprint, Flask, redirect, render_template, url_for
from werkzeug.exceptions import TooManyRequests
from werkzeug.wrappers import Response

from reporter import config
from reporter.extensions import login_manager

bp = Blueprint("staff", __name__, url_prefix="/staff")


def _login_redirect() -> Response:
    from reporter.web.staff.session import requested_path, safe_next

    return redirect(url_for("staff.login", next=safe_next(requested_path())))


@bp.errorhandler(429)
def too_many_attempts(_error: TooManyRequests) -> tuple[str, int, dict[str, str]]:
    """Answer a throttled attempt with the generic page and how long to wait."""
    from reporter.web.staff.limits import retry_after

    page = render_template("errors/error.html", code=429, kind="429")
    return page, 429, {"Retry-After": str(retry_after())}


def init_app(app: Flask) -> None:
    """Register the staff blueprint and wire Flask-Login to the staff session."""
    from reporter.web.staff import session as staff_session

    config.check_password_cost(app.config)
    login_manager.init_app(app)
    # Flask-Login reads a remember-me cookie before the request loader; none is ever issued, and a
    # __Host- name means no other site or subdomain can plant one to shadow the real session.
    app.config["REMEMBER_COOKIE_NAME"] = "__Host-staff-remember"
    # No Flask-Login session protection: it stores a hash of the client address in the cookie, and
    # the session record plus its cookie key already bind the session to this browser.
    login_manager.session_protection = None
    login_manager.request_loader(staff_session.load_staff)
    login_manager.unauthorized_handler(_login_redirect)
    app.register_blueprint(bp)


from reporter.web.staff import account_views, auth_views, users_views  # noqa: E402,F401
