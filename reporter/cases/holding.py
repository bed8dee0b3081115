"""Who holds a case, and opening it: the person's seal is the proof, not only a check.

A person holds a case when a seal of its data key is addressed to them and their role may hold cases
(`access.HOLDER_ROLES`) while they are active. Every action on a case starts with `unseal`, which
finds that seal and opens it with the person's private key: a row edited to point elsewhere still
needs a key that opens. A case the person holds no seal for is CaseNotFound, exactly as one that does
not exist, so nobody learns which case ids exist. A ciphertext that fails authentication (changed,
moved or corrupted) is IntegrityFailure, written to the audit log in a transaction of its own, and no
content is shown.

Every change of a case commits through `changing()`: the one place where a lost race becomes
ActionRefused("conflict") instead of a silently overwritten update.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from reporter import access, vault
from reporter.audit import chain
from reporter.crypto import CiphertextInvalid
from reporter.models import Report, Seal, StaffMember


class CaseNotFound(Exception):
    """No such case, or the person holds no seal for it (the two are never told apart)."""


class IntegrityFailure(Exception):
    """A ciphertext of the case failed authentication: it was changed, moved or corrupted."""


class ActionRefused(Exception):
    """An action on a case was refused; `reason` names why in a word the interface translates."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def holders(session: Session, report_id: str) -> set[str]:
    """Return the ids of the staff members who hold a seal of this case."""
    return set(session.scalars(select(Seal.recipient_id).where(
        Seal.report_id == report_id, Seal.recipient_kind == "staff")))


def _held(session: Session, report_id: str, person: StaffMember) -> tuple[Report, Seal]:
    if not access.may(person.role, access.HANDLE_CASES) or person.state != "active":
        raise CaseNotFound()
    row = session.execute(
        select(Report, Seal).join(Seal, Seal.report_id == Report.id).where(
            Report.id == report_id, Seal.recipient_kind == "staff", Seal.recipient_id == person.id)
    ).first()
    if row is None:
        raise CaseNotFound()
    return row[0], row[1]


def unseal(session: Session, report_id: str, person: StaffMember, private_key: bytes) -> tuple[Report, bytes]:
    """Return a case its holder holds and its data key; the caller writes the audit event of the action."""
    report, seal = _held(session, report_id, person)
    try:
        return report, vault.open_public_key_seal(seal, private_key)
    except CiphertextInvalid:
        raise integrity_failure(session, report_id, person, "seal") from None


def open_fields(session: Session, report: Report, data_key: bytes, *, person: StaffMember) -> dict[str, str]:
    """Return the report's decrypted fields; a field that fails authentication is an IntegrityFailure."""
    try:
        return vault.open_report_fields(report, data_key)
    except CiphertextInvalid:
        raise integrity_failure(session, report.id, person, "content") from None


def integrity_failure(session: Session, report_id: str, person: StaffMember | None,
                      what: str) -> IntegrityFailure:
    """Roll back, record a `case.integrity_failure` event naming the damaged part and commit; return it.

    `person` is the staff member who met the failure, or None for the reporter.
    """
    session.rollback()
    actor = chain.Actor.of(person) if person is not None else chain.REPORTER
    chain.record(session, actor=actor, action="case.integrity_failure", object_type="report",
                 object_id=report_id, detail={"part": what})
    session.commit()
    return IntegrityFailure(what)


def record_denied(session: Session, report_id: str, person: StaffMember, action: str) -> None:
    """Write the audit event of a refused attempt to reach a case (not found or not held); commit."""
    chain.record(session, actor=chain.Actor.of(person), action="case.access_denied", object_type="report",
                 object_id=report_id, detail={"attempted": action})
    session.commit()


@contextmanager
def changing(session: Session) -> Iterator[None]:
    """Run one change of a case and commit it; a lost race is ActionRefused("conflict").

    The race is lost by the second of two writers: its stale UPDATE of the case (the version column)
    or a duplicate seal. It surfaces at commit, or earlier at a flush: the audit chain's head query
    autoflushes the session, and on PostgreSQL that flush is where the second writer learns it lost.
    """
    try:
        yield
        session.commit()
    except (StaleDataError, IntegrityError):
        session.rollback()
        raise ActionRefused("conflict") from None
