"""The reporter's side: landing page, report form, follow-up with a receipt. No login, no account."""

from flask import Blueprint

bp = Blueprint("intake", __name__)

from reporter.web.intake import consent_views, online_views, platform_views, views  # noqa: E402,F401  (registers the routes on bp)
