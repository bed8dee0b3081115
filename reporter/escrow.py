"""Recovery with the escrow key: give a person back the cases they hold after their key was replaced.

Every report's data key is also sealed to the installation's escrow key. `reporter init` writes the
escrow private key once, to a file the operator moves to offline storage (a USB key in a safe); the
server itself keeps only the public half. The private key comes back only for `reporter keys recover`,
run at the console by whoever holds the shell: so nothing here is reachable from the web, the key is
handed in as an argument instead of being read from the keyring, and every event is the console's.

Recovery opens each case's escrow seal and seals the data key again to the person's *current* public
key, after checking that their record (the key among it) verifies under the instance directory key
(`reporter.directory`): a key substituted in the database is refused, never sealed to. It replaces the
seal they had: once their key pair was replaced (for example when the password and
the recovery code that wrapped the old private key were both lost), they read the same cases as
before. It does not give anyone a case they did not hold, does not change who holds a case, and does
not bring back the old private key or password. A case whose escrow seal does not open keeps the seal
it had and is reported, so one damaged seal does not stop the others.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from reporter import directory, vault
from reporter.audit import chain
from reporter.cases import campaigns
from reporter.crypto import CiphertextInvalid
from reporter.crypto.seals import KeyPair
from reporter.keyring import Keyring
from reporter.models import Seal, StaffMember
from reporter.staff import lifecycle


class RecoveryRefused(Exception):
    """Recovery cannot start; the message says why, for the console."""


class EscrowKeyMismatch(RecoveryRefused):
    """The escrow key given is not this installation's."""


class NoSuchPerson(RecoveryRefused):
    """No active staff member with a key has the e-mail address given."""


class RecordUnverified(RecoveryRefused):
    """The person's record (their public key among it) was changed outside the application."""


@dataclass(frozen=True)
class Target:
    """Whom recovery would seal to: the person, their key's fingerprint, and whether the record verifies."""

    person: StaffMember
    fingerprint: str
    verified: bool


def target(session: Session, email: str) -> Target:
    """Return the person recovery would seal to, with their key fingerprint and the record's check.

    An unverified record also writes its integrity failure to the audit log (committed).
    """
    person = lifecycle.find_by_email(session, email)
    if person is None or person.state != "active" or person.public_key is None:
        raise NoSuchPerson("no active staff member with a key has this e-mail address")
    verified = directory.person_verifies(session, person)
    if not verified:
        session.commit()
    key = directory.key_fingerprint(person.public_key, person.key_suite)
    fingerprint = directory.readable_fingerprint(key)
    return Target(person=person, fingerprint=fingerprint, verified=verified)


@dataclass(frozen=True)
class Recovery:
    """What a recovery did: how many cases were sealed again, and the cases skipped."""

    recovered: int
    #: Reports whose escrow seal does not open; the person's seal of each is left as it was.
    skipped: tuple[str, ...]


def recover(session: Session, *, keyring: Keyring, escrow_key: KeyPair, email: str) -> Recovery:
    """Seal every case the person with `email` holds again to their current public key; commit."""
    if escrow_key.public != keyring.escrow_public_key:
        raise EscrowKeyMismatch("this escrow key does not belong to this installation")
    found = target(session, email)
    if not found.verified:
        raise RecordUnverified("this person's record does not verify (it was changed outside the "
                               "application); nothing was sealed to its key")
    person = found.person
    held = list(session.scalars(select(Seal).where(
        Seal.recipient_kind == "staff", Seal.recipient_id == person.id).order_by(Seal.report_id)))
    escrow_seals = _escrow_seals(session, [seal.report_id for seal in held], keyring.escrow_key_id)
    recovered, skipped = 0, []
    for seal in held:
        escrow_seal = escrow_seals.get(seal.report_id)
        if escrow_seal is None:  # nothing to recover from: the case keeps the seal it has
            continue
        if _reseal(session, seal, escrow_seal, escrow_key, person):
            recovered += 1
        else:
            skipped.append(seal.report_id)
    if named := campaigns.recover_from_escrow(session, person, escrow_key.private, keyring.escrow_key_id):
        chain.record(session, actor=chain.CONSOLE, action="keys.campaigns_recovered", object_type="staff",
                     object_id=person.id, detail={"campaigns": named})
    session.commit()
    return Recovery(recovered=recovered, skipped=tuple(skipped))


def _escrow_seals(session: Session, report_ids: list[str], escrow_id: str) -> dict[str, Seal]:
    # Only seals to this key: during an escrow rotation a case holds one to the old key as well.
    query = select(Seal).where(Seal.recipient_kind == "escrow", Seal.recipient_id == escrow_id,
                               Seal.report_id.in_(report_ids))
    return {seal.report_id: seal for seal in session.scalars(query)}


def _reseal(session: Session, seal: Seal, escrow_seal: Seal, escrow_key: KeyPair,
            person: StaffMember) -> bool:
    """Put the data key inside `escrow_seal` into `seal`, sealed to the person; False if it does not open."""
    try:
        data_key = vault.open_public_key_seal(escrow_seal, escrow_key.private)
    except CiphertextInvalid:
        return False
    report = escrow_seal.report
    assert person.public_key is not None  # recover() only takes people with a key
    fresh = vault.seal_to_public_key(report, data_key, kind="staff", recipient_id=person.id,
                                     public_key=person.public_key, suite=person.key_suite or "")
    seal.sealed_key, seal.suite, seal.key_version = fresh.sealed_key, fresh.suite, fresh.key_version
    chain.record(session, actor=chain.CONSOLE, action="keys.recovered", object_type="report",
                 object_id=report.id, detail={"staff": person.id})
    return True
