"""Attacks on staff authentication and sessions (ATTACKS.md section A), each with its safe outcome."""

from __future__ import annotations

import re
import statistics
import time
from datetime import timedelta

import pyotp
import pytest
from sqlalchemy import delete, select, update

from reporter import config
from reporter.extensions import db
from reporter.models import AuditEvent, EnrollmentToken, StaffMember, UnlockedSession
from reporter.models.base import utcnow
from reporter.staff import passwords
from reporter.web.staff.session import safe_next
from tests.staffing import StaffDirectory, csrf_of

COOKIE = "__Host-session"
TOKEN = re.compile(r'name="csrf_token" value="[^"]+"')


def _try_password(client, email, password):
    return client.post("/staff/login", data={"email": email, "password": password,
                                             "csrf_token": csrf_of(client, "/staff/login")})


def _audited(app, action):
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_brute_force_is_throttled_per_account_with_a_growing_delay(app_factory, monkeypatch):
    app = app_factory(REPORTER_LOGIN_ACCOUNT_LIMIT="3 per minute; 6 per hour")
    directory = StaffDirectory(app)
    victim = directory.make(role="focal_point")
    client = app.test_client()
    clock = [time.time()]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    for _ in range(3):
        assert _try_password(client, victim.email, "wrong guess number one").status_code == 401
    blocked = _try_password(client, victim.email, victim.password)  # even the right password
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) <= 60
    assert "Too many attempts" in blocked.get_data(as_text=True)
    clock[0] += 61
    for _ in range(3):
        assert _try_password(client, victim.email, "wrong guess number two").status_code == 401
    longer = _try_password(client, victim.email, victim.password)
    assert longer.status_code == 429 and int(longer.headers["Retry-After"]) > 60  # the delay grew
    other = directory.make(role="auditor")
    assert _try_password(client, other.email, other.password).status_code == 302  # not a global lock
    throttled = _audited(app, "staff.login.throttled")
    assert len(throttled) == 1 and throttled[0].object_id == victim.id  # once per hour, not per refusal
    assert len(_audited(app, "staff.login.failed")) == 6


def test_unknown_addresses_are_throttled_like_real_accounts(app_factory):
    app = app_factory(REPORTER_LOGIN_ACCOUNT_LIMIT="2 per minute")
    client = app.test_client()
    for email in ("nobody@example.org", "nobody@example.org"):
        assert _try_password(client, email, "some password guess").status_code == 401
    assert _try_password(client, "nobody@example.org", "some password guess").status_code == 429


def test_one_client_trying_many_accounts_is_throttled(app_factory):
    app = app_factory(REPORTER_LOGIN_CLIENT_LIMIT="4 per minute")
    client = app.test_client()
    for number in range(4):
        assert _try_password(client, f"user{number}@example.org", "a guessed password").status_code == 401
    assert _try_password(client, "user9@example.org", "a guessed password").status_code == 429
    assert [event.detail for event in _audited(app, "staff.login.throttled")] == ['{"limit":"client"}']


def test_used_totp_code_is_refused_even_padded_and_after_a_failure(app, make_staff, login):
    person = make_staff(role="focal_point")
    first = app.test_client()
    code = person.code()
    first.post("/staff/login", data={"email": person.email, "password": person.password,
                                     "csrf_token": csrf_of(first, "/staff/login")})
    token = csrf_of(first, "/staff/login/totp")
    assert first.post("/staff/login/totp", data={"code": code, "csrf_token": token}).status_code == 302
    for replay in (code, f" {code[:3]} {code[3:]} ", f"\t{code}\n"):
        second = app.test_client()
        second.post("/staff/login", data={"email": person.email, "password": person.password,
                                          "csrf_token": csrf_of(second, "/staff/login")})
        response = second.post("/staff/login/totp", data={"code": replay,
                                                          "csrf_token": csrf_of(second, "/staff/login/totp")})
        assert response.status_code == 401
        assert second.get("/staff/").status_code == 302


