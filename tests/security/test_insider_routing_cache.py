"""An insider who can write to the database, but holds no instance key, against the routing state each
process keeps (reporter.cases.verified_routing), with raw SQL.

Only records that verified are kept, and whatever is read after a change is verified again: forging a
focal point and a rule gains nothing, whether the directory version is moved or written back.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from reporter.crypto import seals
from reporter.extensions import db
from reporter.models.base import new_id, utcnow
from tests import casework
from tests.casework import add_rule, holders_of, submit


def _forge(connection: Any, country: str) -> str:
    """Insert an active focal point with the insider's key and a more specific rule naming them."""
    accomplice, rule_id = new_id(), new_id()
    pair = seals.generate_keypair()
    connection.execute(text(
        "INSERT INTO staff_members (id, email, role, region, state, invited_at, public_key, key_suite, "
        "last_totp_step, record_mac) VALUES (:id, :email, 'focal_point', :country, 'active', :now, :key, "
        ":suite, 0, :mac)"),
        {"id": accomplice, "email": f"{accomplice}@example.org", "country": country, "now": utcnow(),
         "key": pair.public, "suite": pair.suite, "mac": b"\x00" * 40})
    connection.execute(text("INSERT INTO routing_rules (id, country, category, language, created_at, "
                            "record_mac) VALUES (:id, :country, 'threat', '*', :now, :mac)"),
                       {"id": rule_id, "country": country, "now": utcnow(), "mac": b"\x00" * 40})
    connection.execute(text("INSERT INTO routing_rule_members (rule_id, staff_id) VALUES (:rule, :staff)"),
                       {"rule": rule_id, "staff": accomplice})
    return accomplice


def forge(app: Any, *, keep_version: bool) -> str:
    """Forge a focal point and their rule in one transaction; write the old version back if asked."""
    with app.app_context():
        assert db.engine is not None
        with db.engine.begin() as connection:
            version = connection.execute(text("SELECT token FROM directory_version")).scalar_one()
            accomplice = _forge(connection, "GE")
            if keep_version:
                connection.execute(text("UPDATE directory_version SET token = :token"), {"token": version})
    return accomplice


def test_a_forged_focal_point_behind_an_unchanged_version_gets_the_old_verified_routing(
        app, reporter, make_staff, staff_directory):
    named = make_staff()
    add_rule(app, "GE", [named])
    submit(reporter, category="threat")  # the routing of GE threat reports is now kept in this process
    forge(app, keep_version=True)

    _, report_id = submit(reporter, category="threat")

    assert holders_of(app, report_id) == {named.id, staff_directory.coordinator.id}
    assert casework.events(app, "directory.integrity_failure") == []  # nothing was read again


def test_a_forged_focal_point_behind_a_new_version_is_read_verified_and_refused(
        app, reporter, make_staff, staff_directory):
    named = make_staff()
    add_rule(app, "GE", [named])
    submit(reporter, category="threat")
    accomplice = forge(app, keep_version=False)

    _, report_id = submit(reporter, category="threat")

    assert holders_of(app, report_id) == {named.id, staff_directory.coordinator.id}
    failures = casework.events(app, "directory.integrity_failure")
    assert {e.object_type for e in failures} == {"routing_rule"}
    assert accomplice not in holders_of(app, report_id)


def test_the_database_triggers_move_the_version_on_a_raw_edit(app, make_staff):
    person = make_staff()
    with app.app_context():
        assert db.engine is not None
        with db.engine.begin() as connection:
            before = connection.execute(text("SELECT token FROM directory_version")).scalar_one()
            connection.execute(text("UPDATE staff_members SET state = 'active' WHERE id = :id"),
                               {"id": person.id})
            after = connection.execute(text("SELECT token FROM directory_version")).scalar_one()
            connection.execute(text("UPDATE staff_members SET last_totp_step = last_totp_step + 1"))
            unrelated = connection.execute(text("SELECT token FROM directory_version")).scalar_one()
    assert after != before and unrelated == after


@pytest.mark.parametrize("keep_version", [True, False])
def test_a_forged_focal_point_is_never_offered_for_referral(app, reporter, make_staff, login, keep_version,
                                                            caplog):
    named = make_staff()
    add_rule(app, "GE", [named])
    _, report_id = submit(reporter, category="threat")
    browser = app.test_client()
    assert login(browser, named).status_code == 302
    assert browser.get(f"/staff/cases/{report_id}").status_code == 200  # the candidates are now kept
    accomplice = forge(app, keep_version=keep_version)

    caplog.clear()
    page = browser.get(f"/staff/cases/{report_id}").get_data(as_text=True)

    assert f'value="{accomplice}"' not in page and "Refer" in page
    # Behind the old version the second view uses what the first verified: the forged row is not even read.
    refused = [r.getMessage() for r in caplog.records if "does not verify" in r.getMessage()]
    assert refused == ([] if keep_version else [f"directory record does not verify: staff {accomplice}"])
