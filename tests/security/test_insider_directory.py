"""An insider who can write to the database, but holds no instance key, performs each attack with raw SQL.

The staff directory, routing rules, sessions and case entries are authenticated by the instance
directory key (reporter.directory): a row the application did not write is never used, and the
failure is in the audit log.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from reporter import escrow
from reporter.cases import entries
from reporter.cli import main
from reporter.crypto import CiphertextInvalid, aead, seals
from reporter.extensions import db
from reporter.keyring import read_escrow_private_key
from reporter.models import Seal, StaffMember, UnlockedSession
from reporter.models.base import new_id, utcnow
from reporter.staff import offboarding
from reporter.staff.lifecycle import StaffError
from reporter.vault import open_public_key_seal
from tests import casework
from tests.casework import add_rule, holders_of, submit
from tests.conftest import csrf_token_of
from tests.security.test_insider_audit import console_environment

COOKIE = "__Host-session"


def raw(app: Any, statement: str, **params: Any) -> None:
    """Run one statement on the database directly, as someone holding only the database would."""
    with app.app_context():
        assert db.engine is not None
        with db.engine.begin() as connection:
            connection.execute(text(statement), params)


def integrity_events(app: Any, object_id: str) -> list[Any]:
    return casework.events(app, "directory.integrity_failure", object_id)


# 1. Key substitution ----------------------------------------------------------------------------

def test_a_substituted_public_key_receives_no_seal(app, reporter, make_staff):
    focal_point = make_staff()
    add_rule(app, "GE", [focal_point])
    attacker = seals.generate_keypair()
    raw(app, "UPDATE staff_members SET public_key = :key, key_suite = :suite WHERE id = :id",
        key=attacker.public, suite=attacker.suite, id=focal_point.id)

    _, report_id = submit(reporter, description="The address of the shelter is in this report.")

    assert focal_point.id not in holders_of(app, report_id)
    with casework.writing(app) as session:
        for seal in session.scalars(select(Seal).where(Seal.report_id == report_id,
                                                       Seal.recipient_kind == "staff")):
            with pytest.raises(CiphertextInvalid):
                open_public_key_seal(seal, attacker.private)
    assert integrity_events(app, focal_point.id)


def test_recovery_shows_the_fingerprint_and_refuses_a_substituted_key(app, make_staff,
                                                                       escrow_private_key_path):
    focal_point = make_staff()
    attacker = seals.generate_keypair()
    raw(app, "UPDATE staff_members SET public_key = :key WHERE id = :id", key=attacker.public,
        id=focal_point.id)
    with casework.writing(app) as session:
        found = escrow.target(session, focal_point.email)
        assert not found.verified and len(found.fingerprint.replace(" ", "")) == 32
        with pytest.raises(escrow.RecordUnverified):
            escrow.recover(session, keyring=app.extensions["reporter.keyring"],
                           escrow_key=read_escrow_private_key(escrow_private_key_path),
                           email=focal_point.email)
    result = CliRunner().invoke(main, ["keys", "recover", "--escrow-key", str(escrow_private_key_path),
                                       "--user", focal_point.email], env=console_environment(app))
    assert result.exit_code != 0
    assert "fingerprint" in result.output and "DOES NOT VERIFY" in result.output


# 2. Privilege by row edit -----------------------------------------------------------------------

def test_a_raised_role_gets_no_case_and_the_live_session_ends(app, client, reporter, make_staff, login):
    auditor = make_staff(role="auditor")
    login(client, auditor)
    assert client.get("/audit").status_code == 200
    raw(app, "UPDATE staff_members SET role = 'coordinator', region = 'GE' WHERE id = :id", id=auditor.id)

    _, report_id = submit(reporter)

    assert auditor.id not in holders_of(app, report_id)
    assert client.get("/staff/cases").status_code == 302  # back to the login page: the session ended
    assert client.get("/audit").status_code == 302
    assert integrity_events(app, auditor.id)


def test_a_state_edit_does_not_bring_back_an_offboarded_person(app, reporter, make_staff, staff_directory):
    gone = make_staff()
    add_rule(app, "GE", [gone])
    staff_directory.deactivate(gone)
    raw(app, "UPDATE staff_members SET state = 'active' WHERE id = :id", id=gone.id)
    _, report_id = submit(reporter)
    assert gone.id not in holders_of(app, report_id)


# 3. Routing by row insert -----------------------------------------------------------------------

def test_an_inserted_rule_routes_nothing(app, reporter, make_staff):
    accomplice = make_staff()  # a real, active focal point of the country, whom no rule names
    rule_id = new_id()
    raw(app, "INSERT INTO routing_rules (id, country, category, language, created_at) "
             "VALUES (:id, 'GE', '*', '*', :now)", id=rule_id, now=utcnow())
    raw(app, "INSERT INTO routing_rule_members (rule_id, staff_id) VALUES (:rule, :staff)",
        rule=rule_id, staff=accomplice.id)

    _, report_id = submit(reporter)

    assert accomplice.id not in holders_of(app, report_id)
    assert integrity_events(app, rule_id)


def test_a_member_added_to_a_real_rule_makes_the_rule_unusable(app, reporter, make_staff, staff_directory):
    member, accomplice = make_staff(), make_staff()
    rule_id = add_rule(app, "GE", [member])
    raw(app, "INSERT INTO routing_rule_members (rule_id, staff_id) VALUES (:rule, :staff)",
        rule=rule_id, staff=accomplice.id)
    _, report_id = submit(reporter)
    assert holders_of(app, report_id) == {staff_directory.coordinator.id}  # as if the rule did not exist
    assert integrity_events(app, rule_id)


# 4. Session forgery ------------------------------------------------------------------------------

def _ticket(app: Any, client: Any, side: str) -> tuple[str, bytes]:
    data = app.session_interface.get_signing_serializer(app).loads(client.get_cookie(COOKIE).value)
    return data[side]["t"], base64.b64decode(data[side]["k"])


def test_a_session_row_rewritten_to_another_person_is_refused(app, client, make_staff, login,
                                                              staff_directory):
    insider = make_staff()
    login(client, insider)
    token, cookie_key = _ticket(app, client, "staff")
    admin = staff_directory.admin
    my_key = casework.private_key_of(app, insider)
    with casework.writing(app) as session:
        record = session.scalars(select(UnlockedSession).where(UnlockedSession.subject_id == insider.id,
                                                               UnlockedSession.kind == "staff")).one()
        record_id = record.id
    forged = aead.encrypt_field(cookie_key, my_key, table="unlocked_sessions", column="wrapped_secret",
                                row_id=f"{record_id}:staff:{admin.id}")
    raw(app, "UPDATE unlocked_sessions SET subject_id = :admin, role = 'admin', wrapped_secret = :ct "
             "WHERE id = :id", admin=admin.id, ct=forged, id=record_id)

    assert client.get("/staff/users").status_code == 302
    assert casework.events(app, "staff.offboarding_requested") == []
    events = casework.events(app, "directory.integrity_failure")
    assert [(e.object_type, e.object_id) for e in events] == [("session", admin.id)]
    with casework.writing(app) as session:  # the forged record is gone
        assert session.get(UnlockedSession, record_id) is None


def test_a_reporter_session_given_a_longer_life_is_refused(app, client, reporter, make_report):
    receipt = make_report()
    assert reporter.follow_up(receipt).status_code == 302
    assert client.get("/followup/case").status_code == 200
    raw(app, "UPDATE unlocked_sessions SET expires_at = :later", later=utcnow() + timedelta(days=30))
    response = client.get("/followup/case")
    assert response.status_code == 302 and response.headers["Location"].endswith("/followup")


# 6. Case entries ----------------------------------------------------------------------------------

@pytest.fixture
def case_with_thread(app, client, reporter, make_staff, login):
    """A case with a staff message, the reporter's reply and a note; its holder logged in."""
    focal_point = make_staff()
    add_rule(app, "GE", [focal_point])
    receipt, report_id = submit(reporter)
    key = casework.private_key_of(app, focal_point)
    with casework.writing(app) as session:
        entries.send_message(session, report_id, person=session.get(StaffMember, focal_point.id),
                             private_key=key, body="Are you safe now?", now=utcnow())
    assert reporter.follow_up(receipt).status_code == 302
    token = csrf_token_of(client.get("/followup/case").get_data(as_text=True))
    assert client.post("/followup/case/message", data={"body": "He followed me home.", "csrf_token": token}
                       ).status_code in (200, 302, 303)
    with casework.writing(app) as session:
        entries.add_note(session, report_id, person=session.get(StaffMember, focal_point.id), private_key=key,
                         body="Call her tomorrow.", now=utcnow())
    staff = app.test_client()
    login(staff, focal_point)
    assert staff.get(f"/staff/cases/{report_id}").status_code == 200
    return report_id, staff


