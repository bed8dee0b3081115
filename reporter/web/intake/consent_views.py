"""The reporter's referral choice at follow-up, and the partner organisations their case was sent to."""

from __future__ import annotations

from typing import Any

from flask import redirect, url_for
from werkzeug.wrappers import Response

from reporter import unlock
from reporter.cases import partner_export
from reporter.extensions import db, limiter
from reporter.intake import consent
from reporter.models import Report
from reporter.models.base import utcnow
from reporter.web.intake import bp, guessing
from reporter.web.intake import session as reporter_session
from reporter.web.intake.forms import ReferralConsentForm
from reporter.web.intake.views import _closed, _submit_limit


@bp.app_template_global()
def reporter_referral(report: Report) -> dict[str, Any]:
    """Give the reporter's case page their referral choice and the authentic referrals of the case (a
    record that fails its MAC is written as an integrity failure, and committed)."""
    section = {"consent": consent.referral_allowed(db.session, report),
               "referrals": partner_export.referrals(db.session, report.id)}
    db.session.commit()
    return section


@bp.post("/followup/case/referral-consent")
@limiter.limit(_submit_limit, key_func=guessing.case_key, exempt_when=guessing.no_case)
def followup_referral_consent() -> Response:
    """Record whether a partner organisation may receive the reporter's case; audited."""
    ticket = reporter_session.current()
    if ticket is None:
        return _closed()
    form = ReferralConsentForm()
    form.validate()
    try:
        consent.change_at_followup(db.session, ticket, referral=bool(form.referral_consent.data),
                                   now=utcnow())
    except unlock.SessionExpired:
        return _closed()
    reporter_session.touch()
    return redirect(url_for("intake.followup_case", done="consent", _anchor="referral"))
