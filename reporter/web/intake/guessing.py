"""Receipt guessing is slowed without ever refusing a reporter for someone else's wrong guesses.

A receipt carries 100 random bits: no server answers fast enough for guessing to find one, so the
throttle here only bounds the work and the noise a guesser causes, and must never become a way to
keep reporters out. (One budget per client address used to do exactly that: behind a proxy or an
onion service every reporter shares one address, so seven guessers locked everyone out.)

- Each browser session has its own budget of wrong receipts (`REPORTER_FOLLOWUP_LIMIT`). A session
  that spent it waits (429 with `Retry-After`) whatever it sends, so the answer never tells a right
  receipt from a wrong one. No other session is affected.
- A session is a random id in the signed session cookie, made when the form is shown. A guesser who
  drops cookies starts a new budget with every form, so while wrong receipts *in all* exceed
  `REPORTER_FOLLOWUP_GLOBAL_LIMIT`, every session must have held the form for
  `REPORTER_FOLLOWUP_SLOWDOWN_SECONDS` (since it was shown, or since its last try) before its
  receipt is looked at. A reporter who types or pastes their receipt hardly notices; a guesser pays
  one form and one wait per guess. Nobody is refused for good, and no request is held open while it
  waits (that would let a few guessers tie up every worker).
- Replies (`/followup/case/message`) are limited per unlocked case (`case_key`), not per client.
- Wrong receipts are not audited one by one (sixty guesses once wrote sixty rows): the first wrong
  receipt per client and hour writes `followup.denied`, the first refused try `followup.throttled`.
  An onion service has no client address: there it is one of each per hour in all.

Every count lives in the rate-limit store, shared by all workers when it is Redis.
"""

from __future__ import annotations

import math
import secrets
import time
from datetime import datetime, timedelta
from typing import Any

from flask import current_app, session
from limits import RateLimitItem, parse, parse_many

from reporter import unlock
from reporter.audit import chain
from reporter.crypto.kdf import keyed_digest
from reporter.extensions import client_key, db, limiter
from reporter.intake import followup
from reporter.web import context
from reporter.web.intake import session as reporter_session

SESSION_KEY = "attempts"
_ONCE = parse("1 per hour")


def _per_session() -> list[RateLimitItem]:
    return parse_many(str(current_app.config["REPORTER_FOLLOWUP_LIMIT"]))


def _in_all() -> list[RateLimitItem]:
    return parse_many(str(current_app.config["REPORTER_FOLLOWUP_GLOBAL_LIMIT"]))


def _state() -> dict[str, Any]:
    """Return this browser session's attempt id and clock, making them on first use."""
    data = session.get(SESSION_KEY)
    if not (isinstance(data, dict) and isinstance(data.get("id"), str) and isinstance(data.get("at"), int)):
        data = {"id": secrets.token_urlsafe(16), "at": int(time.time())}
        session[SESSION_KEY] = data
    return data


def case_key() -> str:
    """Return the rate-limit key of the reporter's unlocked case in this browser ("" when none).

    A reply is limited per unlocked case, never per client: as an onion service every reporter is one
    client, and anyone could otherwise use up everybody's replies without holding a receipt.
    """
    ticket = reporter_session.current()
    if ticket is None:
        return ""
    secret = str(current_app.secret_key).encode()
    return keyed_digest(secret, b"reporter/rate-limit/case|" + ticket.token.encode()).hex()[:32]


def no_case() -> bool:
    """Tell whether this browser holds no unlocked case (its post is sent back to /followup anyway)."""
    return reporter_session.current() is None


def form_shown() -> None:
    """Start this browser session's attempt clock, if it has none, as the follow-up form is shown."""
    _state()


def _audit_once(action: str, **detail: str) -> None:
    if limiter.limiter.hit(_ONCE, "followup-audit", action, client_key()):
        chain.record(db.session, actor=chain.REPORTER, action=action, detail=detail or None)
        db.session.commit()


def _flooded() -> bool:
    return not all(limiter.limiter.test(item, "followup-all") for item in _in_all())


def wait_before_trying() -> int:
    """Return the seconds this session must wait before its receipt is looked at; 0: look now."""
    state, now = _state(), time.time()
    waits = [limiter.limiter.get_window_stats(item, "followup-session", state["id"]).reset_time - now
             for item in _per_session() if not limiter.limiter.test(item, "followup-session", state["id"])]
    if waits:
        _audit_once("followup.throttled", limit="session")
    elif _flooded():
        waits.append(int(current_app.config["REPORTER_FOLLOWUP_SLOWDOWN_SECONDS"]) - (now - state["at"]))
        if waits[0] > 0:
            _audit_once("followup.throttled", limit="slowdown")
    wait = max(0, math.ceil(max(waits, default=0)))
    if not wait:
        session[SESSION_KEY] = {**state, "at": int(now)}
    return wait


def _wrong() -> None:
    for item in _per_session():
        limiter.limiter.hit(item, "followup-session", _state()["id"])
    for item in _in_all():
        limiter.limiter.hit(item, "followup-all")
    _audit_once("followup.denied")


def open_followup(text: str, *, now: datetime, lifetime: timedelta) -> unlock.Ticket:
    """Open the reporter's case with a receipt, counting a wrong one; raise followup.ReceiptInvalid."""
    try:
        return followup.start_followup(text, session=db.session, keyring=context.keyring(), now=now,
                                       lifetime=lifetime, audit_denied=False)
    except followup.ReceiptInvalid:
        _wrong()
        raise
