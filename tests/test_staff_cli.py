"""Console commands: `reporter users invite` (the bootstrap of the first admin) and the demo staff."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pyotp
from sqlalchemy import select

from reporter.extensions import db
from reporter.models import StaffMember


def test_first_admin_is_invited_from_the_console_and_approved_there(app, runner):
    result = runner.invoke(args=["users", "invite", "--email", "First@Example.org", "--role", "admin",
                                 "--base-url", "https://reports.example.org/"])
    assert result.exit_code == 0, result.output
    assert re.search(r"https://reports\.example\.org/staff/enroll/[\w-]{40,}", result.output)
    assert "approved from the console" in result.output
    with app.app_context():
        person = db.session.scalars(select(StaffMember)).one()
        assert (person.email, person.role, person.vetting, person.invited_by) == (
            "first@example.org", "admin", "approve", None)


def test_console_invitations_need_vetting_once_a_coordinator_is_active(runner, make_staff):
    make_staff(role="auditor")
    result = runner.invoke(args=["users", "invite", "--email", "fp@example.org", "--role", "focal_point",
                                 "--region", "AM"])
    assert result.exit_code == 0 and "must vet this person" in result.output


def test_invalid_invitation_is_refused_with_a_reason(runner):
    result = runner.invoke(args=["users", "invite", "--email", "fp@example.org", "--role", "focal_point"])
    assert result.exit_code != 0 and "region" in result.output


def test_demo_staff_are_one_active_person_of_each_role_and_made_once(app, runner, client, login):
    result = runner.invoke(args=["seed-demo-staff"])
    assert result.exit_code == 0, result.output
    pattern = r"(\w+)\s+(\S+@demo\.invalid)\s+password (\S+)\s+TOTP secret ([A-Z2-7]+)"
    rows = re.findall(pattern, result.output)
    assert sorted(role for role, *_ in rows) == ["admin", "auditor", "coordinator", "focal_point"]
    with app.app_context():
        states = {p.role: p.state for p in db.session.scalars(select(StaffMember))}
    assert states == dict.fromkeys(("admin", "auditor", "coordinator", "focal_point"), "active")
    assert "exist already" in runner.invoke(args=["seed-demo-staff"]).output
    from tests.staffing import StaffAccount

    role, email, password, secret = rows[2]
    person = StaffAccount(id="", email=email, role=role, region=None, password=password, totp_secret=secret)
    person.used_steps.add(pyotp.TOTP(secret).timecode(datetime.now(UTC)) - 1)  # the demo confirmed with it
    assert login(client, person).status_code == 302
    assert client.get("/staff/").status_code == 200
