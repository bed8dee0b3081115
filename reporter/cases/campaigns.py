"""Campaigns: cases a focal point or coordinator links by hand as one coordinated attack.

Automatic linking (reporter.cases.linking) finds cases that name the same account; a campaign is the
judgement of a person: these cases, perhaps naming different accounts, are one smear campaign against
several mediators. Its name may name a perpetrator, so it is sealed like case content: a random
campaign key encrypts the name (AES-256-GCM bound to the campaign id, through reporter.vault), and the
key is sealed (HPKE) to the person who made it, the coordinators of their region and the escrow key;
when someone who holds the key adds a case, the people who hold that case receive the key too.

Which cases belong to a campaign, its region and who made it are plaintext, each row with a MAC
under the directory key (`campaign_message`, `membership_message`). Someone who can write to the
database cannot make a valid row: a membership copied to another case or campaign, or a campaign
moved to another region, fails its MAC and is ignored as if it did not exist, and the failure is
written to the audit log. What a person is shown is decided in reporter.cases.campaign_reading.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from reporter import access, directory, vault
from reporter.audit import chain
from reporter.cases import holding, recipients
from reporter.cases.recipients import Recipient
from reporter.crypto import CiphertextInvalid
from reporter.crypto.records import RecordKeys
from reporter.intake.text import clean_text, text_problem
from reporter.models import Campaign, CampaignCase, CampaignSeal, StaffMember
from reporter.models.base import new_id, to_the_hour

#: The longest name a campaign may have, in characters.
NAME_LIMIT = 120
KEY_VERSION = 1
_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


class CampaignRefused(Exception):
    """A campaign action was refused; `reason` names why in a word the interface translates."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def campaign_message(campaign_id: str, region: str, created_by: str, created_at: datetime) -> bytes:
    """Return the message a campaign row's MAC covers."""
    return _encode(["reporter/campaign/v1", campaign_id, region, created_by, created_at.isoformat()]).encode()


def membership_message(campaign_id: str, report_id: str, added_by: str, added_at: datetime) -> bytes:
    """Return the message a campaign membership row's MAC covers: the campaign and the case above all."""
    return _encode(["reporter/campaign-case/v1", campaign_id, report_id, added_by,
                    added_at.isoformat()]).encode()


def campaign_verifies(keys: RecordKeys, campaign: Campaign) -> bool:
    """Tell whether a campaign row is one the application made."""
    return keys.verify(campaign_message(campaign.id, campaign.region, campaign.created_by,
                                        campaign.created_at), campaign.record_mac)


def membership_verifies(keys: RecordKeys, row: CampaignCase) -> bool:
    """Tell whether a membership row is one the application made for this campaign and this case."""
    return keys.verify(membership_message(row.campaign_id, row.report_id, row.added_by, row.added_at),
                       row.record_mac)


def clean_name(raw: str) -> str:
    """Return a campaign name fit to store (one line, 1..NAME_LIMIT characters); else CampaignRefused."""
    name = clean_text(raw or "")
    if not name:
        raise CampaignRefused("empty")
    problem = "control" if ("\n" in name or "\t" in name) else text_problem(name, NAME_LIMIT)
    if problem:
        raise CampaignRefused(problem)
    return name


def _check(person: StaffMember) -> None:
    if not access.may(person.role, access.MANAGE_CAMPAIGNS) or person.state != "active":
        raise CampaignRefused("not_allowed")


def _seals(campaign_id: str, key: bytes, people: Iterable[Recipient], kind: str,
           now: datetime) -> list[CampaignSeal]:
    return [CampaignSeal(campaign_id=campaign_id, recipient_kind=kind, recipient_id=person.id,
                         suite=person.suite, key_version=KEY_VERSION, created_at=now,
                         sealed_key=vault.seal_campaign_key(key, campaign_id, recipient_id=person.id,
                                                            public_key=person.public_key, suite=person.suite))
            for person in people if person.public_key]


