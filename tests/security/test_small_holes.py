"""The smaller holes of issue 13, section 3, each reproduced as an attacker or a careless operator would.

- /staff/recover told a real account from an unknown one (400 "do not use your e-mail" against 401);
- an enrolment link took the host of a forged Host header;
- a NUL byte in a form field gave a 500 on PostgreSQL;
- instance files open to other users, an escrow private key left on the server, weak secrets;
- quick exit left the follow-up unlocked in the browser;
- the development server wrote raw escape sequences from the path into its log.
"""

from __future__ import annotations

import base64
import logging
import os
import re
import secrets
import shutil
import socket
import stat
import threading
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.serving import make_server

from reporter import config
from reporter.extensions import db
from reporter.models import AuditEvent, Report, UnlockedSession
from reporter.web.privacy import PrivateRequestHandler
from tests.staffing import StaffDirectory, csrf_of, directory_of, login

CSRF = re.compile(r'name="csrf_token" value="[^"]+"')
CSRF_VALUE = re.compile(r'name="csrf_token" value="([^"]+)"')
SITE = "https://reports.example.org"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _count(app, model, *where) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


# /staff/recover


def test_recovery_answers_a_real_account_exactly_like_an_unknown_one(app, make_staff):
    person = make_staff(role="focal_point")
    answers = []
    for email in (person.email, "no.such.person@example.org"):
        client = app.test_client()
        response = client.post("/staff/recover", data={
            "email": email, "recovery_code": "ABCD" * 6 + "EF", "code": "123456",
            "password": email, "password_confirm": email,  # a rule that reads the account: not checked yet
            "csrf_token": csrf_of(client, "/staff/recover")})
        body = CSRF.sub("", response.get_data(as_text=True)).replace(email, "E")
        answers.append((response.status_code, body))
    assert answers[0] == answers[1] and answers[0][0] == 401
    assert _count(app, AuditEvent, AuditEvent.action == "staff.login.failed") == 2


# Links and hosts


class SiteClient(FlaskClient):
    """A browser that reaches the site under its public name."""

    def open(self, *args, **kwargs):  # noqa: D102 - same contract as FlaskClient.open
        kwargs.setdefault("base_url", SITE)
        return super().open(*args, **kwargs)


@pytest.fixture
def public_site(app_factory):
    """An app whose public address is REPORTER_BASE_URL, behind one proxy, and its logged-in admin."""
    app = app_factory(REPORTER_BASE_URL=SITE, REPORTER_TRUSTED_PROXIES=1)
    app.test_client_class = SiteClient
    directory = StaffDirectory(app)
    admin = app.test_client()
    assert login(admin, directory.admin).status_code == 302
    return app, admin


def test_base_url_sets_the_trusted_hosts_and_a_forged_host_is_refused(public_site):
    app, admin = public_site
    assert app.config["TRUSTED_HOSTS"] == ["reports.example.org"]
    assert admin.get("/staff/users").status_code == 200
    assert admin.get("/staff/users", base_url="https://evil.example").status_code == 400
    forged = admin.get("/staff/users", headers={"Host": "evil.example"})
    assert forged.status_code == 400 and forged.mimetype == "text/plain", "a plain refusal, never a 500"


def test_enrolment_links_start_with_the_base_url_whatever_host_the_request_names(public_site):
    app, admin = public_site
    app.config["TRUSTED_HOSTS"] = ["reports.example.org", "127.0.0.1"]  # say, for a local health check
    local = FlaskClient(app)  # the same admin, reaching the server under its other name
    session = admin.get_cookie("__Host-session", domain="reports.example.org").value
    local.set_cookie("__Host-session", session, domain="127.0.0.1", secure=True)
    links = []
    for browser, base_url in ((admin, SITE), (local, "https://127.0.0.1")):
        token = CSRF_VALUE.search(browser.get("/staff/users", base_url=base_url).get_data(as_text=True))
        response = browser.post("/staff/users", base_url=base_url,
                                headers={"X-Forwarded-Host": "evil.example"},
                                data={"email": f"new.{len(links)}@example.org", "role": "auditor",
                                      "csrf_token": token.group(1)})
        links += re.findall(r"https?://[^\s\"<]+/staff/enroll/[\w-]+", response.get_data(as_text=True))
    assert len(links) == 2 and all(link.startswith(SITE + "/staff/enroll/") for link in links)


# Control characters in form fields


def _refused(client, path: str, fields: dict[str, str], token_path: str | None = None) -> list[str]:
    """Post each field with a control character in turn; return the fields not answered with a 400."""
    wrong = []
    for name in fields:
        for bad in ("a\x00b", "a\x1b[31mb", "a\x7fb"):
            data = {**fields, name: bad, "csrf_token": csrf_of(client, token_path or path)}
            response = client.post(path, data=data)
            if response.status_code != 400:
                wrong.append(f"{path} {name}={bad!r}: {response.status_code}")
    return wrong


def test_control_characters_in_any_staff_form_field_get_400(app, make_staff, backend):
    anonymous = app.test_client()
    wrong = _refused(anonymous, "/staff/login", {"email": "x@example.org", "password": "long enough pw"})
    wrong += _refused(anonymous, "/staff/recover", {
        "email": "x@example.org", "recovery_code": "A" * 26, "code": "123456",
        "password": "long enough passphrase", "password_confirm": "long enough passphrase"})
    wrong += _refused(anonymous, "/staff/login/totp", {"code": "123456"}, token_path="/staff/login")
    admin = app.test_client()
    login(admin, make_staff(role="admin"))
    wrong += _refused(admin, "/staff/users", {"email": "y@example.org", "role": "auditor", "region": "",
                                              "display_name": ""})
    wrong += _refused(admin, "/staff/password", {"current_password": "a", "password": "long enough pw",
                                                 "password_confirm": "long enough pw"})
    assert not wrong, f"on {backend}: " + "; ".join(wrong)