@pytest.mark.parametrize("attack", [
    "DELETE FROM case_entries WHERE kind = 'reporter_message'",
    "UPDATE case_entries SET author_id = NULL WHERE kind = 'note'",
    "UPDATE case_entries SET created_at = '2020-01-01 00:00:00.000000' WHERE kind = 'note'",
    "UPDATE case_entries SET seq = 5 WHERE kind = 'staff_message'",
    "UPDATE reports SET entries_mac = NULL",
])
def test_a_changed_entry_is_detected_when_the_case_is_opened(app, case_with_thread, attack):
    report_id, staff = case_with_thread
    raw(app, attack)
    page = staff.get(f"/staff/cases/{report_id}")
    assert page.status_code == 500
    body = page.get_data(as_text=True)
    assert "He followed me home." not in body and "Call her tomorrow." not in body
    failures = casework.events(app, "case.integrity_failure", report_id)
    assert failures and failures[-1].detail == '{"part":"entries"}'


# 7. One admin cannot orphan a region ---------------------------------------------------------------

def test_one_admin_alone_cannot_empty_a_region_and_no_case_is_orphaned(app, reporter, make_staff,
                                                                        staff_directory):
    georgian = staff_directory.coordinator
    leaving, successor = make_staff(), make_staff()
    rule_id = add_rule(app, "GE", [leaving])
    cases = [submit(reporter)[1] for _ in range(6)]
    outsider = make_staff(role="coordinator", region="AM")  # another region's coordinator
    with casework.writing(app) as session:
        admin = session.get(StaffMember, staff_directory.admin.id)
        for person in (leaving, georgian):
            try:
                offboarding.request_offboarding(person.id, session=session, admin=admin, now=utcnow())
            except StaffError as refused:
                assert person is georgian and refused.reason == "last_coordinator"
    # The admin alone changed nothing.
    assert all(holders_of(app, case) == {leaving.id, georgian.id} for case in cases)

    with pytest.raises(StaffError) as refused:
        staff_directory.deactivate(georgian, by=outsider)
    assert refused.value.reason == "last_coordinator"

    casework.add_member(app, rule_id, successor)
    done = staff_directory.confirm(leaving, by=georgian)
    assert sorted(done.resealed) == sorted(cases) and not done.flagged
    for case in cases:  # sealed to whom routing chooses now, before the leaving person's seals went
        assert holders_of(app, case) == {georgian.id, successor.id}
    _, new_case = submit(reporter)
    assert holders_of(app, new_case) == {georgian.id, successor.id}  # never the other region's coordinator
    assert outsider.id not in holders_of(app, new_case)


def test_the_reporter_sees_the_integrity_error_when_a_message_was_deleted(app, case_with_thread, client):
    report_id, _ = case_with_thread
    raw(app, "DELETE FROM case_entries WHERE kind = 'staff_message'")
    response = client.get("/followup/case")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "He followed me home." not in body and "Traceback" not in body
    failures = casework.events(app, "case.integrity_failure", report_id)
    assert failures[-1].actor_role == "reporter" and failures[-1].detail == '{"part":"entries"}'


def test_a_person_whose_record_was_changed_cannot_log_in(app, client, make_staff, login):
    person = make_staff()
    raw(app, "UPDATE staff_members SET region = 'AM' WHERE id = :id", id=person.id)
    response = login(client, person)
    assert response.status_code == 401
    assert client.get("/staff/").status_code == 302
    failed = casework.events(app, "staff.login.failed", person.id)
    assert failed and failed[-1].detail == '{"step":"record"}'
