"""Upgrading an installation from before directory MACs: what is there is signed and then verifies."""

from __future__ import annotations

import secrets
from datetime import datetime

import pytest
from alembic import command
from sqlalchemy import text
from sqlalchemy.orm import Session

from reporter import directory, migrate
from reporter.cases import entry_chain
from reporter.crypto.records import RecordKeys
from reporter.database import RECORD_KEYS_INFO_KEY, make_engine
from reporter.models import CaseEntry, Report, RoutingRule, StaffMember
from tests.migrations.test_schema import empty_database  # noqa: F401 - the fixture

NOW = datetime(2026, 11, 30, 12, 0)


def _before_the_upgrade(url: str) -> None:
    """Migrate to 0007 and store a person, a rule naming them, a report and two entries, as 0007 did."""
    engine = make_engine(url)
    config = migrate.alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0007")
    with engine.begin() as connection:
        run = connection.execute
        run(text("INSERT INTO staff_members (id, email, role, region, state, invited_at, vetting, "
                 "public_key, key_suite, last_totp_step) VALUES ('p1', 'fp@example.org', 'focal_point', "
                 "'GE', 'active', :now, 'approve', :key, 'suite', 0)"),
            {"now": NOW, "key": secrets.token_bytes(32)})
        run(text("INSERT INTO routing_rules (id, country, category, language, created_at) "
                 "VALUES ('r1', 'GE', '*', '*', :now)"), {"now": NOW})
        run(text("INSERT INTO routing_rule_members (rule_id, staff_id) VALUES ('r1', 'p1')"))
        run(text("INSERT INTO reports (id, receipt_lookup, created_hour, country, incident_kind, category, "
                 "language, status, risk, key_version, needs_routing, version, description_ct, "
                 "perpetrator_ct, contact_ct, occurred_on_ct, submitted_at_ct) VALUES ('c1', 'lookup', :now, "
                 "'GE', 'online', 'doxxing', 'en', 'new', 'unknown', 1, false, 1, 'x', 'x', 'x', 'x', 'x')"),
            {"now": NOW})
        for number, kind in ((1, "note"), (2, "staff_message")):
            run(text("INSERT INTO case_entries (id, report_id, kind, author_id, created_at, key_version, "
                     "body_ct) VALUES (:id, 'c1', :kind, 'p1', :at, 1, :body)"),
                {"id": f"e{number}", "kind": kind, "at": NOW.replace(minute=number), "body": b"sealed"})
    engine.dispose()


def test_the_upgrade_signs_what_is_there_and_it_then_verifies(empty_database):  # noqa: F811
    _before_the_upgrade(empty_database)
    keys = RecordKeys(secrets.token_bytes(32))
    engine = make_engine(empty_database)
    migrate.upgrade(engine, record_keys=keys)
    with Session(engine, info={RECORD_KEYS_INFO_KEY: keys}) as session:
        person = session.get(StaffMember, "p1")
        rule = session.get(RoutingRule, "r1")
        assert person is not None and rule is not None
        assert directory.person_verifies(session, person) and directory.rule_verifies(session, rule)
        report = session.get(Report, "c1")
        assert report is not None
        entries = list(session.scalars(text("SELECT id FROM case_entries ORDER BY seq")))
        assert entries == ["e1", "e2"]
        stored = [session.get(CaseEntry, entry_id) for entry_id in entries]
        assert all(entry is not None and entry.format == 1 for entry in stored)
        entry_chain.check(keys, "c1", report.entries_mac, stored)  # type: ignore[arg-type]
    engine.dispose()


def test_the_upgrade_refuses_to_run_without_the_directory_key_when_there_is_something_to_sign(
        empty_database):  # noqa: F811
    _before_the_upgrade(empty_database)
    engine = make_engine(empty_database)
    with pytest.raises(RuntimeError, match="reporter init"):
        migrate.upgrade(engine)
    engine.dispose()
