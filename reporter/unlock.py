"""Unlocked sessions: a secret held server-side, encrypted under a key that lives only in a cookie.

Opening a case (with a receipt now, with a staff password later) yields a secret: a report's data key
or a staff private key. It is never kept in plaintext between requests. The server stores it
encrypted under a random cookie key and indexes the record by the SHA-256 of a random token; the
cookie carries the token and the cookie key. A stolen database or session store lacks the cookie key;
a stolen cookie is useless once the record is deleted (logout, absolute timeout) or stale (idle
timeout, which the signed cookie's last-seen time enforces without a database write on every GET).

Someone who can write to the database holds every record but no cookie key. They still hold the key
of their own cookie, so the record alone could be rewritten: re-encrypted to name another person. Each
record therefore also carries a MAC under the instance directory key (`reporter.directory`) over its
id, kind, subject, role and expiry; a record whose MAC does not verify opens nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from reporter.crypto import CiphertextInvalid, aead
from reporter.directory import keys_of, note_failure
from reporter.models import UnlockedSession
from reporter.models.base import to_the_hour

#: The role a reporter's session is opened for (their case, by receipt).
REPORTER_ROLE = "reporter"


class SessionExpired(Exception):
    """The unlocked session is gone, expired, or does not open with this cookie."""


@dataclass(frozen=True)
class Ticket:
    """What goes into the cookie: the session token and the key that opens the server record."""

    token: str
    cookie_key: bytes

    def to_cookie(self) -> dict[str, str]:
        """Return the ticket as the values stored in the signed session cookie."""
        return {"t": self.token, "k": base64.b64encode(self.cookie_key).decode()}

    @classmethod
    def from_cookie(cls, data: object) -> Ticket | None:
        """Return the ticket in cookie values, or None for anything malformed."""
        if not isinstance(data, dict):
            return None
        try:
            return cls(token=str(data["t"]), cookie_key=base64.b64decode(data["k"], validate=True))
        except (KeyError, TypeError, ValueError, binascii.Error):
            return None


def is_idle(seen: object, now: int, limit_seconds: int) -> bool:
    """Return whether a session last seen at `seen` (epoch seconds) has been idle past the limit at `now`.

    Both sides of the site measure idle time with this one rule, from the signed last-seen time in the
    cookie rather than from the server record: an ordinary page view then writes nothing to the
    database, and a copied cookie stops working once the idle period has passed, even while the
    record still lives. A missing or malformed time counts as idle.
    """
    if not isinstance(seen, (int, float, str)):
        return True
    try:
        last = int(seen)
    except (ValueError, OverflowError):
        return True
    return now - last > limit_seconds


def _record_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_TABLE, _COLUMN = "unlocked_sessions", "wrapped_secret"


def _row(record_id: str, kind: str, subject_id: str) -> str:
    return f"{record_id}:{kind}:{subject_id}"


def _message(record: UnlockedSession) -> bytes:
    return json.dumps(["reporter/session/v1", record.id, record.kind, record.subject_id, record.role,
                       record.expires_at.isoformat()], separators=(",", ":")).encode()


def session_message(record: UnlockedSession) -> bytes:
    """Return the message a session record's MAC covers (what a key rotation signs again)."""
    return _message(record)


def open_session(
    session: Session, *, kind: str, subject_id: str, role: str, secret: bytes, now: datetime,
    lifetime: timedelta,
) -> Ticket:
    """Store `secret` for a new session of `subject_id` in `role`; return the ticket for the cookie."""
    session.execute(delete(UnlockedSession).where(UnlockedSession.expires_at < now))
    ticket = Ticket(token=secrets.token_urlsafe(32), cookie_key=aead.new_key())
    record_id = _record_id(ticket.token)
    created, expires = now, now + lifetime
    if role == REPORTER_ROLE:
        # Stored to the hour, so the record does not time the reporter's visit; the exact lifetime is
        # enforced from the signed opening time in the cookie (reporter.web.intake.session).
        created, expires = to_the_hour(now), to_the_hour(now + lifetime) + timedelta(hours=1)
    record = UnlockedSession(
        id=record_id,
        kind=kind,
        subject_id=subject_id,
        role=role,
        wrapped_secret=aead.encrypt_field(ticket.cookie_key, secret, table=_TABLE, column=_COLUMN,
                                          row_id=_row(record_id, kind, subject_id)),
        created_at=created,
        expires_at=expires,
    )
    record.record_mac = keys_of(session).mac(_message(record))
    session.add(record)
    return ticket


def read_session(session: Session, ticket: Ticket, *, kind: str, now: datetime) -> tuple[str, bytes]:
    """Return (subject id, secret) of a live session, or raise SessionExpired."""
    record = session.get(UnlockedSession, _record_id(ticket.token))
    return record.subject_id if record else "", open_record(session, record, ticket, kind=kind, now=now)


def record_id_of(ticket: Ticket) -> str:
    """Return the id of the server record a ticket names (to load it together with related rows)."""
    return _record_id(ticket.token)


def open_record(session: Session, record: UnlockedSession | None, ticket: Ticket, *, kind: str,
                now: datetime) -> bytes:
    """Return the secret of an already loaded record if it is live, authentic and opens with the ticket.

    A record whose MAC does not verify (rewritten in the database) is deleted and the failure written
    to the audit log, in a commit of their own.
    """
    if record is None or record.id != _record_id(ticket.token) or record.kind != kind:
        raise SessionExpired()
    if record.expires_at <= now:
        raise SessionExpired()
    if not keys_of(session).verify(_message(record), record.record_mac):
        note_failure(session, "session", record.subject_id)
        session.delete(record)
        session.commit()
        raise SessionExpired()
    try:
        secret = aead.decrypt_field(ticket.cookie_key, record.wrapped_secret, table=_TABLE, column=_COLUMN,
                                    row_id=_row(record.id, record.kind, record.subject_id))
    except CiphertextInvalid:
        raise SessionExpired() from None
    return secret


def close_session(session: Session, token: str) -> None:
    """Delete the server record of a session, so its cookie opens nothing any more."""
    session.execute(delete(UnlockedSession).where(UnlockedSession.id == _record_id(token)))


def close_sessions_of(session: Session, *, kind: str, subject_id: str) -> None:
    """Delete every session of one subject (a deactivated person, a purged case)."""
    session.execute(
        delete(UnlockedSession).where(UnlockedSession.kind == kind, UnlockedSession.subject_id == subject_id)
    )