def test_expired_and_reused_enrolment_links_answer_404(app, client, make_staff):
    used = make_staff(role="auditor", state="enrolled")
    assert client.get(f"/staff/enroll/{used.token}").status_code == 404
    assert client.post(f"/staff/enroll/{used.token}", data={
        "password": "a new passphrase here", "password_confirm": "a new passphrase here",
        "csrf_token": csrf_of(client, "/staff/login")}).status_code == 404
    late = make_staff(role="auditor", state="invited")
    with app.app_context():
        db.session.execute(update(EnrollmentToken).where(EnrollmentToken.staff_id == late.id)
                           .values(expires_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
    assert client.get(f"/staff/enroll/{late.token}").status_code == 404


def test_session_fixation_a_cookie_set_before_login_opens_nothing_after(app, make_staff, login):
    person = make_staff(role="coordinator")
    victim = app.test_client()
    victim.get("/staff/login")
    planted = victim.get_cookie(COOKIE).value
    victim.post("/staff/login", data={"email": person.email, "password": person.password,
                                      "csrf_token": csrf_of(victim, "/staff/login")})
    half_way = victim.get_cookie(COOKIE).value
    victim.post("/staff/login/totp", data={"code": person.code(),
                                           "csrf_token": csrf_of(victim, "/staff/login/totp")})
    final = victim.get_cookie(COOKIE).value
    assert victim.get("/staff/").status_code == 200
    assert len({planted, half_way, final}) == 3
    for old in (planted, half_way):
        attacker = app.test_client()
        attacker.set_cookie(COOKIE, old, domain="localhost", secure=True)
        assert attacker.get("/staff/").status_code == 302
        replay = attacker.post("/staff/login/totp", data={"code": "000000",
                                                          "csrf_token": csrf_of(attacker, "/staff/login")})
        assert replay.headers["Location"] == "/staff/login" or replay.status_code == 302


def test_stolen_cookie_without_its_server_record_opens_nothing(app, client, make_staff, login):
    login(client, make_staff(role="focal_point"))
    stolen = client.get_cookie(COOKIE).value
    with app.app_context():
        db.session.execute(delete(UnlockedSession))
        db.session.commit()
    thief = app.test_client()
    thief.set_cookie(COOKIE, stolen, domain="localhost", secure=True)
    assert thief.get("/staff/").status_code == 302


def test_server_record_without_the_cookie_key_opens_nothing(app, client, make_staff, login):
    person = make_staff(role="focal_point")
    login(client, person)
    serializer = app.session_interface.get_signing_serializer(app)
    real = serializer.loads(client.get_cookie(COOKIE).value)
    with app.app_context():
        record = db.session.scalars(select(UnlockedSession).where(UnlockedSession.kind == "staff")).one()
        assert record.subject_id == person.id and len(record.wrapped_secret) >= 256
    # Even someone who can sign cookies (holds SECRET_KEY) and knows the token needs the cookie key.
    forged = {**real, "staff": {**real["staff"], "k": "A" * 43 + "="}}
    thief = app.test_client()
    thief.set_cookie(COOKIE, serializer.dumps(forged), domain="localhost", secure=True)
    assert thief.get("/staff/").status_code == 302


@pytest.mark.parametrize("mangle", [lambda v: v + "x", lambda v: v[:-2], lambda v: v.replace(".", "!", 1),
                                    lambda v: v.split(".")[0]])
def test_tampered_or_unsigned_cookie_is_refused(app, client, make_staff, login, mangle):
    login(client, make_staff(role="auditor"))
    thief = app.test_client()
    thief.set_cookie(COOKIE, mangle(client.get_cookie(COOKIE).value), domain="localhost", secure=True)
    assert thief.get("/staff/").status_code == 302


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "/\\evil.example", "\\\\evil.example", "javascript:alert(1)",
    "http:/evil.example", " //evil.example", "/\t/evil.example", "",
])
def test_next_never_leaves_the_site(client, make_staff, login, target):
    assert safe_next(target) is None
    response = login(client, make_staff(role="auditor"), next_path=target)
    assert response.headers["Location"] == "/staff/"


def test_deactivated_persons_old_cookie_is_refused_even_if_a_record_survived(app, client, make_staff, login):
    person = make_staff(role="focal_point")
    login(client, person)
    with app.app_context():  # a state change that (wrongly) left the session record behind
        db.session.execute(update(StaffMember).where(StaffMember.id == person.id).values(state="suspended"))
        db.session.commit()
    assert client.get("/staff/").status_code == 302


def test_wrong_password_for_real_and_unknown_accounts_look_the_same(app, make_staff, monkeypatch):
    person = make_staff(role="focal_point")
    calls = []
    original = passwords.verify_password
    monkeypatch.setattr(passwords, "verify_password", lambda *a: calls.append(a[0]) or original(*a))
    answers = []
    for email in (person.email, "no.such.person@example.org"):
        response = _try_password(app.test_client(), email, "definitely wrong pw")
        body = TOKEN.sub("", response.get_data(as_text=True)).replace(email, "EMAIL")
        cookies = sorted(header.split("=")[0] for header in response.headers.getlist("Set-Cookie"))
        answers.append((response.status_code, body, cookies))
    assert answers[0] == answers[1]
    assert len(calls) == 2 and calls[1] is None  # the unknown address was hashed too (a dummy hash)


