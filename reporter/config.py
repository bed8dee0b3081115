"""Configuration: defaults -> instance/config.py -> REPORTER_* environment -> test overrides.

The app refuses to start without a real secret key outside tests: a missing or well-known key would
let anyone forge sessions and CSRF tokens.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask
from limits import parse as parse_limit

from reporter import instance_files, languages

MiB = 1024 * 1024

DEFAULTS: dict[str, Any] = {
    "REPORTER_DATABASE_URL": None,  # default: sqlite:///<instance>/reporter.db
    "REPORTER_SECRET_KEY": None,  # default: instance/keys/secret_key
    "REPORTER_KEYS_PATH": None,  # default: <instance>/keys
    "REPORTER_REDIS_URL": None,
    "REPORTER_SMTP_URL": None,
    # Where attachment files go: empty for <instance>/attachments, file:///path, or
    # s3://bucket[/prefix]?endpoint=https://...&region=... (reporter.evidence.store.open_store).
    "REPORTER_ATTACHMENTS_URL": None,
    "REPORTER_S3_ACCESS_KEY_ID": None,  # else boto3's usual sources (AWS_ACCESS_KEY_ID, profile, role)
    "REPORTER_S3_SECRET_ACCESS_KEY": None,
    "REPORTER_RETENTION_DAYS": 365,
    "REPORTER_LANGUAGES": None,  # default: every language that ships with a catalogue
    "REPORTER_QUICK_EXIT_URL": "https://www.wikipedia.org/",
    # The organisation that runs the installation, shown in the header, the footer and /safety.
    "REPORTER_ORGANISATION_NAME": None,
    "REPORTER_ORGANISATION_DESCRIPTION": None,
    "REPORTER_ORGANISATION_CONTACT": None,  # other ways to reach the team (Signal, e-mail, phone)
    "REPORTER_ORGANISATION_EMERGENCY": None,  # shown when reports cannot be received, and on /safety
    # Wrong receipts per browser session (that session waits), and in all: beyond the global rate a
    # session must hold the form REPORTER_FOLLOWUP_SLOWDOWN_SECONDS before each try (nobody is refused).
    "REPORTER_FOLLOWUP_LIMIT": "10 per minute; 30 per hour",
    "REPORTER_FOLLOWUP_GLOBAL_LIMIT": "600 per minute",
    "REPORTER_FOLLOWUP_SLOWDOWN_SECONDS": 10,
    # How clients are told apart (reporter.extensions): proxy hops in front of the app, or an onion
    # service (no client address exists).
    "REPORTER_TRUSTED_PROXIES": 0,
    "REPORTER_ONION": False,
    "REPORTER_SUBMIT_LIMIT": "30 per minute",
    # Floods (reporter.web.intake.floods): a ceiling for the whole site, and the per-client threshold
    # beyond which reports are kept but marked "possible flood".
    "REPORTER_SUBMIT_GLOBAL_LIMIT": "300 per hour",
    "REPORTER_SUBMIT_FLOOD_LIMIT": "10 per hour",
    "REPORTER_FOLLOWUP_IDLE_MINUTES": 20,
    "REPORTER_FOLLOWUP_MAX_MINUTES": 120,
    "REPORTER_MAX_REQUEST_BYTES": None,  # default: max files x max bytes + 1 MiB for the other fields
    "REPORTER_MAX_FORM_BYTES": 1 * MiB,  # a request without files, and the text fields of one with files
    "REPORTER_ATTACHMENT_MAX_FILES": 5,  # per submission and per follow-up message
    "REPORTER_ATTACHMENT_MAX_BYTES": 10 * MiB,  # per file
    "REPORTER_HTTPS": True,  # cookies Secure and __Host- prefixed; off only for plain-HTTP development
    # Staff accounts (docs/security-staff.md explains each choice).
    "REPORTER_ARGON2_MEMORY_KIB": 65536,
    "REPORTER_ARGON2_TIME_COST": 3,
    "REPORTER_ARGON2_PARALLELISM": 4,
    "REPORTER_ARGON2_TEST_FAST": False,  # minimal argon2id cost; honoured only with TESTING, else refused
    "REPORTER_ENROLMENT_HOURS": 72,
    # The public address: every link the site gives out (enrolment, notifications) starts with it, and
    # requests naming another host are refused (Flask's TRUSTED_HOSTS).
    "REPORTER_BASE_URL": None,
    "REPORTER_STAFF_IDLE_MINUTES": 30,
    "REPORTER_STAFF_MAX_HOURS": 12,
    "REPORTER_LOGIN_ACCOUNT_LIMIT": "5 per minute; 15 per hour; 30 per day",
    "REPORTER_LOGIN_CLIENT_LIMIT": "20 per minute; 100 per hour; 300 per day",
    "REPORTER_STAFF_DEVICE_DAYS": 180,  # lifetime of the device cookie a successful login leaves
    # Triage: hours to respond by risk level ("unknown": until the first assessment).
    "REPORTER_DEADLINE_HOURS": "critical=2,high=24,medium=72,low=168,unknown=24",
    # Notifications: smtp://[user:password@]host[:port][?from=addr&starttls=1] or smtps://...
    "REPORTER_SMTP_FROM": "reporter@localhost",
    "REPORTER_NOTIFY_ATTEMPTS": 8,
    "REPORTER_NOTIFY_THREAD": True,  # send from a background thread after commit (tests send explicitly)
    # Each notification leaves at a random moment of this window (minutes), so it cannot time its cause.
    "REPORTER_NOTIFY_DELAY_MINUTES": "5-15",
    # Audit: a signed checkpoint at least every this many events (and every hour with activity).
    "REPORTER_AUDIT_CHECKPOINT_EVERY": 100,
    # Signed heads are pushed off the server: appended to this file (outside the instance folder) or,
    # with "syslog:", to the local syslog; and e-mailed to every active auditor at most this often.
    "REPORTER_AUDIT_HEAD_LOG": None,
    "REPORTER_AUDIT_HEAD_MAIL_HOURS": 24,
    # Statistics: a count below this is hidden (and enough others that it cannot be worked out); >= 3.
    "REPORTER_STATS_MIN_CELL": 5,
}

_KNOWN_WEAK_SECRETS = {"dev", "development", "secret", "change-me", "changeme", "test", "insecure"}
_INTEGER_SETTINGS = {
    "REPORTER_RETENTION_DAYS",
    "REPORTER_FOLLOWUP_IDLE_MINUTES",
    "REPORTER_FOLLOWUP_MAX_MINUTES",
    "REPORTER_MAX_REQUEST_BYTES",
    "REPORTER_MAX_FORM_BYTES",
    "REPORTER_ATTACHMENT_MAX_FILES",
    "REPORTER_ATTACHMENT_MAX_BYTES",
}
_INTEGER_SETTINGS |= {
    "REPORTER_ARGON2_MEMORY_KIB", "REPORTER_ARGON2_TIME_COST", "REPORTER_ARGON2_PARALLELISM",
    "REPORTER_ENROLMENT_HOURS", "REPORTER_STAFF_IDLE_MINUTES", "REPORTER_STAFF_MAX_HOURS",
    "REPORTER_STAFF_DEVICE_DAYS", "REPORTER_FOLLOWUP_SLOWDOWN_SECONDS", "REPORTER_TRUSTED_PROXIES",
    "REPORTER_NOTIFY_ATTEMPTS", "REPORTER_AUDIT_CHECKPOINT_EVERY", "REPORTER_AUDIT_HEAD_MAIL_HOURS",
    "REPORTER_STATS_MIN_CELL",
}
_BOOLEAN_SETTINGS = {"REPORTER_HTTPS", "REPORTER_ARGON2_TEST_FAST", "REPORTER_NOTIFY_THREAD"}
_BOOLEAN_SETTINGS |= {"REPORTER_ONION"}
#: OWASP's floor for argon2id: 19 MiB and 2 passes. Refused below it outside tests.
_ARGON2_FLOOR_KIB, _ARGON2_FLOOR_PASSES = 19456, 2


class ConfigError(RuntimeError):
    """The configuration is unsafe or incomplete; the message says what to do."""


def default_instance_path() -> str:
    """Return the instance folder: REPORTER_INSTANCE_PATH, else ./instance."""
    return os.path.abspath(os.environ.get("REPORTER_INSTANCE_PATH") or os.path.join(os.getcwd(), "instance"))


def _from_environment() -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in DEFAULTS:
        raw = os.environ.get(name)
        if raw is None:
            continue
        if name in _INTEGER_SETTINGS:
            values[name] = int(raw)
        elif name in _BOOLEAN_SETTINGS:
            values[name] = raw.strip().lower() in {"1", "true", "yes", "on"}
        else:
            values[name] = raw
    return values


def load(app: Flask, test_config: dict[str, Any] | None) -> None:
    """Fill app.config from every source, in order, and derive Flask's own settings."""
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.update(_from_environment())
    if test_config:
        app.config.update(test_config)
    cfg = app.config
    instance = Path(app.instance_path)
    if not cfg["REPORTER_DATABASE_URL"]:
        cfg["REPORTER_DATABASE_URL"] = f"sqlite:///{instance / 'reporter.db'}"
    if not cfg["REPORTER_KEYS_PATH"]:
        cfg["REPORTER_KEYS_PATH"] = str(instance / "keys")
    chosen = cfg["REPORTER_LANGUAGES"] or ",".join(languages.available())
    if isinstance(chosen, str):
        chosen = tuple(code.strip() for code in chosen.split(",") if code.strip())
    unknown = [code for code in chosen if code not in languages.available()]
    if unknown or not chosen:
        raise ConfigError(f"REPORTER_LANGUAGES names languages without a catalogue: {', '.join(unknown)}; "
                          f"available: {', '.join(languages.available())}")
    cfg["REPORTER_LANGUAGES"] = tuple(chosen)
    cfg["REPORTER_DEADLINE_HOURS"] = deadline_hours(cfg["REPORTER_DEADLINE_HOURS"])
    if int(cfg["REPORTER_RETENTION_DAYS"]) < 1:  # 0 would purge a case the moment it is closed
        raise ConfigError("REPORTER_RETENTION_DAYS must be at least 1")
    if int(cfg["REPORTER_STATS_MIN_CELL"]) < 3:  # 1 or 2 would publish counts that point at a person
        raise ConfigError("REPORTER_STATS_MIN_CELL must be at least 3 (5 is the default and usual practice)")
    if not cfg["REPORTER_MAX_REQUEST_BYTES"]:
        files = cfg["REPORTER_ATTACHMENT_MAX_FILES"] * cfg["REPORTER_ATTACHMENT_MAX_BYTES"]
        cfg["REPORTER_MAX_REQUEST_BYTES"] = files + cfg["REPORTER_MAX_FORM_BYTES"]
    # Only the routes that take files accept a body this large (reporter.web.formdata).
    cfg["MAX_CONTENT_LENGTH"] = cfg["REPORTER_MAX_REQUEST_BYTES"]
    cfg["MAX_FORM_MEMORY_SIZE"] = min(cfg["REPORTER_MAX_FORM_BYTES"], cfg["REPORTER_MAX_REQUEST_BYTES"])
    cfg["MAX_FORM_PARTS"] = 200
    cfg["BABEL_TRANSLATION_DIRECTORIES"] = str(Path(__file__).parent / "translations")
    cfg["BABEL_DEFAULT_LOCALE"] = "en"
    cfg["WTF_CSRF_TIME_LIMIT"] = 4 * 3600  # a long report may take a while to write
    # Referer checking cannot work: every page sends Referrer-Policy: no-referrer. Cross-site posts
    # are refused by reporter.web.security from Origin and Sec-Fetch-Site instead.
    cfg["WTF_CSRF_SSL_STRICT"] = False
    cfg["SESSION_COOKIE_HTTPONLY"] = True
    cfg["SESSION_COOKIE_SAMESITE"] = "Strict"
    cfg["SESSION_COOKIE_SECURE"] = bool(cfg["REPORTER_HTTPS"])
    cfg["SESSION_COOKIE_NAME"] = "__Host-session" if cfg["REPORTER_HTTPS"] else "session"
    cfg["SESSION_COOKIE_PATH"] = "/"
    cfg["SESSION_REFRESH_EACH_REQUEST"] = False
    cfg["PREFERRED_URL_SCHEME"] = "https" if cfg["REPORTER_HTTPS"] else "http"
    cfg["RATELIMIT_STORAGE_URI"] = cfg["REPORTER_REDIS_URL"] or "memory://"
    cfg["RATELIMIT_HEADERS_ENABLED"] = False
    if int(cfg["REPORTER_TRUSTED_PROXIES"]) < 0:
        raise ConfigError("REPORTER_TRUSTED_PROXIES is the number of proxies in front of the app (0 or more)")
    cfg["TRUSTED_HOSTS"] = cfg.get("TRUSTED_HOSTS") or trusted_hosts(cfg["REPORTER_BASE_URL"])
    check_head_log(cfg["REPORTER_AUDIT_HEAD_LOG"], instance)
    for name in ("REPORTER_SUBMIT_LIMIT", "REPORTER_SUBMIT_GLOBAL_LIMIT", "REPORTER_SUBMIT_FLOOD_LIMIT"):
        try:
            parse_limit(str(cfg[name]))
        except ValueError:
            raise ConfigError(f"{name} must look like '300 per hour'") from None
    cfg["REPORTER_NOTIFY_DELAY_MINUTES"] = notify_delay(cfg["REPORTER_NOTIFY_DELAY_MINUTES"])
    try:
        instance_files.check(instance, keys=Path(cfg["REPORTER_KEYS_PATH"]),
                             database_url=cfg["REPORTER_DATABASE_URL"])
    except instance_files.UnsafeFiles as unsafe:
        raise ConfigError(str(unsafe)) from None