def create(session: Session, raw_name: str, *, person: StaffMember, escrow: Recipient,
           now: datetime) -> tuple[Campaign, bytes]:
    """Make a campaign in the person's region, its key sealed to them, the region's coordinators and
    the escrow key; audited; no commit. Return it and its key."""
    _check(person)
    name = clean_name(raw_name)
    if not person.region:
        raise CampaignRefused("no_region")
    key, campaign_id, hour = vault.new_data_key(), new_id(), to_the_hour(now)
    campaign = Campaign(id=campaign_id, region=person.region, created_by=person.id, created_at=hour,
                        name_ct=vault.seal_campaign_name(key, campaign_id, name),
                        record_mac=directory.keys_of(session).mac(
                            campaign_message(campaign_id, person.region, person.id, hour)))
    people = {r.id: r for r in [Recipient.of(person), *recipients.coordinators_for(session, person.region)]}
    session.add(campaign)
    session.flush()
    session.add_all([*_seals(campaign_id, key, people.values(), "staff", now),
                     *_seals(campaign_id, key, [escrow], "escrow", now)])
    chain.record(session, actor=chain.Actor.of(person), action="campaign.created", object_type="campaign",
                 object_id=campaign_id, detail={"region": person.region, "added": sorted(people)}, at=now)
    return campaign, key


def verified(session: Session, campaign_id: str) -> Campaign | None:
    """Return a campaign whose row verifies, or None (an unknown id, or a row that fails: noted)."""
    campaign = session.get(Campaign, campaign_id) if len(campaign_id or "") == 32 else None
    if campaign is None:
        return None
    if not campaign_verifies(directory.keys_of(session), campaign):
        directory.note_failure(session, "campaign", campaign.id)
        return None
    return campaign


def open_key(session: Session, campaign: Campaign, person: StaffMember, private_key: bytes) -> bytes | None:
    """Return the campaign key if a seal to the person opens with their key, else None."""
    seal = session.get(CampaignSeal, (campaign.id, "staff", person.id))
    return _opened(seal, private_key) if seal is not None else None


def _seal_again(seal: CampaignSeal, key: bytes, public_key: bytes, suite: str) -> None:
    seal.sealed_key = vault.seal_campaign_key(key, seal.campaign_id, recipient_id=seal.recipient_id,
                                              public_key=public_key, suite=suite,
                                              key_version=seal.key_version)
    seal.suite = suite


def _opened(seal: CampaignSeal, private_key: bytes) -> bytes | None:
    try:
        return vault.open_campaign_key(seal.sealed_key, seal.campaign_id, recipient_id=seal.recipient_id,
                                       private_key=private_key, suite=seal.suite,
                                       key_version=seal.key_version)
    except CiphertextInvalid:
        return None


def _staff_seals(session: Session, person: StaffMember) -> list[CampaignSeal]:
    return list(session.scalars(select(CampaignSeal).where(CampaignSeal.recipient_kind == "staff",
                                                           CampaignSeal.recipient_id == person.id)))


def reseal_to_new_key(session: Session, person: StaffMember, old_private: bytes, public_key: bytes,
                      suite: str) -> tuple[int, int]:
    """Seal every campaign key sealed to the person again to their new public key; no commit.

    Return (resealed, unopened): a seal the old key does not open is left as it was.
    """
    resealed, unopened = 0, 0
    for seal in _staff_seals(session, person):
        key = _opened(seal, old_private)
        if key is None:
            unopened += 1
            continue
        _seal_again(seal, key, public_key, suite)
        resealed += 1
    return resealed, unopened


def recover_from_escrow(session: Session, person: StaffMember, escrow_private: bytes, escrow_id: str) -> int:
    """Seal the campaign keys sealed to the person again to their current key, from the campaigns' escrow
    seals (`reporter keys recover`); no commit. Return how many."""
    mine = {seal.campaign_id: seal for seal in _staff_seals(session, person)}
    escrowed = session.scalars(select(CampaignSeal).where(
        CampaignSeal.recipient_kind == "escrow", CampaignSeal.recipient_id == escrow_id,
        CampaignSeal.campaign_id.in_(mine)))
    recovered = 0
    for seal in escrowed:
        key = _opened(seal, escrow_private)
        if key is not None and person.public_key:
            _seal_again(mine[seal.campaign_id], key, person.public_key, person.key_suite or "")
            recovered += 1
    return recovered


