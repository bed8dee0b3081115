"""Staff login, sessions, password change and recovery. No Flask here: the web layer passes values in.

Login has two steps. The password step verifies the argon2id hash (a dummy hash of the same cost for
unknown addresses, so timing and answers do not reveal who has an account), unwraps the private key,
and parks it in a short-lived unlocked-session record ("staff-login", 5 minutes): the password itself
is never kept. The TOTP step opens that record, checks the code (replays refused), deletes the record
and opens the real session record under a brand-new token: nothing an attacker planted in the
browser before login survives it. The unwrapped key exists between requests only inside that record,
encrypted under a key held in the person's cookie.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from reporter import directory, unlock
from reporter.audit import chain
from reporter.crypto import CiphertextInvalid, wrapping
from reporter.keyring import (
    Keyring,
    unwrap_with_password,
    unwrap_with_recovery_code,
    wrap_with_password,
    wrap_with_recovery_code,
)
from reporter.lifecycle import staff_keys
from reporter.models import StaffMember, UnlockedSession
from reporter.staff import passwords, totp
from reporter.staff.lifecycle import PENDING_KIND, SESSION_KIND, find_by_email

log = logging.getLogger(__name__)
PENDING_LIFETIME = timedelta(minutes=5)
_MAY_LOG_IN = ("enrolled", "active")


class LoginFailed(Exception):
    """The credentials do not open an account. One error for every cause, on purpose."""


class CodeAlreadyUsed(LoginFailed):
    """The TOTP code is right but its 30-second step was used already (often: just now, at enrolment)."""


class AwaitingVetting(Exception):
    """The credentials are right, but no coordinator has approved this person yet."""


@dataclass(frozen=True)
class LoggedIn:
    """A person who just logged in, and the ticket of their new session for the cookie."""

    person: StaffMember
    ticket: unlock.Ticket
    #: A new recovery code to show once (after the person's key pair was renewed), else None.
    recovery_code: str | None = None


def _fail(session: Session, person: StaffMember | None, step: str,
          refusal: type[LoginFailed] = LoginFailed) -> LoginFailed:
    chain.record(session, actor=chain.ANONYMOUS, action="staff.login.failed", object_type="staff",
                 object_id=person.id if person else None, detail={"step": step})
    session.commit()
    return refusal()


def check_password(
    email: str, password: str, *, session: Session, params: wrapping.KdfParams, now: datetime
) -> unlock.Ticket:
    """Verify e-mail and password; park the unwrapped key for the TOTP step; commit."""
    person = find_by_email(session, email)
    usable = person if person is not None and person.state in _MAY_LOG_IN else None
    if not passwords.verify_password(usable.password_hash if usable else None, password, params):
        raise _fail(session, person, "password")
    assert usable is not None and usable.password_hash is not None
    try:
        private_key = unwrap_with_password(usable, password)
    except CiphertextInvalid:
        log.error("staff key does not unwrap with a verified password id=%s", usable.id)
        raise _fail(session, usable, "key") from None
    if usable.key_renewal_requested_at is not None and usable.public_key is not None:
        private_key = staff_keys.rotate_at_login(session, usable, private_key, password, params=params)
    elif passwords.needs_rehash(usable.password_hash, params) or usable.key_pw_params != params.encode():
        wrap_with_password(usable, password, private_key, params=params)
    ticket = unlock.open_session(session, kind=PENDING_KIND, subject_id=usable.id, role=usable.role,
                                 secret=private_key,
                                 now=now, lifetime=PENDING_LIFETIME)
    session.commit()
    return ticket


def finish_login(
    pending: unlock.Ticket, code: str, *, session: Session, keyring: Keyring, now: datetime,
    lifetime: timedelta,
) -> LoggedIn:
    """Check the TOTP code of a parked login and open the staff session; commit.

    Raises unlock.SessionExpired when the password step is gone (start again), LoginFailed for a
    wrong or replayed code, AwaitingVetting for a right code of a person not yet approved.
    """
    person_id, private_key = unlock.read_session(session, pending, kind=PENDING_KIND, now=now)
    person = session.get(StaffMember, person_id)
    if person is None or person.state not in _MAY_LOG_IN or person.totp_secret_ct is None:
        unlock.close_session(session, pending.token)
        raise _fail(session, person, "state")
    if not directory.person_verifies(session, person):  # changed outside the application: no session
        unlock.close_session(session, pending.token)
        raise _fail(session, person, "record")
    secret = totp.decrypt_secret_any(keyring.totp_keys(), person.totp_secret_ct, staff_id=person.id)
    if not totp.accept_code(session, person, secret, code, now=now):
        step = totp.matching_step(secret, code, now=now)
        if step is not None and step <= person.last_totp_step:
            raise _fail(session, person, "totp_reused", CodeAlreadyUsed)
        raise _fail(session, person, "totp")
    unlock.close_session(session, pending.token)
    if person.state != "active":
        chain.record(session, actor=chain.Actor.of(person), action="staff.login.awaiting_vetting",
                     object_type="staff", object_id=person.id)
        session.commit()
        raise AwaitingVetting()
    recovery_code = staff_keys.renew_recovery_code(session, person, private_key)
    ticket = unlock.open_session(session, kind=SESSION_KIND, subject_id=person.id, role=person.role,
                                 secret=private_key, now=now, lifetime=lifetime)
    chain.record(session, actor=chain.Actor.of(person), action="staff.login", object_type="staff",
                 object_id=person.id)
    session.commit()
    return LoggedIn(person=person, ticket=ticket, recovery_code=recovery_code)


def load_person(ticket: unlock.Ticket, *, session: Session, now: datetime) -> StaffMember:
    """Return the active person whose live session this ticket opens, or raise unlock.SessionExpired."""
    # One query for the record and its person: this runs on every staff request.
    row = session.execute(
        select(UnlockedSession, StaffMember)
        .join(StaffMember, StaffMember.id == UnlockedSession.subject_id)
        .where(UnlockedSession.id == unlock.record_id_of(ticket))
    ).first()
    record = row[0] if row is not None else None
    unlock.open_record(session, record, ticket, kind=SESSION_KIND, now=now)
    assert row is not None
    person: StaffMember = row[1]
    same_role = person.role == row[0].role
    if person.state != "active" or not same_role or not directory.person_verifies(session, person):
        # A person whose record was changed outside the application, or whose role is no longer the one
        # the session was opened for, is logged out.
        unlock.close_session(session, ticket.token)
        session.commit()
        raise unlock.SessionExpired()
    return person


def unlocked_private_key(ticket: unlock.Ticket, *, session: Session, now: datetime) -> bytes:
    """Return the private key held by a live staff session (for opening cases), or raise SessionExpired."""
    return unlock.read_session(session, ticket, kind=SESSION_KIND, now=now)[1]


def logout(token: str, person: StaffMember | None, *, session: Session) -> None:
    """Delete the session record so the cookie opens nothing any more; commit."""
    unlock.close_session(session, token)
    if person is not None:
        chain.record(session, actor=chain.Actor.of(person), action="staff.logout", object_type="staff",
                     object_id=person.id)
    session.commit()


def change_password(
    person: StaffMember, current: str, new: str, *, session: Session, params: wrapping.KdfParams,
    now: datetime, lifetime: timedelta,
) -> unlock.Ticket:
    """Re-wrap the private key under a new password; end every session and open a fresh one; commit.

    Raises LoginFailed for a wrong current password, passwords.PasswordRejected for a weak new one.
    """
    passwords.check_new_password(new, email=person.email)
    if not passwords.verify_password(person.password_hash, current, params):
        raise _fail(session, person, "password_change")
    private_key = unwrap_with_password(person, current)
    wrap_with_password(person, new, private_key, params=params)
    return _restart_sessions(session, person, private_key, "staff.password_changed", now, lifetime)


def _restart_sessions(session: Session, person: StaffMember, private_key: bytes, action: str,
                      now: datetime, lifetime: timedelta) -> unlock.Ticket:
    for kind in (SESSION_KIND, PENDING_KIND):
        unlock.close_sessions_of(session, kind=kind, subject_id=person.id)
    ticket = unlock.open_session(session, kind=SESSION_KIND, subject_id=person.id, role=person.role,
                                 secret=private_key, now=now, lifetime=lifetime)
    chain.record(session, actor=chain.Actor.of(person), action=action, object_type="staff",
                 object_id=person.id)
    session.commit()
    return ticket


@dataclass(frozen=True)
class Recovered:
    """After a reset: the new recovery code (shown once) and a fresh session."""

    person: StaffMember
    recovery_code: str
    ticket: unlock.Ticket


def recover(
    email: str, recovery_code: str, code: str, new_password: str, *, session: Session, keyring: Keyring,
    params: wrapping.KdfParams, now: datetime, lifetime: timedelta,
) -> Recovered:
    """Reset a forgotten password with the recovery code and a TOTP code; commit.

    The recovery code unwraps the private key, which is then wrapped under the new password and a new
    recovery code (the old code is spent). Every other session ends. One LoginFailed for every cause.
    The new password is judged only once the recovery code has opened the key: before that, a rule
    that reads the account (such as "not your e-mail address") would tell a real account from none.
    """
    person = find_by_email(session, email)
    usable = person if person is not None and person.state in _MAY_LOG_IN else None
    try:
        if usable is None:
            raise CiphertextInvalid("no account")
        private_key = unwrap_with_recovery_code(usable, recovery_code)
    except CiphertextInvalid:
        raise _fail(session, person, "recovery_code") from None
    passwords.check_new_password(new_password, email=usable.email)
    assert usable.totp_secret_ct is not None
    secret = totp.decrypt_secret_any(keyring.totp_keys(), usable.totp_secret_ct, staff_id=usable.id)
    if not totp.accept_code(session, usable, secret, code, now=now):
        raise _fail(session, usable, "totp")
    new_code = wrapping.new_recovery_code()
    wrap_with_password(usable, new_password, private_key, params=params)
    wrap_with_recovery_code(usable, new_code, private_key)
    ticket = _restart_sessions(session, usable, private_key, "staff.password_reset", now, lifetime)
    return Recovered(person=usable, recovery_code=new_code, ticket=ticket)