def trusted_hosts(base_url: str | None) -> list[str] | None:
    """Return the host a request may name: the one of REPORTER_BASE_URL (None: any, for development)."""
    if not base_url:
        return None
    host = urlsplit(base_url).hostname
    if not host:
        raise ConfigError("REPORTER_BASE_URL must be a whole address, such as https://reports.example.org")
    return [host]


RISK_LEVELS = ("unknown", "low", "medium", "high", "critical")


def deadline_hours(value: str | dict[str, int]) -> dict[str, int]:
    """Parse "critical=2,high=24,..." into hours per risk level; every level must be given, > 0."""
    if isinstance(value, dict):
        hours = {str(k): int(v) for k, v in value.items()}
    else:
        pairs = (part.partition("=") for part in value.split(","))
        hours = {level.strip(): int(number) for level, _, number in pairs}
    if set(hours) != set(RISK_LEVELS) or min(hours.values()) <= 0:
        raise ConfigError("REPORTER_DEADLINE_HOURS must give hours > 0 for " + ", ".join(RISK_LEVELS))
    return hours


def notify_delay(value: str | tuple[int, int]) -> tuple[int, int]:
    """Parse REPORTER_NOTIFY_DELAY_MINUTES ("5-15": from 5 to 15 minutes; "0": at once)."""
    if isinstance(value, (tuple, list)):
        value = "-".join(str(part) for part in value)
    low, _, high = str(value).partition("-")
    try:
        window = int(low), int(high or low)
    except ValueError:
        raise ConfigError("REPORTER_NOTIFY_DELAY_MINUTES must look like 5-15 (minutes)") from None
    if window[0] < 0 or window[1] < window[0]:
        raise ConfigError("REPORTER_NOTIFY_DELAY_MINUTES must look like 5-15 (minutes)")
    return window


