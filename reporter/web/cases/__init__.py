"""Triage on the staff side: the case queue, the case view and every action on a case, and routing rules.

Views stay thin: they read the form, unlock the person's private key from their session, call one
function of reporter.triage or reporter.routing, and render. A case the person holds no seal for
answers 404, the same as one that does not exist, and the attempt is written to the audit log.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("cases", __name__, url_prefix="/staff")

from reporter.web.cases import (  # noqa: E402,F401
    campaign_views,
    escalation_views,
    intake_views,
    linking_views,
    partner_views,
    platform_views,
    reply_views,
    retention_views,
    routing_views,
    views,
)
