"""Who may read what, authenticated by an instance key that the database does not hold.

Someone who can write to the database without holding the instance keys (a managed PostgreSQL
operator, an edited backup, a compromised replica) must not decide who reads a case. So every
attribute that decides it carries an HMAC-SHA256 under the directory key (``instance/keys/`` or the
environment, like the audit signing key; see `reporter.crypto.records`):

- a staff member's record: id, e-mail address, role, public name, region, state, the fingerprint of
  their public key, the vetting decision and who made it, a pending offboarding request;
- a routing rule: its id, country, category, language and members;
- an unlocked session (`reporter.unlock`): its id, kind, subject, role and expiry;
- a case's entries (`reporter.cases.entry_chain`).

The application alone makes valid records: every change of a staff member or a rule that it flushes
is signed in `before_flush`, after the record's previous state verified, so a later legitimate
change never launders a tampered record into a valid one. Records are checked before any seal is
made to a person, before any permission is granted and when a session is resumed. A record that
fails is never used, as if it did not exist, and `note_failure` writes a
``directory.integrity_failure`` audit event naming it.

A MAC and not a signature: the application is the only party that makes or checks these records,
and it must hold the signing key to make them; a signature would only help a verifier that cannot
sign, and there is none. A MAC costs about a microsecond per record on paths that run on every
submission and every staff request.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from reporter.audit import chain
from reporter.crypto.records import RecordKeys
from reporter.database import RECORD_KEYS_INFO_KEY
from reporter.models import RoutingRule, StaffMember
from reporter.models.base import new_id

log = logging.getLogger(__name__)
INFO_KEY = RECORD_KEYS_INFO_KEY
_PENDING = "reporter.integrity_failures"
_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode

#: The staff attributes a record MAC covers, in message order.
STAFF_FIELDS = ("id", "email", "role", "display_name", "region", "state", "public_key", "key_suite",
                "vetting", "vetted_by", "offboarding_requested_by")
#: The columns to select to verify staff records without loading ORM objects: the fields, then the MAC.
STAFF_COLUMNS = (*(getattr(StaffMember, name) for name in STAFF_FIELDS), StaffMember.record_mac)
_RULE_FIELDS = ("id", "country", "category", "language", "members")


class RecordInvalid(Exception):
    """A record that does not verify was about to be changed; it stays as it is and is never used."""


def keys_of(session: Session) -> RecordKeys:
    """Return the record keys a session was created with."""
    keys = session.info.get(INFO_KEY)
    if not isinstance(keys, RecordKeys):
        raise RuntimeError("this database session has no directory key")
    return keys


def key_fingerprint(public_key: bytes | None, suite: str | None) -> str | None:
    """Return the SHA-256 fingerprint (hex) of a public key and its suite, as people compare it."""
    if not public_key:
        return None
    return hashlib.sha256((suite or "").encode() + b"\x00" + bytes(public_key)).hexdigest()


def readable_fingerprint(fingerprint: str | None) -> str:
    """Return a fingerprint in groups of four, for people to read aloud and compare."""
    text = (fingerprint or "")[:32]
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4)) or "(no key)"


def staff_message(values: Sequence[Any]) -> bytes:
    """Return the message a staff record's MAC covers, from its values in STAFF_FIELDS order."""
    (person_id, email, role, name, region, state, public_key, suite, vetting, vetted_by, requested) = values
    return _encode(["reporter/staff-record/v1", person_id, email, role, name, region, state,
                    key_fingerprint(public_key, suite), vetting, vetted_by, requested]).encode()


def rule_message(values: Sequence[Any]) -> bytes:
    """Return the message a routing rule's MAC covers: id, country, category, language, members."""
    rule_id, country, category, language, members = values
    return _encode(["reporter/routing-rule/v1", rule_id, country, category, language,
                    sorted(members)]).encode()


def _staff_values(person: StaffMember) -> tuple[Any, ...]:
    return tuple(getattr(person, name) for name in STAFF_FIELDS)


def _rule_values(rule: RoutingRule) -> tuple[Any, ...]:
    return rule.id, rule.country, rule.category, rule.language, [m.staff_id for m in rule.members]


def person_verifies(session: Session, person: StaffMember) -> bool:
    """Tell whether a staff member's record is authentic; a record that is not is noted and refused."""
    if keys_of(session).verify(staff_message(_staff_values(person)), person.record_mac):
        return True
    note_failure(session, "staff", person.id)
    return False


