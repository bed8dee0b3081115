"""Staff login over HTTP: password then TOTP, sessions, timeouts, logout, password change, recovery."""

from __future__ import annotations

import time

import pyotp
from sqlalchemy import func, select

from reporter.extensions import db
from reporter.models import AuditEvent, UnlockedSession
from tests.staffing import csrf_of

COOKIE = "__Host-session"


def _records(app, kind="staff"):
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(UnlockedSession)
                                 .where(UnlockedSession.kind == kind))


def _actions(app):
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_login_takes_password_then_code_and_opens_one_session(app, client, make_staff, login):
    person = make_staff(role="focal_point")
    response = login(client, person)
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"
    page = client.get("/staff/")
    assert page.status_code == 200 and person.email in page.get_data(as_text=True)
    assert _records(app) == 1 and _records(app, "staff-login") == 0
    assert "staff.login" in _actions(app)


def test_password_step_alone_opens_nothing(client, make_staff):
    person = make_staff(role="focal_point")
    token = csrf_of(client, "/staff/login")
    response = client.post("/staff/login", data={"email": person.email, "password": person.password,
                                                 "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login/totp")
    assert client.get("/staff/").status_code == 302


def test_wrong_password_answers_401_with_one_message(client, make_staff, login):
    person = make_staff(role="focal_point")
    response = login(client, person, password="not the password at all")
    body = response.get_data(as_text=True)
    assert response.status_code == 401 and "is not right" in body
    assert 'value="' + person.email + '"' in body and "not the password" not in body


def test_wrong_totp_code_is_refused_and_audited(app, client, make_staff):
    person = make_staff(role="focal_point")
    token = csrf_of(client, "/staff/login")
    client.post("/staff/login", data={"email": person.email, "password": person.password,
                                      "csrf_token": token})
    code = person.code()
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    response = client.post("/staff/login/totp", data={"code": wrong,
                                                      "csrf_token": csrf_of(client, "/staff/login/totp")})
    assert response.status_code == 401
    assert client.get("/staff/").status_code == 302
    with app.app_context():
        failed = select(AuditEvent.detail).where(AuditEvent.action == "staff.login.failed")
        details = list(db.session.scalars(failed))
    assert details == ['{"step":"totp"}']


def test_enrolled_but_unvetted_person_cannot_log_in(client, make_staff, login):
    person = make_staff(role="focal_point", state="enrolled")
    response = login(client, person)
    assert response.status_code == 403 and "coordinator must approve" in response.get_data(as_text=True)
    assert client.get("/staff/").status_code == 302


def test_logout_deletes_the_server_record_at_once(app, client, make_staff, login):
    person = make_staff(role="coordinator")
    login(client, person)
    stolen = client.get_cookie(COOKIE).value
    response = client.post("/staff/logout", data={"csrf_token": csrf_of(client, "/staff/")})
    assert response.status_code == 302 and response.headers["Location"] == "/staff/login"
    assert _records(app) == 0
    client.set_cookie(COOKIE, stolen, domain="localhost", secure=True)
    assert client.get("/staff/").status_code == 302
    assert "staff.logout" in _actions(app)


def test_idle_session_is_refused_and_its_record_destroyed(app, client, make_staff, login, monkeypatch):
    person = make_staff(role="auditor")
    login(client, person)
    assert client.get("/staff/").status_code == 200
    later = time.time() + 31 * 60
    monkeypatch.setattr(time, "time", lambda: later)
    response = client.get("/staff/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")
    assert _records(app) == 0


def test_session_record_expires_after_the_absolute_lifetime(app, client, make_staff, login):
    person = make_staff(role="auditor")
    login(client, person)
    with app.app_context():
        record = db.session.scalars(select(UnlockedSession).where(UnlockedSession.kind == "staff")).one()
        assert (record.expires_at - record.created_at).total_seconds() == 12 * 3600
        record.expires_at = record.created_at
        db.session.commit()
    assert client.get("/staff/").status_code == 302


def test_next_parameter_returns_to_a_page_on_this_site(client, make_staff, login):
    person = make_staff(role="admin")
    response = client.get("/staff/users")
    assert response.status_code == 302 and "next=/staff/users" in response.headers["Location"]
    response = login(client, person, next_path="/staff/users")
    assert response.headers["Location"] == "/staff/users"


def test_password_change_rewraps_the_key_and_ends_other_sessions(app, make_staff, login):
    person = make_staff(role="focal_point")
    laptop, phone = app.test_client(), app.test_client()
    login(laptop, person)
    login(phone, person)
    assert _records(app) == 2
    new = "a brand new passphrase for me"
    response = laptop.post("/staff/password", data={
        "current_password": person.password, "password": new, "password_confirm": new,
        "csrf_token": csrf_of(laptop, "/staff/password")})
    assert response.status_code == 200 and "Your password is changed" in response.get_data(as_text=True)
    assert laptop.get("/staff/").status_code == 200
    assert phone.get("/staff/").status_code == 302
    assert _records(app) == 1
    person.password = new
    fresh = app.test_client()
    person.used_steps.clear()  # a new 30-second window is not needed: the server saw only two steps
    assert "staff.password_changed" in _actions(app)
    assert fresh.post("/staff/login", data={"email": person.email, "password": new,
                                            "csrf_token": csrf_of(fresh, "/staff/login")}).status_code == 302


def test_password_change_needs_the_current_password_and_a_good_new_one(client, make_staff, login):
    person = make_staff(role="focal_point")
    login(client, person)
    token = csrf_of(client, "/staff/password")
    wrong = client.post("/staff/password", data={"current_password": "not my password at all",
                                                 "password": "a brand new passphrase", "password_confirm":
                                                 "a brand new passphrase", "csrf_token": token})
    assert wrong.status_code == 400 and "current password is not right" in wrong.get_data(as_text=True)
    weak = client.post("/staff/password", data={"current_password": person.password,
                                                "password": "password1234",
                                                "password_confirm": "password1234", "csrf_token": token})
    assert weak.status_code == 400 and "too common" in weak.get_data(as_text=True)


def test_recovery_code_and_totp_reset_a_forgotten_password(app, client, make_staff):
    person = make_staff(role="focal_point")
    new = "my memory failed me once"
    response = client.post("/staff/recover", data={
        "email": person.email, "recovery_code": person.recovery_code, "code": person.code(),
        "password": new, "password_confirm": new, "csrf_token": csrf_of(client, "/staff/recover")})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="recovery-code"' in body
    assert client.get("/staff/").status_code == 200
    assert "staff.password_reset" in _actions(app)
    again = app.test_client()
    reused = again.post("/staff/recover", data={
        "email": person.email, "recovery_code": person.recovery_code, "code": person.code(),
        "password": "yet another passphrase", "password_confirm": "yet another passphrase",
        "csrf_token": csrf_of(again, "/staff/recover")})
    assert reused.status_code == 401


def test_login_page_is_accessible_and_marks_autocomplete(client):
    html = client.get("/staff/login").get_data(as_text=True)
    assert 'autocomplete="username"' in html and 'autocomplete="current-password"' in html
    assert '<label for="email">' in html and '<label for="password">' in html


def test_empty_login_form_shows_each_error_next_to_its_field(client):
    response = client.post("/staff/login", data={"email": "", "password": "",
                                                 "csrf_token": csrf_of(client, "/staff/login")})
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="email-error"' in body and "Please enter your e-mail address." in body
    assert 'aria-invalid="true"' in body and 'aria-describedby="email-error"' in body


def test_the_code_that_just_finished_enrolment_is_explained_at_the_first_login(app, client, make_staff):
    person = make_staff(role="focal_point")
    token = csrf_of(client, "/staff/login")
    first = client.post("/staff/login", data={"email": person.email, "password": person.password,
                                              "csrf_token": token})
    assert first.status_code == 302
    reused = pyotp.TOTP(person.totp_secret).generate_otp(max(person.used_steps))
    token = csrf_of(client, first.headers["Location"])
    response = client.post("/staff/login/totp", data={"code": reused, "csrf_token": token})
    page = response.get_data(as_text=True)
    assert response.status_code == 401 and "each code works only once" in page
