"""Device cookies: a browser where a person has logged in keeps its own failure budget.

This is OWASP's "device cookie" answer to lockouts. Throttling logins per account alone lets anyone
who knows an address lock its owner out: a few wrong passwords from anywhere, and the right
password gets 429 everywhere. So after a person logs in successfully (password and TOTP), their
browser gets a signed cookie naming that account and a random device id. An attempt on that account
carrying a valid cookie is counted against that device alone; attempts without one (an attacker, or
the person on a new machine) share the account's budget for unknown devices, and the per-client
budget. Failures from unknown devices therefore lock out unknown devices only, never a known device
of the right person; a known device that keeps guessing locks out only itself.

The cookie opens nothing and skips nothing (password and TOTP are always needed): it only chooses
which budget an attempt counts against. It is signed with the instance's secret key (HMAC,
itsdangerous), names the account by the keyed hash the limiter uses (never the address), is
`HttpOnly`, `SameSite=Strict`, `Secure` with the `__Host-` prefix over HTTPS, and expires after
`REPORTER_STAFF_DEVICE_DAYS`; each successful login issues a fresh device id. Unlike the session
cookie it outlives the browser session, and only staff browsers get one. A thief of the cookie gains
one more failure budget for one account, nothing else.
"""

from __future__ import annotations

import secrets
import time

from flask import after_this_request, current_app, request
from itsdangerous import BadData, URLSafeSerializer
from werkzeug.wrappers import Response

SALT = "reporter/staff-device"
#: Accounts remembered by one browser (a shared office computer); the oldest is forgotten first.
MAX_ACCOUNTS = 4
_MAX_COOKIE_CHARS = 2048


def cookie_name() -> str:
    """Return the device cookie's name (`__Host-` prefixed over HTTPS)."""
    return "__Host-staff-device" if current_app.config["REPORTER_HTTPS"] else "staff-device"


def _lifetime() -> int:
    return int(current_app.config["REPORTER_STAFF_DEVICE_DAYS"]) * 86400


def _signer() -> URLSafeSerializer:
    # Retired secret keys (after `reporter keys rotate`) still verify remembered devices; the newest signs.
    keys = [*(current_app.config.get("SECRET_KEY_FALLBACKS") or []), str(current_app.secret_key)]
    return URLSafeSerializer(keys, salt=SALT)


def _remembered() -> dict[str, tuple[str, int]]:
    """Return {account key: (device id, issued at)} of this browser's valid, unexpired cookie."""
    raw = request.cookies.get(cookie_name(), "")
    if not raw or len(raw) > _MAX_COOKIE_CHARS:
        return {}
    try:
        data = _signer().loads(raw)
    except BadData:
        return {}
    oldest = int(time.time()) - _lifetime()
    found: dict[str, tuple[str, int]] = {}
    if isinstance(data, dict):
        for account, entry in data.items():
            if (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[0], str)
                    and isinstance(entry[1], int) and entry[1] >= oldest):
                found[str(account)] = (entry[0], entry[1])
    return found


def known_device(account: str) -> str | None:
    """Return this browser's device id for `account` when it holds a valid device cookie for it."""
    entry = _remembered().get(account) if account else None
    return entry[0] if entry else None


def remember(account: str) -> None:
    """Give this browser a fresh device id for `account`, set on the response of this request."""
    now = int(time.time())
    kept = sorted(((name, entry) for name, entry in _remembered().items() if name != account),
                  key=lambda item: item[1][1], reverse=True)[: MAX_ACCOUNTS - 1]
    entries = {name: [device, issued] for name, (device, issued) in kept}
    entries[account] = [secrets.token_urlsafe(16), now]
    value, https = _signer().dumps(entries), bool(current_app.config["REPORTER_HTTPS"])

    @after_this_request
    def set_cookie(response: Response) -> Response:
        response.set_cookie(cookie_name(), value, max_age=_lifetime(), path="/", secure=https,
                            httponly=True, samesite="Strict")
        return response
