"""What a person is shown of campaigns: never more than they hold, and a name only if their key opens it.

A person sees a campaign when it is sealed to them, when it holds a case they hold, or, for a
coordinator, when it belongs to their region. Of its cases they see links to the ones they hold;
the others are only counted, and only when there are at least `linking.MIN_UNHELD` of them, so that
nobody learns of a single case they do not hold (the rule of reporter.cases.linking). Rows whose
MAC fails and purged cases are left out, as if they did not exist. A name whose seal is missing or
does not open is None: the page shows a neutral label instead, never an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from reporter import access, directory, vault
from reporter.cases.campaigns import campaign_verifies, membership_verifies
from reporter.cases.linking import held_seal, told_of
from reporter.crypto import CiphertextInvalid
from reporter.models import Campaign, CampaignCase, CampaignSeal, Report, Seal, StaffMember

#: The most campaigns a list shows.
TOP = 200


@dataclass
class CampaignView:
    """One campaign as one person may see it."""

    id: str
    region: str
    created_at: datetime
    name: str | None = None
    held: set[str] = field(default_factory=set)
    unheld: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        """Return the neutral label of the campaign: the start of its random id."""
        return self.id[:6].upper()

    @property
    def held_ids(self) -> list[str]:
        """Return the ids of the campaign's cases the person holds, sorted."""
        return sorted(self.held)

    @property
    def count(self) -> int:
        """Return how many cases the person is told of: the held ones, and the others if enough."""
        return told_of(self.held, self.unheld)


def _views(session: Session, campaigns: Iterable[Campaign], person: StaffMember,
           private_key: bytes) -> list[CampaignView]:
    keys = directory.keys_of(session)
    found: dict[str, CampaignView] = {}
    for campaign in campaigns:
        if campaign_verifies(keys, campaign):
            found[campaign.id] = CampaignView(campaign.id, campaign.region, campaign.created_at)
    if not found:
        return []
    query = (select(CampaignCase, Seal.id).join(Report, Report.id == CampaignCase.report_id)
             .outerjoin(Seal, held_seal(CampaignCase.report_id, person.id))
             .where(CampaignCase.campaign_id.in_(found), Report.purged_at.is_(None)))
    for row, seal in session.execute(query):
        if membership_verifies(keys, row):
            view = found[row.campaign_id]
            (view.held if seal is not None else view.unheld).add(row.report_id)
    _open_names(session, [c for c in campaigns if c.id in found], found, person, private_key)
    return sorted(found.values(), key=lambda v: (v.name is None, (v.name or "").casefold(), v.id))


def _open_names(session: Session, campaigns: list[Campaign], found: dict[str, CampaignView],
                person: StaffMember, private_key: bytes) -> None:
    by_id = {c.id: c for c in campaigns}
    seals = session.scalars(select(CampaignSeal).where(
        CampaignSeal.campaign_id.in_(by_id), CampaignSeal.recipient_kind == "staff",
        CampaignSeal.recipient_id == person.id))
    for seal in seals:
        campaign = by_id[seal.campaign_id]
        try:
            key = vault.open_campaign_key(seal.sealed_key, campaign.id, recipient_id=person.id,
                                          private_key=private_key, suite=seal.suite,
                                          key_version=seal.key_version)
            found[campaign.id].name = vault.open_campaign_name(key, campaign.id, campaign.name_ct)
        except CiphertextInvalid:
            continue


def _visible(person: StaffMember) -> ColumnElement[bool]:
    sealed = select(CampaignSeal.campaign_id).where(CampaignSeal.recipient_kind == "staff",
                                                    CampaignSeal.recipient_id == person.id)
    holding = (select(CampaignCase.campaign_id).join(Seal, held_seal(CampaignCase.report_id, person.id)))
    seen: list[ColumnElement[bool]] = [Campaign.id.in_(sealed), Campaign.id.in_(holding)]
    if access.may(person.role, access.OVERSEES_REGION) and person.region:
        seen.append(Campaign.region == person.region)
    return or_(*seen)


def visible(session: Session, person: StaffMember, private_key: bytes) -> list[CampaignView]:
    """Return the campaigns the person may see, named ones first (by name), then the others."""
    if not access.may(person.role, access.MANAGE_CAMPAIGNS):
        return []
    query = select(Campaign).where(_visible(person)).order_by(Campaign.created_at.desc()).limit(TOP)
    return _views(session, list(session.scalars(query)), person, private_key)


def one(session: Session, campaign_id: str, person: StaffMember, private_key: bytes) -> CampaignView | None:
    """Return one campaign as the person may see it, or None if it is unknown or not theirs to see."""
    if len(campaign_id) != 32 or not access.may(person.role, access.MANAGE_CAMPAIGNS):
        return None
    campaign = session.scalar(select(Campaign).where(Campaign.id == campaign_id, _visible(person)))
    views = _views(session, [campaign], person, private_key) if campaign is not None else []
    return views[0] if views else None


@dataclass
class OnCase:
    """The campaigns of a case the person holds, and the ones they could add it to."""

    member_of: list[CampaignView]
    choices: list[CampaignView]


def on_case(session: Session, report_id: str, person: StaffMember, private_key: bytes) -> OnCase:
    """Return the campaigns a held case is in, and the person's named campaigns it is not in yet."""
    keys = directory.keys_of(session)
    rows = session.scalars(select(CampaignCase).where(CampaignCase.report_id == report_id))
    member_ids = {row.campaign_id for row in rows if membership_verifies(keys, row)}
    mine = select(CampaignSeal.campaign_id).where(CampaignSeal.recipient_kind == "staff",
                                                  CampaignSeal.recipient_id == person.id)
    query = select(Campaign).where(or_(Campaign.id.in_(member_ids), Campaign.id.in_(mine)))
    views = _views(session, list(session.scalars(query.limit(TOP))), person, private_key)
    member_of = [view for view in views if view.id in member_ids]
    return OnCase(member_of, [view for view in views if view.id not in member_ids and view.name is not None])
