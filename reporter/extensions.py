"""Extensions, created unbound and wired to an app by `init_app`."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import current_app, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

from reporter.crypto.kdf import keyed_digest
from reporter.database import Database


def client_key() -> str:
    """Return a daily-rotating keyed hash of the client address: rate limits never hold an address."""
    day = datetime.now(UTC).strftime("%Y-%m-%d")
    secret = str(current_app.secret_key).encode()
    address = (request.remote_addr or "").encode()
    return keyed_digest(secret, b"reporter/rate-limit/" + day.encode() + b"|" + address).hex()[:32]


db = Database()
csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()
limiter = Limiter(key_func=client_key, default_limits=[], headers_enabled=False)
