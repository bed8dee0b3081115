"""Staff account life cycle: invite, enrol, vet. Each step is one audited function.

    invited --(password, keypair, TOTP)--> enrolled --(a coordinator approves)--> active
    enrolled --(a coordinator rejects)--> offboarded
    active <--> suspended, and any state --> offboarded: see reporter.staff.offboarding

Separation of duties: an admin invites but cannot vet; a coordinator vets but never their own
invitee and never themselves. The one exception is the bootstrap: while no coordinator is active, the
server console (`reporter users invite`) may invite an admin or a coordinator who becomes active on
enrolment, because someone holding the server's shell is already the root of trust of the
installation. Once a coordinator is active, console invitations are vetted like any other.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from reporter import access, directory, unlock
from reporter.audit import chain
from reporter.countries import ISO_CODES
from reporter.models import EnrollmentToken, StaffMember
from reporter.models.staff import ROLES, VETTING_DECISIONS

SESSION_KIND = "staff"
PENDING_KIND = "staff-login"
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


class StaffError(Exception):
    """A staff operation was refused; `reason` says why in a word the interface can translate."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Invitation:
    """A new invitation: the person and the secret token of their link (shown once, never stored)."""

    person: StaffMember
    token: str


def normalise_email(email: str) -> str:
    """Return the login form of an e-mail address: trimmed and lower-cased."""
    return email.strip().lower()


def find_by_email(session: Session, email: str) -> StaffMember | None:
    """Return the staff member with this e-mail address, if any."""
    return session.scalars(select(StaffMember).where(StaffMember.email == normalise_email(email))).first()


def token_id(token: str) -> str:
    """Return the stored form of an enrolment token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _console_may_approve(session: Session, role: str) -> bool:
    if role not in access.BOOTSTRAP_ROLES:
        return False
    active_vetters = session.scalar(select(func.count()).select_from(StaffMember).where(
        StaffMember.role.in_(access.roles_with(access.VET_STAFF)), StaffMember.state == "active"))
    return not active_vetters


def invite(
    email: str, role: str, region: str | None, *, session: Session, invited_by: StaffMember | None,
    now: datetime, lifetime: timedelta, display_name: str | None = None,
) -> Invitation:
    """Invite a person (by an admin, or from the console when `invited_by` is None); commit.

    `display_name` is the public name of a focal point: reporters see it when they choose a person
    to keep away from their case. It should be a work name, not necessarily the legal one.
    """
    email, region = normalise_email(email), (region or "").strip().upper() or None
    name = " ".join((display_name or "").split()) or None
    if name is not None and (len(name) > 80 or not name.isprintable()):
        raise StaffError("display_name")
    if not _EMAIL.match(email) or len(email) > 254:
        raise StaffError("email")
    if role not in ROLES:
        raise StaffError("role")
    if (role in access.REGIONAL_ROLES) != (region is not None) or (region and region not in ISO_CODES):
        raise StaffError("region")
    person = find_by_email(session, email)
    if person is not None and person.state != "invited":
        raise StaffError("exists")
    if person is not None and not directory.person_verifies(session, person):
        session.commit()  # the integrity failure event
        raise StaffError("integrity")
    if person is None:
        person = StaffMember(email=email, state="invited")
        session.add(person)
    person.role, person.region, person.invited_by, person.invited_at = role, region, None, now
    person.display_name = name
    person.vetting = person.vetted_by = person.vetted_at = None
    if invited_by is None:
        if _console_may_approve(session, role):
            person.vetting, person.vetted_at = "approve", now
    else:
        person.invited_by = invited_by.id
    session.flush()
    session.execute(delete(EnrollmentToken).where(EnrollmentToken.staff_id == person.id))
    token = secrets.token_urlsafe(32)
    session.add(EnrollmentToken(id=token_id(token), staff_id=person.id, created_at=now,
                                expires_at=now + lifetime))
    inviter = chain.Actor.of(invited_by) if invited_by else chain.CONSOLE
    chain.record(session, actor=inviter, action="staff.invited", object_type="staff", object_id=person.id,
                 detail={"role": role, "region": region, "console_approved": person.vetting == "approve"})
    session.commit()
    return Invitation(person=person, token=token)


def vet(
    person_id: str, decision: str, *, session: Session, vetter: StaffMember, now: datetime
) -> StaffMember:
    """Approve or reject an enrolled person; commit. StaffError names why it is refused."""
    if not access.may(vetter.role, access.VET_STAFF) or vetter.state != "active":
        raise StaffError("not_coordinator")
    if decision not in VETTING_DECISIONS:
        raise StaffError("decision")
    person = session.get(StaffMember, person_id)
    if person is None:
        raise StaffError("not_found")
    if person.id == vetter.id:
        raise StaffError("self")
    if person.invited_by == vetter.id:
        raise StaffError("own_invitee")
    if person.state != "enrolled":
        raise StaffError("state")
    if not directory.person_verifies(session, person):
        session.commit()  # the integrity failure event
        raise StaffError("integrity")
    person.vetting, person.vetted_by, person.vetted_at = decision, vetter.id, now
    chain.record(session, actor=chain.Actor.of(vetter), action="staff.vetted", object_type="staff",
                 object_id=person.id, detail={"decision": decision})
    if decision == "approve":
        person.state = "active"
    else:
        retire(session, person, now=now)
    session.commit()
    return person


def retire(session: Session, person: StaffMember, *, now: datetime) -> None:
    """End a person's sessions and enrolment links, wipe their secrets and mark them offboarded.

    Their seals are the caller's concern (`reporter.staff.offboarding`); someone rejected at vetting
    never held any.
    """
    for kind in (SESSION_KIND, PENDING_KIND):
        unlock.close_sessions_of(session, kind=kind, subject_id=person.id)
    session.execute(delete(EnrollmentToken).where(EnrollmentToken.staff_id == person.id))
    person.password_hash = person.private_key_pw_ct = person.key_pw_salt = person.key_pw_params = None
    person.private_key_rc_ct = person.key_rc_salt = person.totp_secret_ct = None
    person.state, person.deactivated_at = "offboarded", now


def pending_vetting(session: Session, *, vetter: StaffMember) -> list[StaffMember]:
    """Return the enrolled people this coordinator may vet (not themselves, not their invitees)."""
    query = select(StaffMember).where(StaffMember.state == "enrolled", StaffMember.id != vetter.id)
    return [p for p in session.scalars(query.order_by(StaffMember.enrolled_at)) if p.invited_by != vetter.id]
