"""Login throttling that an attacker cannot turn against the people it protects.

Failures only are counted, each against stacked windows ("5 per minute; 15 per hour; 30 per day"):
a few mistakes cost a minute's wait, sustained guessing hours, then a day. A throttled attempt gets
429 with `Retry-After`, whatever the password. Two budgets apply to every attempt:

- **The account's**: a keyed hash of the typed e-mail address, so an address without an account is
  throttled exactly like one with an account (no enumeration through 429s), its failures drain
  only its own budget, and the store holds no address. A browser where the person has logged in
  before (a *known device*, `reporter.web.staff.devices`) counts against a budget of its own for
  that account: failures from unknown devices lock out unknown devices only, never the right
  person's known device. The TOTP step, password recovery and wrong current passwords at a password
  change all count against the account's budget.
- **The client's** (`REPORTER_LOGIN_CLIENT_LIMIT`), against one source trying many accounts: the
  client's address as the trusted proxy saw it (reporter.extensions), for unknown devices only. An
  onion service has no client address, so there is no per-client budget there (it would be one
  budget for everyone, which made-up addresses could drain); each account is still throttled.

The first throttled attempt in an hour writes one audit event per account, device or client;
further refusals write nothing, so a flood cannot fill the audit log.
"""

from __future__ import annotations

import math
import time

from flask import current_app, g, request
from flask_limiter import RequestLimit
from flask_login import current_user
from limits import parse, parse_many
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from reporter import unlock
from reporter.audit import chain
from reporter.extensions import client_key, db, has_client_address, limiter
from reporter.models.base import utcnow
from reporter.staff.lifecycle import PENDING_KIND, find_by_email
from reporter.web.staff import devices
from reporter.web.staff import session as staff_session

_AUDIT_ONCE = parse("1 per hour")
_DEVICE = "|device:"
_NO_ACCOUNT = "acct:none"


def _account_limit() -> str:
    return str(current_app.config["REPORTER_LOGIN_ACCOUNT_LIMIT"])


def _client_limit() -> str:
    return str(current_app.config["REPORTER_LOGIN_CLIENT_LIMIT"])


def _account() -> str:
    """Return the rate-limit key of the account this attempt is about."""
    if request.endpoint == "staff.login_totp":
        return staff_session.parked_account() or _NO_ACCOUNT
    if request.endpoint == "staff.change_password":
        email = current_user.email if current_user.is_authenticated else ""
        return staff_session.account_key(email) if email else _NO_ACCOUNT
    return staff_session.account_key(request.form.get("email", ""))


def account_key() -> str:
    """Return the budget this attempt counts against: its account's, or its known device's for it."""
    account = _account()
    device = devices.known_device(account)
    return account + _DEVICE + device if device else account


def count_failure() -> None:
    """Count this request as a failed attempt although it answers 400 (a wrong current password)."""
    g.reporter_auth_failed = True


def remember_device() -> None:
    """After a successful login or recovery: this browser becomes a known device of the account."""
    devices.remember(_account())


def _only_posts() -> bool:
    return request.method != "POST"


def _client_exempt() -> bool:
    return (request.method != "POST" or not has_client_address()
            or devices.known_device(_account()) is not None)


def _failed(response: Response) -> bool:
    return response.status_code == 401 or bool(g.get("reporter_auth_failed"))


def _person_id() -> str | None:
    if request.endpoint == "staff.change_password":
        return str(current_user.id) if current_user.is_authenticated else None
    if request.endpoint == "staff.login_totp":
        ticket = staff_session.parked_login()
        if ticket is None:
            return None
        try:
            return unlock.read_session(db.session, ticket, kind=PENDING_KIND, now=utcnow())[0]
        except unlock.SessionExpired:
            return None
    person = find_by_email(db.session, request.form.get("email", ""))
    return person.id if person else None


def _record_breach(scope: str, key: str) -> None:
    if not limiter.limiter.hit(_AUDIT_ONCE, "staff-throttle-audit", scope, key):
        return
    try:
        person_id = _person_id() if scope != "client" else None
        chain.record(db.session, actor=chain.ANONYMOUS, action="staff.login.throttled",
                     object_type="staff", object_id=person_id, detail={"limit": scope})
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        raise


def _on_account_breach(_limit: RequestLimit) -> None:
    key = account_key()
    _record_breach("device" if _DEVICE in key else "account", key)


def _on_client_breach(_limit: RequestLimit) -> None:
    _record_breach("client", client_key())


per_account = limiter.shared_limit(
    _account_limit, scope="staff-login-account", key_func=account_key, deduct_when=_failed,
    exempt_when=_only_posts, on_breach=_on_account_breach,
)
per_client = limiter.shared_limit(
    _client_limit, scope="staff-login-client", key_func=client_key, deduct_when=_failed,
    exempt_when=_client_exempt, on_breach=_on_client_breach,
)


def retry_after() -> int:
    """Return the seconds until every exhausted window of this request's breached limits resets.

    Flask-Limiter stops at the first (shortest) breached window, so the longer windows of the same
    stack are looked up here: after sustained guessing the answer grows from a minute to hours.
    """
    windows = parse_many(_account_limit()) + parse_many(_client_limit())
    now, resets = time.time(), []
    for breached in (lim for lim in limiter.current_limits if lim.breached):
        for item in windows:
            stats = limiter.limiter.get_window_stats(item, *breached.request_args)
            if stats.remaining == 0:
                resets.append(stats.reset_time)
    return max(1, math.ceil(max(resets, default=now + 60) - now))
