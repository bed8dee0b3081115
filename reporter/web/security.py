"""Security headers on every response, and the checks every request and every start go through.

The Content-Security-Policy allows only this origin's stylesheet and optional script: no inline
script, no third-party origin, no framing, forms posting only here. Pages are never cached, so a
shared or seized phone keeps no copy of a report or a receipt. Cross-site posts, and form fields or
ids in the path holding control characters, are refused before any view runs; links given out are built from
REPORTER_BASE_URL, never from the Host header; instance keys that are not random refuse the start.
"""

from __future__ import annotations

import logging
import unicodedata
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, request
from werkzeug.exceptions import SecurityError

from reporter import config, instance_files
from reporter.web import context

log = logging.getLogger(__name__)
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PERMISSIONS = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=(), "
    "browsing-topics=()"
)


_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_ALLOWED_CONTROLS = frozenset("\t\n\r")
#: Fields whose own validation answers a control character next to the field, in the reader's
#: language and with everything typed kept (reporter.intake.text, the forms' choice rules; any odd
#: receipt is a wrong receipt). Every other form field is refused by `has_control_characters`.
VALIDATED_NEXT_TO_FIELD = {
    "intake.report": frozenset({"incident_kind", "category", "country", "occurred_on", "description",
                                "perpetrator", "contact"}),
    "intake.followup_message": frozenset({"body"}),
    "intake.followup_login": frozenset({"receipt"}),
    "cases.note": frozenset({"body"}),
    "cases.message": frozenset({"body"}),
}
_VALIDATED_PREFIXES = {"intake.report": "online-"}  # the online-detail rows (reporter.intake.online_details)


def _control(text: str) -> bool:
    return any(unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS for ch in text)


def has_control_characters() -> bool:
    """Tell whether a posted field (name or value) holds NUL or another control character.

    Such a value is never something a person typed; refused here, it never reaches a query (NUL
    makes PostgreSQL fail, and SQLite would store it), a log line or a page.
    """
    own = VALIDATED_NEXT_TO_FIELD.get(request.endpoint or "", frozenset())
    prefix = _VALIDATED_PREFIXES.get(request.endpoint or "")
    for name, value in request.form.items(multi=True):
        if name in own or (prefix and name.startswith(prefix)):
            continue
        if _control(name) or _control(value):
            return True
    return False


def is_cross_site() -> bool:
    """Tell whether an unsafe request plainly comes from another site (Sec-Fetch-Site or Origin).

    Browsers send ``Origin: null`` for forms under our no-referrer policy, so only a concrete foreign
    origin counts; the CSRF token and SameSite=Strict cookies remain the main defence.
    """
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return True
    origin = request.headers.get("Origin")
    if not origin or origin == "null":
        return False
    return urlsplit(origin).netloc != request.host


def public_url(path: str) -> str:
    """Return the address of `path` on this site as the world knows it: under REPORTER_BASE_URL.

    Links given out (enrolment, notifications) never come from the request's Host header, which
    the client writes. Without REPORTER_BASE_URL (development) the request's host is used; with it,
    Flask's TRUSTED_HOSTS refuses requests naming another host (400).
    """
    base = current_app.config.get("REPORTER_BASE_URL") or request.host_url
    return base.rstrip("/") + path


def refuse_weak_keys(app: Flask) -> None:
    """Refuse to start with an instance key that repeats a few bytes or a pattern (outside tests)."""
    if app.testing:
        return
    keys = context.keyring(app)
    named = {"REPORTER_RECEIPT_KEY": keys.receipt_lookup_key, "REPORTER_TOTP_KEY": keys.totp_key,
             "REPORTER_DIRECTORY_KEY": keys.directory_key, "REPORTER_LINKING_KEY": keys.linking_key,
             "REPORTER_AUDIT_KEY": keys.audit_signing_key.private_bytes_raw()}
    weak = sorted(name for name, raw in named.items() if raw and instance_files.weak_secret(raw))
    if weak:
        raise config.ConfigError("instance keys that are not random: " + ", ".join(weak)
                                 + ". Remove them and run `reporter init` to create random ones.")


def init_app(app: Flask) -> None:
    """Refuse cross-site posts and add the security headers to every response of `app`."""
    refuse_weak_keys(app)
    if not app.testing and app.config["REPORTER_HTTPS"] and not app.config["REPORTER_BASE_URL"]:
        log.warning("REPORTER_BASE_URL is not set: enrolment links take the host each request names, and "
                    "requests for any host are answered. Set it to this site's public address.")

    def refuse_untrusted_hosts() -> Response | None:
        # Outside TRUSTED_HOSTS Flask cannot build a single URL, so not even the error page: a plain
        # answer, before anything else reads the host.
        if isinstance(request.routing_exception, SecurityError):
            return Response("Bad request: this site is not served under that name.\n", 400,
                            content_type="text/plain; charset=utf-8")
        return None

    def refuse_cross_site_posts() -> None:
        if request.method in _UNSAFE_METHODS and is_cross_site():
            abort(403)

    def refuse_control_characters() -> None:
        if any(_control(str(value)) for value in (request.view_args or {}).values()):
            abort(404)  # an id with a control character names nothing, before any query looks for it
        if request.method in _UNSAFE_METHODS and has_control_characters():
            abort(400)

    # First of all hooks, before CSRFProtect: a cross-site post is refused before its form is parsed,
    # so another site cannot make this one show a page (an "expired" form) filled with its text.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_cross_site_posts)
    app.before_request_funcs[None].insert(1, refuse_control_characters)
    app.before_request_funcs[None].insert(0, refuse_untrusted_hosts)

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers["X-Content-Type-Options"] = "nosniff"
        headers["X-Frame-Options"] = "DENY"
        headers["Referrer-Policy"] = "no-referrer"
        headers["Permissions-Policy"] = PERMISSIONS
        headers["Cross-Origin-Opener-Policy"] = "same-origin"
        headers["Cross-Origin-Resource-Policy"] = "same-origin"
        if app.config["REPORTER_HTTPS"]:
            headers["Strict-Transport-Security"] = "max-age=63072000; includeSubDomains"
        if request.endpoint != "static":
            headers["Cache-Control"] = "no-store"
            headers["Pragma"] = "no-cache"
        else:
            headers["Cache-Control"] = "public, max-age=3600"
        return response
