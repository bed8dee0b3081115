"""Security headers on every response, static files and error pages included.

The Content-Security-Policy allows only this origin's stylesheet and optional script: no inline
script, no third-party origin, no framing, forms posting only here. Pages are never cached, so a
shared or seized phone keeps no copy of a report or a receipt.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, Response, abort, request

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
PERMISSIONS = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=(), "
    "browsing-topics=()"
)


_UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


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


def init_app(app: Flask) -> None:
    """Refuse cross-site posts and add the security headers to every response of `app`."""

    def refuse_cross_site_posts() -> None:
        if request.method in _UNSAFE_METHODS and is_cross_site():
            abort(403)

    # First of all hooks, before CSRFProtect: a cross-site post is refused before its form is parsed,
    # so another site cannot make this one show a page (an "expired" form) filled with its text.
    app.before_request_funcs.setdefault(None, []).insert(0, refuse_cross_site_posts)

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
