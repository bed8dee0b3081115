"""Migrations build exactly the schema the models declare; `reporter init` is safe to run again."""

from __future__ import annotations

import os
import re
import secrets
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from click.testing import CliRunner, Result
from sqlalchemy import Engine, create_engine, inspect, text

from reporter import migrate
from reporter.audit import chain
from reporter.cli import main
from reporter.database import make_engine
from reporter.extensions import db
from reporter.keyring import ESCROW_PRIVATE_FILE
from reporter.models import Base
from reporter.resources import migrations_folder
from tests.conftest import TEST_DATABASE_URL

KEY_FILES = ["secret_key", "receipt_lookup.key", "audit_signing.key", "escrow.pub"]


@pytest.fixture
def empty_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """Return the URL of an empty database: a new SQLite file, or a new PostgreSQL schema."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    assert TEST_DATABASE_URL
    schema = f"schema_check_{secrets.token_hex(4)}"
    admin = create_engine(TEST_DATABASE_URL)
    with admin.begin() as connection:
        connection.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{TEST_DATABASE_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def engine_for(empty_database: str) -> Iterator[Callable[[], Engine]]:
    engines: list[Engine] = []

    def make() -> Engine:
        engines.append(make_engine(empty_database))
        return engines[-1]

    yield make
    for engine in engines:
        engine.dispose()


def schema_differences(engine: Engine) -> list[object]:
    """Return what Alembic autogenerate would change to make the database match the models."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


HEAD = ScriptDirectory(migrations_folder()).get_current_head()


def test_upgrade_head_on_an_empty_database_yields_the_models_schema(engine_for):
    engine = engine_for()
    migrate.upgrade(engine)
    assert schema_differences(engine) == []
    assert current_revision(engine) == HEAD
    tables = set(inspect(engine).get_table_names())
    assert tables == set(Base.metadata.tables) | {"alembic_version"}
    with engine.connect() as connection:
        head = connection.execute(text("SELECT id, seq, hash FROM audit_head")).all()
    assert [tuple(row) for row in head] == [(1, 0, chain.GENESIS_HASH)]


def test_downgrade_to_base_and_upgrade_again_gives_the_same_schema(engine_for):
    engine = engine_for()
    migrate.upgrade(engine)
    config = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)
    assert schema_differences(engine) == []


def test_migrations_form_one_line_of_date_prefixed_revisions():
    scripts = ScriptDirectory(migrations_folder())
    assert len(scripts.get_heads()) == 1
    names = [p.name for p in (Path(migrations_folder()) / "versions").glob("*.py")]
    assert names and all(re.fullmatch(r"\d{8}_\d{4}_[a-z0-9_]+\.py", name) for name in names)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def run_init(tmp_path: Path, backend: str, empty_database: str) -> Iterator[Callable[[], Result]]:
    """Return a function running `reporter init` for a new instance folder, under umask 000."""
    instance = tmp_path / "new-instance"
    environment = {"REPORTER_INSTANCE_PATH": str(instance),
                   "REPORTER_DATABASE_URL": empty_database if backend == "postgresql" else None}
    for name in ("REPORTER_KEYS_PATH", "REPORTER_SECRET_KEY", "REPORTER_RECEIPT_KEY", "REPORTER_AUDIT_KEY",
                 "REPORTER_ESCROW_PUBLIC_KEY", "REPORTER_HTTPS"):
        environment[name] = None

    def run() -> Result:
        previous = os.umask(0)
        try:
            result = CliRunner().invoke(main, ["init"], env=environment, catch_exceptions=False)
        finally:
            os.umask(previous)
        assert result.exit_code == 0, result.output
        return result

    yield run
    if db.engine is not None:
        db.engine.dispose()


def test_init_creates_private_keys_and_a_migrated_database(tmp_path, backend, run_init, empty_database):
    result = run_init()
    instance = tmp_path / "new-instance"
    keys = instance / "keys"
    assert _mode(instance) == 0o700 and _mode(keys) == 0o700
    for name in KEY_FILES:
        assert _mode(keys / name) == 0o600, name
        assert f"created {keys / name}" in result.output
    escrow_private = instance / ESCROW_PRIVATE_FILE
    assert _mode(escrow_private) == 0o600
    assert "Move it to offline storage" in result.output
    database = empty_database if backend == "postgresql" else f"sqlite:///{instance / 'reporter.db'}"
    engine = make_engine(database)
    try:
        assert current_revision(engine) == HEAD
        assert schema_differences(engine) == []
    finally:
        engine.dispose()


def test_init_twice_is_safe_and_never_overwrites_keys_or_config(tmp_path, run_init):
    run_init()
    instance = tmp_path / "new-instance"
    config = instance / "config.py"
    config.write_text(config.read_text() + 'REPORTER_LANGUAGES = "ru,en"  # set by the operator\n')
    files = [*(instance / "keys" / name for name in KEY_FILES), instance / ESCROW_PRIVATE_FILE, config]
    before = {path: path.read_bytes() for path in files}
    second = run_init()
    assert "created" not in second.output
    assert "instance ready" in second.output
    assert {path: path.read_bytes() for path in files} == before
    assert all(_mode(path) == 0o600 for path in files if path != config)


def test_init_says_plainly_that_reports_are_refused_until_a_coordinator_is_enrolled(run_init):
    result = run_init()
    assert result.exit_code == 0
    assert "No coordinator is active yet" in result.output and "reporter users invite" in result.output
