"""A staff member's own key pair, renewed at their next login when they or an admin ask for it.

The request only sets a flag (who asked, when): nothing can be re-sealed without the person, because
only their password unlocks the private key that opens their seals. At the next login, once the
password has unwrapped the old key, `rotate_at_login` makes a new key pair, seals every data key the
person holds again to the new public key (and every campaign key sealed to them), wraps the new
private key under the same password, and clears the flag, all in the transaction of the login step:
either all of it happens or none (a failed step leaves the request standing for the next login). The
directory record's fingerprint is signed again by `reporter.directory` as the record is flushed.

The recovery code wrapped the *old* key and cannot wrap the new one without being typed, so the
old recovery wrap is removed with the old key, and the login's second step (after the TOTP code)
issues a new recovery code, shown once (`renew_recovery_code`). If that step never comes, the next
successful login issues it. A seal that does not open with the old key is left as it was and counted
in the audit event.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from reporter import access, directory, vault
from reporter.audit import chain
from reporter.cases import campaigns
from reporter.crypto import CiphertextInvalid, seals, wrapping
from reporter.keyring import wrap_with_password, wrap_with_recovery_code
from reporter.models import Seal, StaffMember
from reporter.staff.lifecycle import StaffError

REQUESTED = "keys.staff_renewal_requested"
RENEWED = "keys.staff_renewed"


def request_renewal(person_id: str, *, session: Session, admin: StaffMember, now: datetime) -> StaffMember:
    """Ask for another person's key pair to be renewed at their next login (admin); commit."""
    if not access.may(admin.role, access.MANAGE_USERS) or admin.state != "active":
        raise StaffError("not_admin")
    person = session.get(StaffMember, person_id) if isinstance(person_id, str) else None
    if person is None:
        raise StaffError("not_found")
    if person.state not in ("enrolled", "active") or person.public_key is None:
        raise StaffError("state")
    if not directory.person_verifies(session, person):
        session.commit()  # the integrity failure event
        raise StaffError("integrity")
    return _flag(session, person, by=admin, now=now)


def request_own_renewal(person: StaffMember, *, session: Session, now: datetime) -> StaffMember:
    """Ask for one's own key pair to be renewed at the next login; commit."""
    return _flag(session, person, by=person, now=now)


def _flag(session: Session, person: StaffMember, *, by: StaffMember, now: datetime) -> StaffMember:
    person.key_renewal_requested_at, person.key_renewal_requested_by = now, by.id
    chain.record(session, actor=chain.Actor.of(by), action=REQUESTED, object_type="staff",
                 object_id=person.id)
    session.commit()
    return person


def rotate_at_login(session: Session, person: StaffMember, old_private: bytes, password: str, *,
                    params: wrapping.KdfParams) -> bytes:
    """Give the person a new key pair and re-seal their cases to it; return the new private key; no commit."""
    pair = seals.generate_keypair(person.key_suite or seals.DEFAULT_SUITE)
    held = session.scalars(select(Seal).where(Seal.recipient_kind == "staff", Seal.recipient_id == person.id))
    resealed, unopened = 0, 0
    for seal in held:
        try:
            data_key = vault.open_public_key_seal(seal, old_private)
        except CiphertextInvalid:
            unopened += 1
            continue
        fresh = vault.seal_to_public_key(seal.report, data_key, kind="staff", recipient_id=person.id,
                                         public_key=pair.public, suite=pair.suite)
        seal.sealed_key, seal.suite, seal.key_version = fresh.sealed_key, fresh.suite, fresh.key_version
        resealed += 1
    more, closed = campaigns.reseal_to_new_key(session, person, old_private, pair.public, pair.suite)
    resealed, unopened = resealed + more, unopened + closed
    person.public_key, person.key_suite = pair.public, pair.suite
    wrap_with_password(person, password, pair.private, params=params)
    person.private_key_rc_ct, person.key_rc_salt = None, None
    person.key_renewal_requested_at, person.key_renewal_requested_by = None, None
    chain.record(session, actor=chain.Actor.of(person), action=RENEWED, object_type="staff",
                 object_id=person.id, detail={"resealed": resealed, "unopened": unopened})
    return pair.private


def renew_recovery_code(session: Session, person: StaffMember, private_key: bytes) -> str | None:
    """Wrap the key under a new recovery code when the person has none (after a renewal); no commit.

    Return the code, to be shown once, or None when the person has a recovery code already.
    """
    if person.private_key_rc_ct is not None:
        return None
    code = wrapping.new_recovery_code()
    wrap_with_recovery_code(person, code, private_key)
    chain.record(session, actor=chain.Actor.of(person), action="staff.recovery_code_renewed",
                 object_type="staff", object_id=person.id)
    return code
