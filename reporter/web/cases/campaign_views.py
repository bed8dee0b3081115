"""Campaigns: the list and create form, one campaign's page, and adding or removing a case on its page.

The case page's section comes from `case_campaigns`, given to templates by a context processor, so
the case view itself needs no change. A case the person does not hold answers 404 through the case
views' handler, like every other action on a case.
"""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l

from reporter.access import MANAGE_CAMPAIGNS, require
from reporter.cases import campaign_reading, campaigns
from reporter.cases.holding import ActionRefused
from reporter.cases.recipients import Recipient
from reporter.extensions import db
from reporter.models.base import utcnow
from reporter.web import context
from reporter.web.cases import bp
from reporter.web.cases.forms import PROBLEMS
from reporter.web.cases.views import Page, _case_id, _case_page, _me, _private_key

CAMPAIGN_PROBLEMS = {
    "empty": _l("Please give the campaign a name."),
    "too_long": _l("Please shorten the name to %(limit)s characters or fewer.", limit=campaigns.NAME_LIMIT),
    "control": _l("A campaign name is one line without invisible control characters. Please retype it."),
    "nul": PROBLEMS["nul"],
    "encoding": PROBLEMS["encoding"],
    "choose": _l("Please choose one of your campaigns, or give a name for a new one."),
    "unknown": _l("This campaign does not exist, or you cannot add cases to it."),
    "already": _l("This case is already in that campaign."),
    "no_region": _l("Your account has no region, so you cannot make a campaign."),
    "not_allowed": _l("You cannot change campaigns."),
    "conflict": PROBLEMS["conflict"],
}
_DONE = ("created", "added", "removed")


def escrow() -> Recipient:
    """Return the escrow key as a recipient of campaign keys."""
    keys = context.keyring()
    return Recipient(id=keys.escrow_key_id, role="escrow", public_key=keys.escrow_public_key,
                     suite=keys.escrow_suite)


def case_campaigns(report_id: str) -> campaign_reading.OnCase:
    """Return the campaigns of a case the logged-in person holds, and those they may add it to."""
    return campaign_reading.on_case(db.session, report_id, _me(), _private_key())


@bp.context_processor
def campaign_section() -> dict[str, Any]:
    """Give the case page what its campaigns section needs."""
    return {"case_campaigns": case_campaigns, "campaign_name_limit": campaigns.NAME_LIMIT}


def _list(status: int = 200, **extra: Any) -> Page:
    items = campaign_reading.visible(db.session, _me(), _private_key())
    return render_template("cases/campaigns.html", items=items, **extra), status


@bp.route("/campaigns", methods=["GET", "POST"])
@require(MANAGE_CAMPAIGNS)
def campaign_list() -> Page:
    """List the campaigns the person may see; make a new one (POST `name`)."""
    if request.method == "GET":
        return _list()
    name = request.form.get("name", "")
    try:
        campaign, _key = campaigns.create(db.session, name, person=_me(), escrow=escrow(), now=utcnow())
        db.session.commit()
    except campaigns.CampaignRefused as refused:
        db.session.rollback()
        return _list(400, problem=CAMPAIGN_PROBLEMS[refused.reason], name=name[:1000])
    return redirect(url_for("cases.campaign", campaign_id=campaign.id, done="created"))


@bp.get("/campaigns/<campaign_id>")
@require(MANAGE_CAMPAIGNS)
def campaign(campaign_id: str) -> Page:
    """Show one campaign: its name if the person's key opens it, the cases they hold, the others counted."""
    found = campaign_reading.one(db.session, campaign_id, _me(), _private_key())
    if found is None:
        abort(404)
    done = request.args.get("done")
    return render_template("cases/campaign.html", campaign=found, done=done if done in _DONE else None), 200


def _refused(report_id: str, reason: str, name: str) -> Page:
    db.session.rollback()
    return _case_page(report_id, 409 if reason == "conflict" else 400, problem=CAMPAIGN_PROBLEMS[reason],
                      problem_at="campaign_form", campaign_name=name[:1000])


@bp.post("/cases/<report_id>/campaigns")
@require(MANAGE_CAMPAIGNS)
def add_to_campaign(report_id: str) -> Page:
    """Add a held case to one of the person's campaigns (`campaign`) or to a new one (`name`)."""
    name, chosen = request.form.get("name", ""), request.form.get("campaign", "")[:64]
    try:
        campaigns.add_case(db.session, _case_id(report_id), person=_me(), private_key=_private_key(),
                           campaign_id=chosen, name=name, escrow=escrow(), now=utcnow())
    except (campaigns.CampaignRefused, ActionRefused) as refused:
        return _refused(report_id, refused.reason, name)
    return redirect(url_for("cases.case", report_id=report_id, done="campaign_added", _anchor="campaigns"))


@bp.post("/cases/<report_id>/campaigns/<campaign_id>/remove")
@require(MANAGE_CAMPAIGNS)
def remove_from_campaign(report_id: str, campaign_id: str) -> Page:
    """Take a held case out of a campaign."""
    try:
        campaigns.remove_case(db.session, _case_id(report_id), campaign_id[:64], person=_me(),
                              private_key=_private_key(), now=utcnow())
    except (campaigns.CampaignRefused, ActionRefused) as refused:
        return _refused(report_id, refused.reason, "")
    return redirect(url_for("cases.case", report_id=report_id, done="campaign_removed", _anchor="campaigns"))
