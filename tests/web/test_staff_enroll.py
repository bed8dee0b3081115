"""Enrolment over HTTP: password, TOTP set-up with an inline SVG QR code, recovery code shown once."""

from __future__ import annotations

import re

import pyotp

from reporter.models import StaffMember
from tests.staffing import csrf_of

PASSWORD = "violet kettle harbour mist"


def _secret_of(html):
    match = re.search(r'id="totp-secret">([A-Z2-7]+)<', html)
    assert match, "no TOTP secret on the page"
    return match.group(1)


def _choose(client, token, password=PASSWORD, confirm=None, **extra):
    data = {"password": password, "password_confirm": confirm or password,
            "csrf_token": csrf_of(client, f"/staff/enroll/{token}"), **extra}
    return client.post(f"/staff/enroll/{token}", data=data)


def test_enrolment_from_link_to_waiting_for_vetting(client, make_staff, staff_directory):
    invited = make_staff(role="focal_point", state="invited")
    page = client.get(f"/staff/enroll/{invited.token}")
    assert page.status_code == 200 and 'autocomplete="new-password"' in page.get_data(as_text=True)
    response = _choose(client, invited.token)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<svg" in html and 'id="recovery-code"' in html and 'autocomplete="one-time-code"' in html
    secret = _secret_of(html)
    reload = client.get(f"/staff/enroll/{invited.token}").get_data(as_text=True)
    assert _secret_of(reload) == secret and 'id="recovery-code"' not in reload  # shown once
    done = client.post(f"/staff/enroll/{invited.token}", data={
        "code": pyotp.TOTP(secret).now(), "csrf_token": csrf_of(client, f"/staff/enroll/{invited.token}")})
    assert done.status_code == 200 and "coordinator must now approve" in done.get_data(as_text=True)
    assert staff_directory.person(invited).state == "enrolled"
    assert client.get(f"/staff/enroll/{invited.token}").status_code == 404  # used up


def test_weak_or_mismatched_passwords_are_refused_with_the_reason(client, make_staff):
    invited = make_staff(role="auditor", state="invited")
    weak = _choose(client, invited.token, "password1234")
    assert weak.status_code == 400 and "too common" in weak.get_data(as_text=True)
    short = _choose(client, invited.token, "short")
    assert short.status_code == 400 and "at least 12" in short.get_data(as_text=True)
    mismatch = _choose(client, invited.token, PASSWORD, "violet kettle harbour fog")
    assert mismatch.status_code == 400 and "not the same" in mismatch.get_data(as_text=True)


def test_wrong_code_at_enrolment_keeps_the_person_invited(client, make_staff, staff_directory):
    invited = make_staff(role="auditor", state="invited")
    secret = _secret_of(_choose(client, invited.token).get_data(as_text=True))
    wrong = f"{(int(pyotp.TOTP(secret).now()) + 1) % 1_000_000:06d}"
    response = client.post(f"/staff/enroll/{invited.token}", data={
        "code": wrong, "csrf_token": csrf_of(client, f"/staff/enroll/{invited.token}")})
    assert response.status_code == 400 and "code is not right" in response.get_data(as_text=True)
    assert staff_directory.person(invited).state == "invited"


def test_unknown_link_answers_404(client):
    response = client.get("/staff/enroll/not-a-real-token")
    assert response.status_code == 404 and "does not work" in response.get_data(as_text=True)


def test_another_browser_with_the_link_sees_no_totp_secret(app, client, make_staff):
    invited = make_staff(role="auditor", state="invited")
    secret = _secret_of(_choose(client, invited.token).get_data(as_text=True))
    other = app.test_client().get(f"/staff/enroll/{invited.token}").get_data(as_text=True)
    assert secret not in other and 'name="password"' in other


def test_qr_code_page_keeps_the_strict_csp(client, make_staff):
    invited = make_staff(role="auditor", state="invited")
    response = _choose(client, invited.token)
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "script-src 'self'" in csp


def test_enrolled_person_can_log_in_after_vetting(app, client, make_staff, login):
    person = make_staff(role="coordinator")
    assert login(client, person).status_code == 302
    assert client.get("/staff/").status_code == 200
    with app.app_context():
        from reporter.extensions import db

        assert db.session.get(StaffMember, person.id).state == "active"
