"""Login throttling: per account and per client, counting failures only, with a growing delay.

Each limit is a stack of windows ("5 per minute; 15 per hour; 30 per day"): a few mistakes cost a
minute's wait, a sustained guess costs hours, then a day. The account key is a keyed hash of the typed
e-mail address, so an address without an account is throttled exactly like one with an account
(no enumeration through 429s), and the store holds no address. The TOTP step and password recovery
count against the same account budget. The first throttled attempt in an hour writes one audit event
per account or client; further refusals write nothing, so a flood cannot fill the audit log.
"""

from __future__ import annotations

import math
import time

from flask import current_app, request
from flask_limiter import RequestLimit
from limits import parse, parse_many
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from reporter import unlock
from reporter.audit import chain
from reporter.extensions import client_key, db, limiter
from reporter.models.base import utcnow
from reporter.staff.lifecycle import PENDING_KIND, find_by_email
from reporter.web.staff import session as staff_session

_AUDIT_ONCE = parse("1 per hour")


def _account_limit() -> str:
    return str(current_app.config["REPORTER_LOGIN_ACCOUNT_LIMIT"])


def _client_limit() -> str:
    return str(current_app.config["REPORTER_LOGIN_CLIENT_LIMIT"])


def account_key() -> str:
    """Return the account a login, TOTP or recovery attempt is about."""
    if request.endpoint == "staff.login_totp":
        return staff_session.parked_account() or "acct:none"
    return staff_session.account_key(request.form.get("email", ""))


def _only_posts() -> bool:
    return request.method != "POST"


def _failed(response: Response) -> bool:
    return response.status_code == 401


def _person_id() -> str | None:
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
        person_id = _person_id() if scope == "account" else None
        chain.record(db.session, actor=chain.ANONYMOUS, action="staff.login.throttled",
                     object_type="staff", object_id=person_id, detail={"limit": scope})
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        raise


def _on_account_breach(_limit: RequestLimit) -> None:
    _record_breach("account", account_key())


def _on_client_breach(_limit: RequestLimit) -> None:
    _record_breach("client", client_key())


per_account = limiter.shared_limit(
    _account_limit, scope="staff-login-account", key_func=account_key, deduct_when=_failed,
    exempt_when=_only_posts, on_breach=_on_account_breach,
)
per_client = limiter.shared_limit(
    _client_limit, scope="staff-login-client", key_func=client_key, deduct_when=_failed,
    exempt_when=_only_posts, on_breach=_on_client_breach,
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
