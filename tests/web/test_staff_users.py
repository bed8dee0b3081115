"""User management over HTTP: admins invite and offboard, coordinators vet."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from reporter.extensions import db
from reporter.models import EnrollmentToken, StaffMember
from tests.staffing import csrf_of


def test_admin_invites_and_sees_the_link_once(app, client, make_staff, login):
    admin = make_staff(role="admin")
    login(client, admin)
    response = client.post("/staff/users", data={
        "email": "new@example.org", "role": "focal_point", "region": "AM",
        "csrf_token": csrf_of(client, "/staff/users")})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    link = re.search(r'id="enrolment-link">([^<]+)<', html).group(1)
    assert link.startswith("https://localhost/staff/enroll/")
    assert link not in client.get("/staff/users").get_data(as_text=True)
    with app.app_context():
        person = db.session.scalars(select(StaffMember).where(StaffMember.email == "new@example.org")).one()
        assert person.invited_by == admin.id and person.region == "AM" and person.state == "invited"
        stored = select(EnrollmentToken.id).where(EnrollmentToken.staff_id == person.id)
        assert db.session.scalars(stored).one() not in link


def test_invitation_with_bad_input_answers_400(client, make_staff, login):
    login(client, make_staff(role="admin"))
    response = client.post("/staff/users", data={
        "email": "x@example.org", "role": "focal_point", "region": "",
        "csrf_token": csrf_of(client, "/staff/users")})
    assert response.status_code == 400 and "need a region" in response.get_data(as_text=True)


def test_coordinator_sees_waiting_people_and_approves(client, make_staff, login, staff_directory):
    waiting = make_staff(role="focal_point", state="enrolled")
    coordinator = make_staff(role="coordinator")
    login(client, coordinator)
    assert waiting.email in client.get("/staff/").get_data(as_text=True)
    path = f"/staff/users/{waiting.id}/vet"
    assert client.get(path).status_code == 200
    response = client.post(path, data={"decision": "approve", "csrf_token": csrf_of(client, path)})
    assert response.status_code == 302
    assert staff_directory.person(waiting).state == "active"


def test_coordinator_cannot_vet_own_invitee_or_themselves(client, make_staff, login):
    coordinator = make_staff(role="coordinator")
    own = make_staff(role="focal_point", state="enrolled", invited_by=coordinator)
    login(client, coordinator)
    token = csrf_of(client, "/staff/")
    for target in (own.id, coordinator.id):
        assert client.get(f"/staff/users/{target}/vet").status_code == 403
        assert client.post(f"/staff/users/{target}/vet", data={"decision": "approve",
                                                               "csrf_token": token}).status_code == 403
    assert client.get("/staff/users/0123456789abcdef0123456789abcdef/vet").status_code == 404


def test_admin_asks_a_coordinator_confirms_and_the_persons_next_request_is_logged_out(
        app, client, make_staff, login, staff_directory):
    admin, victim = make_staff(role="admin"), make_staff(role="focal_point")
    victim_browser = app.test_client()
    login(victim_browser, victim)
    assert victim_browser.get("/staff/").status_code == 200
    login(client, admin)
    token = csrf_of(client, "/staff/users")
    response = client.post(f"/staff/users/{victim.id}/deactivate", data={"csrf_token": token})
    assert response.status_code == 200 and "is requested" in response.get_data(as_text=True)
    assert victim_browser.get("/staff/").status_code == 200  # one admin alone changes nothing
    coordinator_browser = app.test_client()
    login(coordinator_browser, staff_directory.coordinator)
    home = coordinator_browser.get("/staff/").get_data(as_text=True)
    assert victim.email in home and f"/staff/users/{victim.id}/offboard" in home
    confirmed = coordinator_browser.post(f"/staff/users/{victim.id}/offboard",
                                         data={"csrf_token": csrf_of(coordinator_browser, "/staff/")})
    assert confirmed.status_code == 200 and "is offboarded" in confirmed.get_data(as_text=True)
    assert victim_browser.get("/staff/").status_code == 302
    assert client.post(f"/staff/users/{admin.id}/deactivate",
                       data={"csrf_token": csrf_of(client, "/staff/users")}).status_code == 403


@pytest.mark.parametrize("person_id", ["f" * 32, "x" * 5000, "%00", "..%2F..%2Fetc", "ü" * 40])
def test_offboarding_actions_answer_a_bad_person_id_with_a_clear_error(app, make_staff, login,
                                                                       staff_directory, person_id):
    admin_browser, coordinator_browser = app.test_client(), app.test_client()
    login(admin_browser, make_staff(role="admin"))
    login(coordinator_browser, staff_directory.coordinator)
    for browser, action in ((admin_browser, "deactivate"), (admin_browser, "suspend"),
                            (coordinator_browser, "offboard"), (coordinator_browser, "reinstate")):
        response = browser.post(f"/staff/users/{person_id}/{action}",
                                data={"csrf_token": csrf_of(browser, "/staff/")})
        assert response.status_code in (400, 404), (action, response.status_code)
        assert "Traceback" not in response.get_data(as_text=True)
    page = coordinator_browser.get(f"/staff/users/{person_id}/vet")
    assert page.status_code in (400, 404) and "Traceback" not in page.get_data(as_text=True)
