"""Enrolment through an invitation link: password and key pair, then TOTP. Then vetting (reporter.staff).

Choosing the password makes a hybrid key pair (the seals' suite), wraps its private half under the
password (argon2id) and under a one-time recovery code (HKDF), and makes a TOTP secret. The TOTP step
is bound to the browser that chose the password, so someone who only has the link cannot read the
TOTP secret. Confirming a first code uses up the link.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from reporter.audit import chain
from reporter.crypto import seals, wrapping
from reporter.keyring import Keyring, wrap_with_password, wrap_with_recovery_code
from reporter.models import EnrollmentToken, StaffMember
from reporter.staff import passwords, totp
from reporter.staff.lifecycle import StaffError, token_id


class EnrolmentLinkInvalid(Exception):
    """The enrolment link is unknown, used, expired, or was started in another browser."""


@dataclass(frozen=True)
class EnrolmentSecrets:
    """What the enrolling person sees once after choosing a password."""

    person: StaffMember
    totp_secret: str
    recovery_code: str
    binding: str


def _open_link(session: Session, token: str, now: datetime) -> tuple[EnrollmentToken, StaffMember]:
    link = session.get(EnrollmentToken, token_id(token)) if token else None
    if link is None or link.used_at is not None or link.expires_at <= now:
        raise EnrolmentLinkInvalid()
    person = session.get(StaffMember, link.staff_id)
    if person is None or person.state != "invited":
        raise EnrolmentLinkInvalid()
    return link, person


def _bound(link: EnrollmentToken, binding: str | None) -> bool:
    return bool(binding and link.binding and hmac.compare_digest(link.binding, token_id(binding)))


def enrolment_stage(token: str, binding: str | None, *, session: Session, now: datetime) -> str:
    """Return "password" or "totp" for a valid link (totp only in the browser that chose the password)."""
    link, person = _open_link(session, token, now)
    return "totp" if _bound(link, binding) and person.totp_secret_ct else "password"


def choose_password(
    token: str, password: str, *, session: Session, keyring: Keyring, params: wrapping.KdfParams,
    now: datetime,
) -> EnrolmentSecrets:
    """Set the password, make the key pair (wrapped twice) and a TOTP secret; commit.

    Choosing again with the same link starts over: a new key pair, recovery code and TOTP secret,
    bound to the browser that chose last.
    """
    link, person = _open_link(session, token, now)
    passwords.check_new_password(password, email=person.email)
    pair = seals.generate_keypair()
    recovery_code, totp_secret = wrapping.new_recovery_code(), totp.new_secret()
    binding = secrets.token_urlsafe(32)
    wrap_with_password(person, password, pair.private, params=params)
    wrap_with_recovery_code(person, recovery_code, pair.private)
    person.public_key, person.key_suite = pair.public, pair.suite
    person.totp_secret_ct = totp.encrypt_secret(keyring.totp_key, totp_secret, staff_id=person.id)
    person.last_totp_step = 0
    link.binding = token_id(binding)
    chain.record(session, actor=chain.Actor.of(person), action="staff.enrolment.password_chosen",
                 object_type="staff", object_id=person.id)
    session.commit()
    return EnrolmentSecrets(person=person, totp_secret=totp_secret, recovery_code=recovery_code,
                            binding=binding)


def enrolment_totp_secret(token: str, binding: str | None, *, session: Session, keyring: Keyring,
                          now: datetime) -> tuple[StaffMember, str]:
    """Return the person and their TOTP secret for the set-up page (only in the bound browser)."""
    link, person = _open_link(session, token, now)
    if not _bound(link, binding) or person.totp_secret_ct is None:
        raise EnrolmentLinkInvalid()
    return person, totp.decrypt_secret_any(keyring.totp_keys(), person.totp_secret_ct, staff_id=person.id)


def confirm_totp(
    token: str, binding: str | None, code: str, *, session: Session, keyring: Keyring, now: datetime
) -> StaffMember:
    """Finish enrolment with a first TOTP code; the link is used up; commit. StaffError("code") if wrong."""
    person, secret = enrolment_totp_secret(token, binding, session=session, keyring=keyring, now=now)
    if not totp.accept_code(session, person, secret, code, now=now):
        raise StaffError("code")
    link, _ = _open_link(session, token, now)
    link.used_at, person.enrolled_at, person.state = now, now, "enrolled"
    chain.record(session, actor=chain.Actor.of(person), action="staff.enrolled", object_type="staff",
                 object_id=person.id)
    if person.vetting == "approve" and person.vetted_by is None:
        person.state = "active"
        chain.record(session, actor=chain.CONSOLE, action="staff.activated", object_type="staff",
                     object_id=person.id, detail={"by": "console bootstrap"})
    session.commit()
    return person