def _seal_to_holders(session: Session, campaign: Campaign, key: bytes, report_id: str,
                     now: datetime) -> list[str]:
    """Seal the campaign key to the active holders of a case who lack it; return their ids."""
    sealed = set(session.scalars(select(CampaignSeal.recipient_id).where(
        CampaignSeal.campaign_id == campaign.id, CampaignSeal.recipient_kind == "staff")))
    wanted = holding.holders(session, report_id) - sealed
    if not wanted:
        return []
    people = session.scalars(select(StaffMember).where(
        StaffMember.id.in_(wanted), StaffMember.state == "active", StaffMember.role.in_(access.HOLDER_ROLES),
        StaffMember.public_key.is_not(None)).order_by(StaffMember.id))
    chosen = [Recipient.of(p) for p in directory.verified_people(session, list(people))]
    session.add_all(_seals(campaign.id, key, chosen, "staff", now))
    return [r.id for r in chosen]


def add_case(session: Session, report_id: str, *, person: StaffMember, private_key: bytes,
             campaign_id: str = "", name: str = "", escrow: Recipient, now: datetime) -> Campaign:
    """Add a case the person holds to one of their campaigns, or to a new one named `name`; commit.

    The campaign key goes to the people who hold the case and lack it. A case not held is CaseNotFound;
    a campaign the person cannot open is CampaignRefused("unknown").
    """
    _check(person)
    if not name.strip() and not campaign_id:
        raise CampaignRefused("choose")
    with holding.changing(session):
        holding.unseal(session, report_id, person, private_key)
        if name.strip():
            campaign, key = create(session, name, person=person, escrow=escrow, now=now)
        else:
            found = verified(session, campaign_id)
            opened = open_key(session, found, person, private_key) if found is not None else None
            if found is None or opened is None:
                raise CampaignRefused("unknown")
            campaign, key = found, opened
        if session.get(CampaignCase, (campaign.id, report_id)) is not None:
            raise CampaignRefused("already")
        hour = to_the_hour(now)
        session.add(CampaignCase(campaign_id=campaign.id, report_id=report_id, added_by=person.id,
                                 added_at=hour, record_mac=directory.keys_of(session).mac(
                                     membership_message(campaign.id, report_id, person.id, hour))))
        added = _seal_to_holders(session, campaign, key, report_id, now)
        chain.record(session, actor=chain.Actor.of(person), action="campaign.case_added",
                     object_type="report", object_id=report_id,
                     detail={"campaign": campaign.id, "added": added}, at=now)
    return campaign


def remove_case(session: Session, report_id: str, campaign_id: str, *, person: StaffMember,
                private_key: bytes, now: datetime) -> None:
    """Take a case the person holds out of a campaign; audited; commit."""
    _check(person)
    with holding.changing(session):
        holding.unseal(session, report_id, person, private_key)
        row = session.get(CampaignCase, (campaign_id, report_id)) if len(campaign_id) == 32 else None
        if row is None or not membership_verifies(directory.keys_of(session), row):
            raise CampaignRefused("unknown")
        session.delete(row)
        chain.record(session, actor=chain.Actor.of(person), action="campaign.case_removed",
                     object_type="report", object_id=report_id, detail={"campaign": campaign_id}, at=now)


def reseal_escrow(session: Session, *, old_private: bytes, old_id: str,
                  new: Recipient) -> tuple[int, list[str]]:
    """Seal every campaign key held by the old escrow key to the new one, and delete the old seal; no
    commit. Return how many were sealed and the campaigns whose old escrow seal did not open (they keep
    it)."""
    sealed, unopened = 0, []
    old_seals = session.scalars(select(CampaignSeal).where(CampaignSeal.recipient_kind == "escrow",
                                                           CampaignSeal.recipient_id == old_id))
    for seal in list(old_seals):
        key = _opened(seal, old_private)
        if key is None:
            unopened.append(seal.campaign_id)
            continue
        if session.get(CampaignSeal, (seal.campaign_id, "escrow", new.id)) is None:
            session.add_all(_seals(seal.campaign_id, key, [new], "escrow", seal.created_at))
        session.delete(seal)
        sealed += 1
    return sealed, unopened
