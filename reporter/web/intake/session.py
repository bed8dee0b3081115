"""The reporter's half of the browser session, kept apart under ``session["reporter"]``.

The anonymous side and the staff side never share cookie values: each has its own key in the signed
session cookie (``reporter`` here, ``staff`` in web/staff/session.py), so nothing one side writes is
ever read as the other's, and forgetting one leaves the other as it was. The reporter's value carries
only a ticket (a random token and the key that opens the server-side record of the unlocked case) and
the time the reporter was last seen: never the receipt, the report's data key or any report text. The
idle timeout is enforced from the signed last-seen time, so viewing the case writes nothing to the
database; the absolute timeout is the server record's own expiry.
"""

from __future__ import annotations

import time
from datetime import timedelta

from flask import current_app, session

from reporter import unlock

REPORTER_KEY = "reporter"


def session_lifetime() -> timedelta:
    """Return the absolute lifetime of a reporter's unlocked case."""
    return timedelta(minutes=int(current_app.config["REPORTER_FOLLOWUP_MAX_MINUTES"]))


def _idle_seconds() -> int:
    return int(current_app.config["REPORTER_FOLLOWUP_IDLE_MINUTES"]) * 60


def start(ticket: unlock.Ticket) -> None:
    """Remember the reporter's unlocked case in this browser, opened and seen now."""
    now = int(time.time())
    session[REPORTER_KEY] = {**ticket.to_cookie(), "born": now, "seen": now}


def current() -> unlock.Ticket | None:
    """Return the ticket of the reporter's unlocked case; None when absent, malformed, idle or too old.

    The absolute lifetime is counted from the signed opening time in the cookie: the server record
    keeps only the hour, so that it does not time the reporter's visit.
    """
    data = session.get(REPORTER_KEY)
    now = int(time.time())
    if not isinstance(data, dict) or unlock.is_idle(data.get("seen"), now, _idle_seconds()):
        return None
    if unlock.is_idle(data.get("born"), now, int(session_lifetime().total_seconds())):
        return None
    return unlock.Ticket.from_cookie(data)


def touch() -> None:
    """Record that the reporter was seen now, so the idle time starts again."""
    data = session.get(REPORTER_KEY)
    if isinstance(data, dict):
        session[REPORTER_KEY] = {**data, "seen": int(time.time())}


def forget() -> str | None:
    """Drop the reporter's values from the cookie session; return their token, to end the server record."""
    data = session.pop(REPORTER_KEY, None)
    if isinstance(data, dict) and isinstance(data.get("t"), str):
        return str(data["t"])
    return None
