"""Fixtures that build real things: an instance folder with real keys, a migrated database
(SQLite, or PostgreSQL when REPORTER_TEST_DATABASE_URL is set), the app, and a reporter who
submits through the real form with its CSRF token."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from sqlalchemy import create_engine, text

from reporter import create_app, migrate
from reporter.database import make_engine
from reporter.extensions import db as database
from reporter.extensions import limiter
from reporter.keyring import create_instance_keys
from reporter.models import Base
from tests.objectstore import seaweed  # noqa: F401 - the session-wide SeaweedFS server fixture
from tests.servers import mailbox  # noqa: F401 - an SMTP server on 127.0.0.1 for one test

TEST_DATABASE_URL = os.environ.get("REPORTER_TEST_DATABASE_URL") or None
CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')


class SharedTemplateCache(BytecodeCache):
    """Compiled templates shared by every app of the run: each test builds a new app, and compiling
    the templates again for each one would dominate the suite's run time."""

    def __init__(self) -> None:
        self._compiled: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self._compiled:
            bucket.bytecode_from_string(self._compiled[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._compiled[bucket.key] = bucket.bytecode_to_string()


TEMPLATE_CACHE = SharedTemplateCache()


class HttpsClient(FlaskClient):
    """A test client that speaks to the app as a browser would over HTTPS."""

    def open(self, *args: Any, **kwargs: Any) -> Any:  # noqa: D102 - same contract as FlaskClient.open
        kwargs.setdefault("base_url", "https://localhost")
        return super().open(*args, **kwargs)


def csrf_token_of(html: str) -> str:
    """Return the CSRF token embedded in a rendered form."""
    match = CSRF_PATTERN.search(html)
    assert match, "no csrf_token field in the page"
    return match.group(1)


@pytest.fixture(scope="session")
def backend() -> str:
    """Name the database backend this run tests against."""
    return "postgresql" if TEST_DATABASE_URL else "sqlite"


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> str | None:
    """Migrate a database once per run: a template SQLite file, or the PostgreSQL test database."""
    if TEST_DATABASE_URL:
        engine = create_engine(TEST_DATABASE_URL)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        engine = make_engine(TEST_DATABASE_URL)
        migrate.upgrade(engine)
        engine.dispose()
        return None
    path = tmp_path_factory.mktemp("template") / "reporter.db"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return str(path)


def _reset_postgresql(url: str) -> None:
    # DELETE rather than TRUNCATE: on tables this small it is many times faster, and it runs before
    # every test. The replica role switches off the append-only triggers and foreign-key checks.
    kept = ("audit_head", "directory_version")
    tables = [table.name for table in reversed(Base.metadata.sorted_tables) if table.name not in kept]
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("SET session_replication_role = replica"))
        for table in tables:
            connection.execute(text(f'DELETE FROM "{table}"'))  # noqa: S608 - names from the models
        sequences = text("SELECT sequencename FROM pg_sequences WHERE schemaname = current_schema()")
        for sequence in connection.execute(sequences).scalars().all():
            connection.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
        connection.execute(text("UPDATE audit_head SET seq = 0, hash = :genesis, checkpoint_at = NULL"),
                           {"genesis": "0" * 64})
        connection.execute(text("UPDATE directory_version SET token = md5(random()::text)"))
    engine.dispose()


@pytest.fixture
def instance_path(tmp_path: Path) -> Path:
    """Return a fresh instance folder with real keys."""
    path = tmp_path / "instance"
    path.mkdir()
    create_instance_keys(path / "keys", escrow_private_path=tmp_path / "escrow-private.key")
    return path


@pytest.fixture
def escrow_private_key_path(instance_path: Path) -> Path:
    """Return the offline escrow private key file made for this test's instance."""
    return instance_path.parent / "escrow-private.key"


@pytest.fixture
def database_url(instance_path: Path, migrated_template: str | None) -> str:
    """Return the URL of a migrated, empty database for one test."""
    if TEST_DATABASE_URL:
        _reset_postgresql(TEST_DATABASE_URL)
        return TEST_DATABASE_URL
    assert migrated_template is not None
    target = instance_path / "reporter.db"
    shutil.copyfile(migrated_template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def app_factory(instance_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Return a function that builds the app with extra settings; engines are disposed afterwards."""
    monkeypatch.setenv("REPORTER_INSTANCE_PATH", str(instance_path))
    apps: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        settings: dict[str, Any] = {
            "TESTING": True,
            "REPORTER_DATABASE_URL": database_url,
            "REPORTER_KEYS_PATH": str(instance_path / "keys"),
            "REPORTER_ARGON2_TEST_FAST": True,  # minimal argon2id cost; tests that need the real one say so
        }
        settings.update(overrides)
        app = create_app(settings)
        app.test_client_class = HttpsClient
        app.jinja_env.bytecode_cache = TEMPLATE_CACHE
        apps.append(app)
        return app

    yield build
    for app in apps:
        with app.app_context():
            limiter.reset()
    if database.engine is not None:
        database.engine.dispose()


@pytest.fixture
def app(app_factory: Any) -> Flask:
    """Return the app with its test defaults (HTTPS cookies, CSRF on, real rate limits)."""
    return app_factory()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Return a test client speaking HTTPS."""
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> Any:
    """Return a CLI runner for the app's commands."""
    return app.test_cli_runner()


VALID_REPORT = {
    "incident_kind": "online",
    "category": "doxxing",
    "country": "GE",
    "occurred_on": "2026-03-08",
    "description": "Someone published my home address in a Telegram channel.",
    "perpetrator": "An anonymous channel",
    "contact": "Signal +995 555 000 000",
    "consent": "y",
}


class Reporter:
    """A person using the public side through the real form, CSRF token included.

    Before the first submission the installation gets its bootstrap coordinator (through the real
    enrolment flow), because a report is only received when someone can read it.
    """

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self._needs_coordinator = True

    def token(self, path: str = "/report") -> str:
        """Return a fresh CSRF token from the page at `path`."""
        response = self.client.get(path)
        return csrf_token_of(response.get_data(as_text=True))

    def submit(self, **fields: Any) -> Any:
        """Post the report form with VALID_REPORT overridden by `fields` (None removes a field)."""
        if self._needs_coordinator:
            from tests.staffing import ensure_coordinator

            ensure_coordinator(self.client.application)
            self._needs_coordinator = False
        data = {**VALID_REPORT, **fields}
        data = {key: value for key, value in data.items() if value is not None}
        data.setdefault("csrf_token", self.token())
        return self.client.post("/report", data=data)

    def receipt_of(self, response: Any) -> str:
        """Return the receipt shown on a success page."""
        match = re.search(r'id="receipt"[^>]*>([^<]+)<', response.get_data(as_text=True))
        assert match, "no receipt on the page"
        return match.group(1).strip()

    def follow_up(self, receipt: str) -> Any:
        """Post a receipt to /followup."""
        return self.client.post("/followup", data={"receipt": receipt, "csrf_token": self.token("/followup")})


@pytest.fixture
def reporter(client: FlaskClient) -> Reporter:
    """Return a reporter driving the public pages of an installation that has a coordinator."""
    return Reporter(client)


@pytest.fixture
def make_report(reporter: Reporter) -> Any:
    """Return a factory that submits a report through the form and returns its receipt."""

    def make(**fields: Any) -> str:
        response = reporter.submit(**fields)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        return reporter.receipt_of(response)

    return make


@pytest.fixture
def staff_directory(app: Flask) -> Any:
    """Return the directory that makes real, enrolled and vetted staff for this test's app."""
    from tests.staffing import directory_of

    return directory_of(app)


@pytest.fixture
def make_staff(staff_directory: Any) -> Any:
    """Return a factory: make_staff(role=..., region=..., state=...) -> a person enrolled the real way."""
    return staff_directory.make


@pytest.fixture
def login() -> Any:
    """Return the helper that logs a person in through password and TOTP: login(client, person)."""
    from tests.staffing import login as log_in

    return log_in
