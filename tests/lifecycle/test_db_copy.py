"""`reporter db copy`: an installation moves to another database and back, audit chain included."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text

from reporter.models import AuditEvent
from tests.conftest import TEST_DATABASE_URL
from tests.lifecycle.installation import app_for, check_working, fresh_postgresql, populate


def copy_to(app: Any, url: str) -> Any:
    """Run `reporter db copy --to URL` for an app's installation."""
    return app.test_cli_runner().invoke(args=["db", "copy", "--to", url])


def test_an_installation_moves_to_another_database_and_back(app, reporter, make_staff, tmp_path, monkeypatch):
    installation = populate(app, reporter, make_staff)
    instance = Path(app.instance_path)
    # With PostgreSQL: PostgreSQL -> SQLite -> PostgreSQL (a database of its own); else SQLite twice.
    there = f"sqlite:///{tmp_path / 'moved.db'}"
    back = f"sqlite:///{tmp_path / 'back.db'}"
    if TEST_DATABASE_URL:
        back = fresh_postgresql(TEST_DATABASE_URL, "copy")

    result = copy_to(app, there)
    assert result.exit_code == 0, result.output
    assert "copying rows" in result.output and "the audit chain verifies on the target" in result.output
    moved = app_for(instance, there, monkeypatch)
    check_working(moved, installation)

    result = copy_to(moved, back)
    assert result.exit_code == 0, result.output
    home = app_for(instance, back, monkeypatch)
    check_working(home, installation)
    with home.app_context():
        from reporter.extensions import db

        copies = db.session.scalar(select(func.count()).select_from(AuditEvent)
                                   .where(AuditEvent.action == "database.copied"))
        assert copies == 2
        # The sequence of an integer id moved past the copied rows: a new seal row can be added.
        assert db.session.execute(text("SELECT max(id) FROM seals")).scalar()


def test_db_copy_refuses_a_target_that_is_not_empty(app, reporter, make_staff, tmp_path):
    populate(app, reporter, make_staff)
    result = copy_to(app, app.config["REPORTER_DATABASE_URL"])
    assert result.exit_code == 1 and "is not empty" in result.output
    assert "Traceback" not in result.output


def test_db_copy_refuses_a_url_it_cannot_use(app):
    result = copy_to(app, "nonsense")
    assert result.exit_code == 1 and "not a database URL" in result.output
