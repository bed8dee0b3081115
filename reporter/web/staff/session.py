"""The staff half of the browser session, kept apart under ``session["staff"]``.

The signed cookie carries only a ticket (a random token and the key that opens the server-side
record) and two times: when the person logged in and when they were last seen. The idle timeout is
enforced from the signed last-seen time, so an ordinary page view writes nothing to the database; the
absolute timeout is the record's own expiry. At login the whole cookie session is replaced, so
nothing planted in the browser beforehand (a fixed session, a half-finished login) survives.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import abort, current_app, request, session

from reporter import unlock
from reporter.crypto.kdf import keyed_digest
from reporter.extensions import db
from reporter.models import StaffMember
from reporter.models.base import utcnow
from reporter.staff import authentication

STAFF_KEY = "staff"
SEEN_REFRESH_SECONDS = 60


def session_lifetime() -> timedelta:
    """Return the absolute lifetime of a staff session."""
    return timedelta(hours=int(current_app.config["REPORTER_STAFF_MAX_HOURS"]))


def enrolment_lifetime() -> timedelta:
    """Return how long an enrolment link stays valid."""
    return timedelta(hours=int(current_app.config["REPORTER_ENROLMENT_HOURS"]))


def _data() -> dict[str, Any]:
    data = session.get(STAFF_KEY)
    return data if isinstance(data, dict) else {}


def start(ticket: unlock.Ticket) -> None:
    """Replace the whole cookie session with a fresh staff session (the language choice is kept)."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    now = int(time.time())
    session[STAFF_KEY] = {**ticket.to_cookie(), "born": now, "seen": now}


def park_login(ticket: unlock.Ticket, account: str) -> None:
    """Remember a login waiting for its TOTP code (replacing any earlier staff state)."""
    session[STAFF_KEY] = {"pending": ticket.to_cookie(), "acct": account}


def parked_login() -> unlock.Ticket | None:
    """Return the ticket of the login waiting for its TOTP code, if any."""
    return unlock.Ticket.from_cookie(_data().get("pending"))


def parked_account() -> str:
    """Return the rate-limit key of the account whose login is waiting for its code."""
    return str(_data().get("acct") or "")


def enrolment_binding() -> str | None:
    """Return the nonce that binds an enrolment in progress to this browser."""
    value = _data().get("enrol")
    return value if isinstance(value, str) else None


def bind_enrolment(binding: str) -> None:
    """Bind an enrolment in progress to this browser."""
    session[STAFF_KEY] = {**_data(), "enrol": binding}


def forget() -> None:
    """Drop every staff value from the cookie session."""
    session.pop(STAFF_KEY, None)


def current_ticket() -> unlock.Ticket | None:
    """Return the ticket of a logged-in staff session that is not idle for too long."""
    data = _data()
    ticket = unlock.Ticket.from_cookie(data)
    if ticket is None:
        return None
    idle = int(current_app.config["REPORTER_STAFF_IDLE_MINUTES"]) * 60
    if unlock.is_idle(data.get("seen"), int(time.time()), idle):
        # Idle: the record is destroyed now, not only refused, so nothing can reopen it later.
        unlock.close_session(db.session, ticket.token)
        db.session.commit()
        forget()
        return None
    return ticket


def load_staff(_request: Any = None) -> StaffMember | None:
    """Flask-Login request loader: the active person whose live session record this cookie opens.

    Refused (None) when the cookie is missing or idle, the record is gone or expired or does not open
    with the cookie's key, or the person is no longer active.
    """
    ticket = current_ticket()
    if ticket is None:
        return None
    try:
        person = authentication.load_person(ticket, session=db.session, now=utcnow())
    except unlock.SessionExpired:
        forget()
        return None
    data = _data()
    if int(time.time()) - int(data.get("seen", 0)) > SEEN_REFRESH_SECONDS:
        session[STAFF_KEY] = {**data, "seen": int(time.time())}
    return person


def account_key(email: str) -> str:
    """Return the rate-limit key of an account: a keyed hash of its normalised e-mail address."""
    secret = str(current_app.secret_key).encode()
    digest = keyed_digest(secret, b"reporter/login-account/" + email.strip().lower().encode())
    return "acct:" + digest.hex()[:32]


def safe_next(target: str | None) -> str | None:
    """Return `target` if it is a path on this site, else None (no open redirects)."""
    if not target or len(target) > 512 or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def requested_path() -> str:
    """Return the path and query of this request, for a `next` parameter."""
    query = request.query_string.decode("latin-1")
    return request.path + ("?" + query if query else "")


def private_key() -> bytes:
    """Return the private key the logged-in person's session holds; 403 when it holds none."""
    ticket = current_ticket()
    if ticket is None:
        abort(403)
    try:
        return authentication.unlocked_private_key(ticket, session=db.session, now=utcnow())
    except unlock.SessionExpired:
        abort(403)