def test_control_characters_in_case_and_routing_fields_get_400(app, make_report, make_staff, login, backend):
    make_report()
    coordinator = app.test_client()
    login(coordinator, directory_of(app).coordinator)  # the coordinator of Georgia holds the case
    with app.app_context():
        report_id = db.session.scalars(select(Report.id)).one()
    target = make_staff(role="focal_point").id
    wrong = _refused(coordinator, f"/staff/cases/{report_id}/refer", {"to": target, "reason": "other"},
                     token_path=f"/staff/cases/{report_id}")
    wrong += _refused(coordinator, f"/staff/cases/{report_id}/triage",
                      {"status": "acknowledged", "risk": "low", "version": "1"},
                      token_path=f"/staff/cases/{report_id}")
    wrong += _refused(coordinator, "/staff/routing", {"country": "GE", "category": "*", "language": "*",
                                                      "members": target})
    assert not wrong, f"on {backend}: " + "; ".join(wrong)


def test_a_control_character_in_the_report_forms_other_fields_gets_400(app, reporter):
    response = reporter.submit(exclude="0" * 31 + "\x00")
    assert response.status_code == 400
    assert _count(app, Report) == 0


# Instance files


def test_every_start_makes_the_instance_folder_and_database_private(app_factory, instance_path, backend):
    os.chmod(instance_path, 0o755)  # noqa: S103 - the careless operator this test is about
    database = instance_path / "reporter.db"
    if backend == "sqlite":
        os.chmod(database, 0o644)
    app_factory()
    assert _mode(instance_path) == 0o700 and _mode(instance_path / "keys") == 0o700
    if backend == "sqlite":
        assert _mode(database) == 0o600


def test_a_key_file_that_others_can_read_refuses_the_start(app_factory, instance_path):
    key = instance_path / "keys" / "receipt_lookup.key"
    os.chmod(key, 0o644)
    with pytest.raises(config.ConfigError, match="receipt_lookup.key"):
        app_factory()
    assert _mode(key) == 0o644, "not fixed quietly: it may have been copied already"


def test_every_start_warns_while_the_escrow_private_key_is_in_the_instance(app_factory, instance_path,
                                                                          escrow_private_key_path, caplog):
    left = instance_path / "escrow-private.key.MOVE-OFFLINE"
    shutil.copyfile(escrow_private_key_path, left)
    os.chmod(left, 0o600)
    caplog.set_level(logging.WARNING)
    app_factory()
    app_factory()
    warnings = [r for r in caplog.records if "escrow private key" in r.getMessage()]
    assert len(warnings) == 2 and str(left) in warnings[0].getMessage()


@pytest.mark.parametrize("secret", ["a" * 64, "ab" * 32, "abcdefgh" * 8, "0123456789abcdef" * 4,
                                    "x" * 31 + "y" * 33])
def test_weak_or_repeated_character_secrets_are_refused(secret):
    with pytest.raises(config.ConfigError):
        config.check_secret(secret, testing=False)


def test_random_secrets_are_accepted():
    for secret in (secrets.token_urlsafe(48), secrets.token_hex(32), secrets.token_urlsafe(24)):
        config.check_secret(secret, testing=False)


def test_a_weak_instance_key_in_the_environment_refuses_the_start(app_factory, monkeypatch):
    monkeypatch.setenv("REPORTER_RECEIPT_KEY", base64.b64encode(b"\x00" * 32).decode())
    with pytest.raises(config.ConfigError, match="REPORTER_RECEIPT_KEY"):
        app_factory(TESTING=False, REPORTER_ARGON2_TEST_FAST=False)


# Quick exit


def test_quick_exit_forgets_the_unlocked_case_on_the_server(app, reporter, make_report):
    assert reporter.follow_up(make_report()).status_code == 302
    page = reporter.client.get("/followup/case")
    assert page.status_code == 200
    exit_link = re.search(r'id="quick-exit" href="([^"]+)"', page.get_data(as_text=True)).group(1)
    copy = reporter.client.get_cookie("__Host-session").value
    response = reporter.client.get(exit_link)  # one click, no script
    assert response.status_code == 303
    assert response.headers["Location"] == app.config["REPORTER_QUICK_EXIT_URL"]
    assert _count(app, UnlockedSession) == 0
    assert reporter.client.get("/followup/case").status_code == 302, "reopening the page shows nothing"
    thief = app.test_client()
    thief.set_cookie("__Host-session", copy, domain="localhost", secure=True)
    assert thief.get("/followup/case").status_code == 302, "nor does a copy of the cookie"


def test_quick_exit_as_a_form_post_forgets_the_case_too(app, reporter, make_report):
    assert reporter.follow_up(make_report()).status_code == 302
    response = reporter.client.post("/exit", data={"csrf_token": reporter.token("/followup")})
    assert response.status_code == 303 and _count(app, UnlockedSession) == 0


# The development server's log


def test_development_server_log_escapes_control_characters_from_the_path(app, caplog):
    server = make_server("127.0.0.1", 0, app, threaded=False, request_handler=PrivateRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    caplog.set_level(logging.INFO)
    try:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
            connection.sendall(b"GET /\x1b[2J\x1b[31mrewritten HTTP/1.0\r\nHost: localhost\r\n\r\n")
            while connection.recv(65536):
                pass
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "\x1b" not in logged and "\\x1b[2J\\x1b[31mrewritten" in logged
