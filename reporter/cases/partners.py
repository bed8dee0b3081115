"""Partner organisations: registered by one coordinator, confirmed by another, retired when done.

A partner is usable (offered on a case page, sealed to) only when it is active, confirmed by a second
coordinator who compared the key's fingerprint with what the partner read to them, and its record
MAC verifies. The MAC, under the directory key the database never holds, covers every column that
decides where a case goes: id, public name, suite, public key, fingerprint, who registered and
confirmed it and when, and the state. A key swapped in the database fails it, and is never used.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reporter import access, directory
from reporter.audit import chain
from reporter.crypto import partner_files
from reporter.intake.text import clean_text, text_problem
from reporter.models import Partner, StaffMember
from reporter.models.base import new_id

NAME_LIMIT = 120
_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


class PartnerRefused(Exception):
    """A partner change or use was refused; `reason` names why in a word the interface translates."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def message(partner: Partner) -> bytes:
    """Return the message a partner record's MAC covers."""
    return _encode(["reporter/partner/v1", partner.id, partner.public_name, partner.suite,
                    bytes(partner.public_key).hex(), partner.fingerprint, partner.registered_by,
                    _when(partner.registered_at), partner.confirmed_by, _when(partner.confirmed_at),
                    partner.state]).encode()


def _sign(session: Session, partner: Partner) -> None:
    partner.record_mac = directory.keys_of(session).mac(message(partner))


def verifies(session: Session, partner: Partner) -> bool:
    """Tell whether a partner record is authentic; one that is not is noted and never used."""
    key_matches = partner_files.fingerprint(bytes(partner.public_key), partner.suite) == partner.fingerprint
    if key_matches and directory.keys_of(session).verify(message(partner), partner.record_mac):
        return True
    directory.note_failure(session, "partner", partner.id)
    return False


def listing(session: Session) -> list[tuple[Partner, bool]]:
    """Return every partner with whether its record verifies, by name."""
    partners = session.scalars(select(Partner).order_by(Partner.public_name, Partner.id))
    return [(partner, verifies(session, partner)) for partner in partners]


def usable(session: Session) -> list[Partner]:
    """Return the partners a case may be exported to: active, confirmed, authentic."""
    return [partner for partner, authentic in listing(session)
            if authentic and partner.state == "active" and partner.confirmed_by]


def usable_one(session: Session, partner_id: str) -> Partner:
    """Return one usable partner, or raise PartnerRefused("partner")."""
    partner = session.get(Partner, partner_id[:64]) if partner_id else None
    if partner is None or partner.state != "active" or not partner.confirmed_by:
        raise PartnerRefused("partner")
    if not verifies(session, partner):
        raise PartnerRefused("partner")
    return partner


def _managing(person: StaffMember) -> None:
    if person.state != "active" or not access.may(person.role, access.MANAGE_PARTNERS):
        raise PartnerRefused("not_allowed")


def register(session: Session, *, person: StaffMember, public_name: str, key_text: str,
             now: datetime) -> Partner:
    """Register a partner from its public key file's text (unconfirmed); audited; commit."""
    _managing(person)
    name = clean_text(public_name or "")
    problem = "name_empty" if not name else text_problem(name, NAME_LIMIT)
    if problem:
        raise PartnerRefused(problem if problem == "name_empty" else f"name_{problem}")
    if len(key_text or "") > partner_files.MAX_PUBLIC_TEXT:
        raise PartnerRefused("key_too_long")
    try:
        public, suite = partner_files.read_public_key(key_text or "")
    except partner_files.PartnerFileInvalid:
        raise PartnerRefused("key_invalid") from None
    partner = Partner(id=new_id(), public_name=name, suite=suite, public_key=public,
                      fingerprint=partner_files.fingerprint(public, suite), registered_by=person.id,
                      registered_at=now.replace(microsecond=0), state="active")
    _sign(session, partner)
    session.add(partner)
    chain.record(session, actor=chain.Actor.of(person), action="partner.registered", object_type="partner",
                 object_id=partner.id, detail={"fingerprint": partner.fingerprint})
    session.commit()
    return partner


def _changing(session: Session, partner_id: str, person: StaffMember) -> Partner:
    _managing(person)
    partner = session.get(Partner, partner_id[:64]) if partner_id else None
    if partner is None:
        raise PartnerRefused("not_found")
    if not verifies(session, partner):
        session.commit()  # keep the integrity failure's event
        raise PartnerRefused("integrity")
    return partner


def confirm(session: Session, partner_id: str, *, person: StaffMember, compared: bool, now: datetime) -> None:
    """Confirm a partner's fingerprint: a second coordinator, never the one who registered it, who
    says they compared it with what the partner read to them; commit."""
    partner = _changing(session, partner_id, person)
    if not compared:
        raise PartnerRefused("not_compared")
    if partner.registered_by == person.id:
        raise PartnerRefused("own")
    if partner.confirmed_by or partner.state != "active":
        raise PartnerRefused("not_waiting")
    partner.confirmed_by, partner.confirmed_at = person.id, now.replace(microsecond=0)
    _sign(session, partner)
    chain.record(session, actor=chain.Actor.of(person), action="partner.confirmed", object_type="partner",
                 object_id=partner.id, detail={"fingerprint": partner.fingerprint})
    session.commit()


def retire(session: Session, partner_id: str, *, person: StaffMember) -> None:
    """Retire a partner: it is never offered or used again; audited; commit."""
    partner = _changing(session, partner_id, person)
    if partner.state == "retired":
        raise PartnerRefused("not_waiting")
    partner.state = "retired"
    _sign(session, partner)
    chain.record(session, actor=chain.Actor.of(person), action="partner.retired", object_type="partner",
                 object_id=partner.id)
    session.commit()


def public_names(session: Session, ids: set[str]) -> dict[str, Any]:
    """Return the authentic partners with these ids, by id."""
    if not ids:
        return {}
    rows = session.scalars(select(Partner).where(Partner.id.in_(ids)))
    return {partner.id: partner for partner in rows if verifies(session, partner)}
