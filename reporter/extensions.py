"""Extensions, created unbound and wired to an app by `init_app`; and the key that names a client.

Who a client is, for rate limits, depends on how the site is reached:

- directly: the TCP peer's address;
- behind `REPORTER_TRUSTED_PROXIES` proxies: the address the nearest trusted proxy saw
  (werkzeug's ProxyFix, wired in reporter.web, reads exactly that many X-Forwarded-For entries from
  the right, so a client cannot choose its own address by sending the header itself);
- as an onion service (`REPORTER_ONION`): there is no client address at all, every request comes
  from the local tor daemon. `client_address` says so (None), and no limit that refuses may then
  be keyed by client: it would refuse every visitor at once.

IPv6 clients are keyed by their /64 network: one subscriber usually holds a whole /64, and keying
single addresses would give them 2^64 budgets.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

from flask import current_app, request
from flask_babel import Babel
from flask_compress import Compress
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from reporter.crypto.kdf import keyed_digest
from reporter.database import Database

NO_ADDRESS = "no-address"


def client_address() -> str | None:
    """Return the client's address (an IPv6 client's /64 network), or None when none exists (onion)."""
    if current_app.config.get("REPORTER_ONION"):
        return None
    raw = request.remote_addr or ""
    try:
        address = ipaddress.ip_address(raw)
    except ValueError:
        return raw
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network((address, 64), strict=False))
    return str(address)


def has_client_address() -> bool:
    """Tell whether requests carry a client address that tells clients apart (not an onion service)."""
    return not current_app.config.get("REPORTER_ONION")


def client_key() -> str:
    """Return a daily-rotating keyed hash of the client address: rate limits never hold an address."""
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    secret = str(current_app.secret_key).encode()
    address = (client_address() or NO_ADDRESS).encode()
    return keyed_digest(secret, b"reporter/rate-limit/" + day.encode() + b"|" + address).hex()[:32]


db = Database()
csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()
limiter = Limiter(key_func=client_key, default_limits=[], headers_enabled=False)
#: Pages, styles and scripts travel compressed (zstd, brotli or gzip, as the browser accepts): /report
#: with its CSS and script is about 11 KB on the wire instead of 36-48 KB, which is what a slow phone
#: over Tor waits for. Compressing a page that holds a secret (the CSRF token, a receipt) beside text an
#: attacker chose is what BREACH measures; here no cross-site request carries a session (every cookie is
#: SameSite=Strict), so an attacker cannot make a victim's browser fetch pages that hold her secrets.
compress = Compress()