def test_failed_login_timing_does_not_reveal_whether_an_account_exists(app_factory):
    app = app_factory(REPORTER_ARGON2_TEST_FAST=False, REPORTER_ARGON2_MEMORY_KIB=19456,
                      REPORTER_ARGON2_TIME_COST=2, REPORTER_ARGON2_PARALLELISM=1,
                      REPORTER_LOGIN_ACCOUNT_LIMIT="1000 per minute",
                      REPORTER_LOGIN_CLIENT_LIMIT="1000 per minute")
    person = StaffDirectory(app).make(role="focal_point")
    client = app.test_client()
    token = csrf_of(client, "/staff/login")
    ratios = []
    for _ in range(3):  # a real leak fails every round; a busy machine rarely spoils three
        timings: dict[str, list[float]] = {person.email: [], "nobody@example.org": []}
        for _ in range(21):
            for email in timings:
                started = time.perf_counter()
                client.post("/staff/login", data={"email": email, "password": "wrong password!!",
                                                  "csrf_token": token})
                timings[email].append(time.perf_counter() - started)
        known, unknown = (statistics.median(values) for values in timings.values())
        ratios.append(abs(known - unknown) / max(known, unknown))
        if ratios[-1] < 0.10:
            return
    pytest.fail(f"median timings differ by {min(ratios):.0%} or more in every round")


def test_posted_role_and_state_fields_are_ignored_at_enrolment(client, make_staff, staff_directory):
    invited = make_staff(role="focal_point", state="invited")
    extra = {"role": "admin", "state": "active", "vetting": "approve", "region": "*", "invited_by": ""}
    path = f"/staff/enroll/{invited.token}"
    chosen = "violet kettle harbour mist"
    page = client.post(path, data={"password": chosen, "password_confirm": chosen,
                                   "csrf_token": csrf_of(client, path), **extra})
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page.get_data(as_text=True)).group(1)
    client.post(path, data={"code": pyotp.TOTP(secret).now(), "csrf_token": csrf_of(client, path), **extra})
    person = staff_directory.person(invited)
    stored = (person.role, person.state, person.vetting, person.region)
    assert stored == ("focal_point", "enrolled", None, "GE")


def test_logout_by_get_is_refused_and_changes_nothing(app, client, make_staff, login):
    login(client, make_staff(role="auditor"))
    assert client.get("/staff/logout").status_code == 405
    assert client.get("/staff/").status_code == 200


def test_production_cookie_is_host_prefixed_secure_httponly_strict_not_persistent(client, make_staff, login):
    response = login(client, make_staff(role="auditor"))
    # The session cookie; the device cookie beside it is tested in test_throttling_proxies.py.
    cookies = response.headers.getlist("Set-Cookie")
    cookie = next(c for c in cookies if not c.startswith("__Host-staff-device="))
    assert cookie.startswith("__Host-session=")
    for attribute in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/"):
        assert attribute in cookie
    assert "Domain=" not in cookie and "Expires=" not in cookie and "Max-Age=" not in cookie


def test_plain_http_development_relaxes_only_the_secure_prefix(app_factory):
    app = app_factory(REPORTER_HTTPS=False)
    assert app.config["SESSION_COOKIE_NAME"] == "session" and not app.config["SESSION_COOKIE_SECURE"]
    assert app.config["SESSION_COOKIE_HTTPONLY"] and app.config["SESSION_COOKIE_SAMESITE"] == "Strict"


@pytest.mark.parametrize("settings", [
    {"REPORTER_ARGON2_TEST_FAST": True},
    {"REPORTER_ARGON2_MEMORY_KIB": 8192},
    {"REPORTER_ARGON2_TIME_COST": 1},
])
def test_weak_password_hashing_is_refused_outside_tests(settings):
    cfg = {"TESTING": False, "REPORTER_ARGON2_MEMORY_KIB": 65536, "REPORTER_ARGON2_TIME_COST": 3, **settings}
    with pytest.raises(config.ConfigError):
        config.check_password_cost(cfg)


def test_posted_role_fields_are_ignored_on_password_change(client, make_staff, login, staff_directory):
    person = make_staff(role="focal_point")
    login(client, person)
    new = "another long passphrase here"
    client.post("/staff/password", data={"current_password": person.password, "password": new,
                                         "password_confirm": new, "role": "admin", "state": "active",
                                         "region": "*", "csrf_token": csrf_of(client, "/staff/password")})
    stored = staff_directory.person(person)
    assert (stored.role, stored.region) == ("focal_point", "GE")
