"""HTTP only, thin: blueprints, headers, error pages and the language of each page."""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from reporter.web import errors, i18n, notify, security, staff
from reporter.web.audit import bp as audit_bp
from reporter.web.cases import bp as cases_bp
from reporter.web.formdata import ReporterRequest
from reporter.web.intake import bp as intake_bp
from reporter.web.stats import bp as stats_bp


def trust_proxies(app: Flask) -> None:
    """Read the client's address and scheme from the `REPORTER_TRUSTED_PROXIES` nearest proxies.

    Exactly that many X-Forwarded-For entries are read, from the right: what a client writes in the
    header itself lies further left and is ignored. With no proxy configured the header is ignored.
    """
    hops = int(app.config["REPORTER_TRUSTED_PROXIES"])
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


def register(app: Flask) -> None:
    """Register every blueprint and the cross-cutting request hooks on `app`."""
    app.request_class = ReporterRequest
    trust_proxies(app)
    app.register_blueprint(intake_bp)
    staff.init_app(app)
    app.register_blueprint(audit_bp)
    app.register_blueprint(cases_bp)
    app.register_blueprint(stats_bp)
    notify.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    errors.init_app(app)