def row_verifies(session: Session, row: Sequence[Any]) -> bool:
    """Tell whether a selected STAFF_COLUMNS row is authentic; one that is not is noted and refused."""
    if keys_of(session).verify(staff_message(row[:len(STAFF_FIELDS)]), row[len(STAFF_FIELDS)]):
        return True
    note_failure(session, "staff", str(row[0]))
    return False


def rule_verifies(session: Session, rule: RoutingRule) -> bool:
    """Tell whether a routing rule and its members are authentic; one that is not is noted and refused."""
    return rule_row_verifies(session, _rule_values(rule), rule.record_mac)


def rule_row_verifies(session: Session, values: Sequence[Any], mac: bytes | None) -> bool:
    """Tell whether a rule's (id, country, category, language, members) are authentic under `mac`."""
    if keys_of(session).verify(rule_message(values), mac):
        return True
    note_failure(session, "routing_rule", str(values[0]))
    return False


def verified_people(session: Session, people: Sequence[StaffMember]) -> list[StaffMember]:
    """Return the people whose records verify, in their order (the others are noted)."""
    return [person for person in people if person_verifies(session, person)]


def note_failure(session: Session, record: str, object_id: str) -> None:
    """Write the `directory.integrity_failure` event of a record that does not verify (no commit).

    The event joins the caller's transaction; if that transaction is rolled back (a submission that
    then has no recipient), `record_lost_failures` writes it again.
    """
    log.error("directory record does not verify: %s %s", record, object_id)
    session.info.setdefault(_PENDING, []).append((record, object_id))
    chain.record(session, actor=chain.SYSTEM, action="directory.integrity_failure", object_type=record,
                 object_id=object_id)


def record_lost_failures(session: Session) -> None:
    """After a rollback, write the integrity failures that the rolled-back transaction held; commit."""
    pending = session.info.pop(_PENDING, [])
    for record, object_id in pending:
        chain.record(session, actor=chain.SYSTEM, action="directory.integrity_failure", object_type=record,
                     object_id=object_id)
    if pending:
        session.commit()


@event.listens_for(Session, "after_commit")
def _forget_written_failures(session: Session) -> None:
    session.info.pop(_PENDING, None)


# Signing: every change the application flushes ------------------------------------------------------

def _previous(obj: Any, names: Sequence[str]) -> tuple[Any, ...] | None:
    """Return the values of `names` as loaded (before this flush's changes), or None if none changed."""
    state = inspect(obj)
    histories = [state.attrs[name].history for name in names]
    if not any(history.has_changes() for history in histories):
        return None
    values: list[Any] = []
    for name, history in zip(names, histories, strict=True):
        old = [*(history.unchanged or ()), *(history.deleted or ())]
        if name == "members":
            values.append([member.staff_id for member in old])
        else:
            values.append(old[0] if old else None)
    return tuple(values)


def _sign(session: Session, obj: StaffMember | RoutingRule) -> None:
    keys = keys_of(session)
    is_person = isinstance(obj, StaffMember)
    names, message = (STAFF_FIELDS, staff_message) if is_person else (_RULE_FIELDS, rule_message)
    if obj in session.new:
        obj.id = obj.id or new_id()
    else:
        previous = _previous(obj, names)
        if previous is None:
            return
        if not keys.verify(message(previous), obj.record_mac):
            raise RecordInvalid(f"{type(obj).__name__} {obj.id} does not verify; it cannot be changed")
    values = _staff_values(obj) if isinstance(obj, StaffMember) else _rule_values(obj)
    obj.record_mac = keys.mac(message(values))


@event.listens_for(Session, "before_flush")
def _sign_directory_changes(session: Session, _context: Any, _instances: Any) -> None:
    for obj in [*session.new, *session.dirty]:
        if isinstance(obj, (StaffMember, RoutingRule)):
            _sign(session, obj)


def sign_all(session: Session) -> int:
    """Sign every staff record and routing rule as it stands now (the upgrade that introduces MACs).

    This trusts the database as it is at that moment; it is run once, by the migration. Return the
    number of records signed.
    """
    keys = keys_of(session)
    count = 0
    for person in session.query(StaffMember):
        person.record_mac = keys.mac(staff_message(_staff_values(person)))
        count += 1
    for rule in session.query(RoutingRule):
        rule.record_mac = keys.mac(rule_message(_rule_values(rule)))
        count += 1
    return count