def check_head_log(target: str | None, instance: Path) -> None:
    """Refuse an audit head log inside the instance folder: heads are kept there to be away from it."""
    if not target or target == "syslog:":
        return
    path = Path(target).resolve()
    if path.is_relative_to(instance.resolve()):
        raise ConfigError("REPORTER_AUDIT_HEAD_LOG must be outside the instance folder (or syslog:): "
                          "the heads it keeps are proof against changes to what is inside it")


def check_secret(secret: str | bytes | None, *, testing: bool) -> None:
    """Refuse a missing or well-known secret key outside tests."""
    if testing:
        return
    if not secret:
        raise ConfigError("no secret key: run `reporter init` or set REPORTER_SECRET_KEY")
    text = secret.decode(errors="replace") if isinstance(secret, bytes) else secret
    if text.strip().lower() in _KNOWN_WEAK_SECRETS or len(text) < 32:
        raise ConfigError("the secret key is a development value or too short (32+ characters needed)")
    if instance_files.weak_secret(text):
        raise ConfigError("the secret key repeats a few characters or a pattern: use a random one, "
                          "as `reporter init` makes (secrets.token_urlsafe(48))")


def use_secret_fallbacks(app: Flask, fallbacks: tuple[str, ...]) -> None:
    """Let cookies and CSRF tokens signed with retired secret keys (oldest first) verify while they drain.

    Flask reads SECRET_KEY_FALLBACKS for its session cookie. Flask-WTF signs CSRF tokens with one key;
    given the list (oldest first, current last) itsdangerous signs with the current key and accepts
    any, so a form opened before a rotation still posts.
    """
    if not fallbacks:
        return
    app.config["SECRET_KEY_FALLBACKS"] = list(fallbacks)
    if not app.config.get("WTF_CSRF_SECRET_KEY"):
        app.config["WTF_CSRF_SECRET_KEY"] = [*fallbacks, app.secret_key]


def check_workers(workers: int, storage_uri: str) -> None:
    """Refuse several server processes that would each keep rate limits in their own memory."""
    if workers > 1 and storage_uri.startswith("memory://"):
        raise ConfigError(
            f"{workers} workers with rate limits kept in memory: each would count alone, so every limit "
            f"would be {workers} times looser. Set REPORTER_REDIS_URL (for example "
            "redis://127.0.0.1:6379/0), or run one worker (-w 1).")


def check_password_cost(cfg: Any) -> None:
    """Refuse the test-only fast KDF outside tests, and an argon2id cost below OWASP's floor."""
    if cfg.get("TESTING"):
        return
    if cfg.get("REPORTER_ARGON2_TEST_FAST"):
        raise ConfigError("REPORTER_ARGON2_TEST_FAST is for the test suite only; remove it")
    if (cfg["REPORTER_ARGON2_MEMORY_KIB"] < _ARGON2_FLOOR_KIB
            or cfg["REPORTER_ARGON2_TIME_COST"] < _ARGON2_FLOOR_PASSES):
        raise ConfigError("the argon2id cost is below 19 MiB and 2 passes; raise REPORTER_ARGON2_*")
