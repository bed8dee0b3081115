"""A staff member's own key pair, renewed at the next login when they or an admin ask for it."""

from __future__ import annotations

import re

from sqlalchemy import select

from reporter import directory
from reporter.crypto import CiphertextInvalid
from reporter.extensions import db
from reporter.keyring import unwrap_with_recovery_code
from reporter.models import AuditEvent, StaffMember
from tests.casework import add_rule, submit
from tests.staffing import csrf_of, login


def _person(app, account) -> StaffMember:
    with app.app_context():
        person = db.session.get(StaffMember, account.id)
        assert person is not None
        db.session.expunge(person)
        return person


def _actions(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_person_who_asks_gets_a_new_key_at_next_login_and_still_opens_their_cases(
        app, reporter, make_staff):
    focal_point = make_staff(role="focal_point")
    add_rule(app, "GE", [focal_point])
    _, report_id = submit(reporter)
    staff = app.test_client()
    assert login(staff, focal_point).status_code == 302
    before = _person(app, focal_point)
    asked = staff.post("/staff/key/renew", data={"csrf_token": csrf_of(staff, "/staff/")})
    assert asked.status_code == 200 and 'id="key-renewal" role="status"' in asked.get_data(as_text=True)
    staff.post("/staff/logout", data={"csrf_token": csrf_of(staff, "/staff/")})

    renewed = login(staff, focal_point)
    page = renewed.get_data(as_text=True)
    assert renewed.status_code == 200 and 'id="recovery-code"' in page
    code = re.search(r'id="recovery-code"[^>]*>([^<]+)<', page)
    assert code is not None
    after = _person(app, focal_point)
    assert after.public_key != before.public_key and after.key_renewal_requested_at is None
    case = staff.get(f"/staff/cases/{report_id}")  # opens with the new key: a decryption
    assert case.status_code == 200 and "Telegram channel" in case.get_data(as_text=True)
    with app.app_context(), db.writing() as session:
        person = session.get(StaffMember, focal_point.id)
        assert person is not None and directory.person_verifies(session, person)
        new_private = unwrap_with_recovery_code(person, code.group(1))  # the new code opens the new key
        assert new_private
        try:
            unwrap_with_recovery_code(person, focal_point.recovery_code)
            raise AssertionError("the old recovery code still opens a key")
        except CiphertextInvalid:
            pass
    [event] = _actions(app, "keys.staff_renewed")
    assert event.object_id == focal_point.id and '"resealed":1' in event.detail


def test_an_admin_asks_for_a_renewal_from_the_people_page(app, make_staff, staff_directory):
    focal_point = make_staff(role="focal_point")
    admin_client = app.test_client()
    assert login(admin_client, staff_directory.admin).status_code == 302
    page = admin_client.get("/staff/users").get_data(as_text=True)
    assert f"/staff/users/{focal_point.id}/renew-key" in page
    asked = admin_client.post(f"/staff/users/{focal_point.id}/renew-key",
                              data={"csrf_token": csrf_of(admin_client, "/staff/users")})
    assert asked.status_code == 200 and focal_point.email in asked.get_data(as_text=True)
    assert _person(app, focal_point).key_renewal_requested_by == staff_directory.admin.id
    [event] = _actions(app, "keys.staff_renewal_requested")
    assert event.actor_id == staff_directory.admin.id and event.object_id == focal_point.id


def test_nobody_else_may_ask_for_someone_elses_renewal(app, make_staff):
    focal_point, other = make_staff(role="focal_point"), make_staff(role="focal_point")
    client = app.test_client()
    assert login(client, other).status_code == 302
    refused = client.post(f"/staff/users/{focal_point.id}/renew-key",
                          data={"csrf_token": csrf_of(client, "/staff/")})
    assert refused.status_code == 403
    assert _person(app, focal_point).key_renewal_requested_at is None
