"""Login throttling behind a reverse proxy and as an onion service: an attacker's failures never stop
the right person (issue 13, section 2).

Every request below comes from a proxy (REMOTE_ADDR 10.0.0.1 with X-Forwarded-For, as nginx sends
it) or, in onion mode, from the local tor daemon (127.0.0.1, no client address at all). Before the
fix the proxy's address was everyone's address, so 21 failures with made-up e-mail addresses made
the coordinator's right password answer 429, and a few wrong passwords locked an account everywhere.
"""

from __future__ import annotations

import pytest
from itsdangerous import URLSafeSerializer
from sqlalchemy import select

from reporter.extensions import db
from reporter.models import AuditEvent
from reporter.web.staff import devices
from reporter.web.staff.session import account_key
from tests.staffing import StaffAccount, StaffDirectory, csrf_of, login

PROXY = "10.0.0.1"
DEVICE_COOKIE = "__Host-staff-device"


def _browser(app, *, forwarded: str | None = None, address: str = "127.0.0.1"):
    """Return a test client whose requests come through the proxy for `forwarded`, or from `address`."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = PROXY if forwarded else address
    if forwarded:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded
    return client


WRONG = "not the password at all"


def _wrong(client, email: str, password: str = WRONG):
    return client.post("/staff/login", data={"email": email, "password": password,
                                             "csrf_token": csrf_of(client, "/staff/login")})


def _logged_in(client, person: StaffAccount) -> bool:
    response = login(client, person)
    return response.status_code == 302 and response.headers["Location"] == "/staff/"


def _log_out(client) -> None:
    client.post("/staff/logout", data={"csrf_token": csrf_of(client, "/staff/")})


def account_hash(app, email: str) -> str:
    with app.test_request_context():
        return account_key(email).removeprefix("acct:")


def _throttled(app) -> list[str]:
    with app.app_context():
        query = select(AuditEvent.detail).where(AuditEvent.action == "staff.login.throttled")
        return list(db.session.scalars(query))


@pytest.fixture
def proxied(app_factory):
    """An app behind one trusted proxy, with its staff directory."""
    app = app_factory(REPORTER_TRUSTED_PROXIES=1)
    return app, StaffDirectory(app)


def test_behind_a_proxy_made_up_addresses_from_one_source_do_not_lock_out_the_coordinator(proxied):
    app, directory = proxied
    coordinator = directory.coordinator
    attacker = _browser(app, forwarded="203.0.113.9")
    statuses = [_wrong(attacker, f"made.up.{n}@example.org").status_code for n in range(25)]
    assert statuses == [401] * 20 + [429] * 5  # the attacker's own source is throttled
    assert _logged_in(_browser(app, forwarded="198.51.100.7"), coordinator)


def test_a_forged_forwarded_for_entry_buys_no_fresh_budget(proxied):
    app, _ = proxied
    attacker = _browser(app)
    attacker.environ_base["REMOTE_ADDR"] = PROXY
    statuses = []
    for n in range(22):  # the attacker writes its own header; the proxy appends the real address
        attacker.environ_base["HTTP_X_FORWARDED_FOR"] = f"192.0.2.{n}, 203.0.113.9"
        statuses.append(_wrong(attacker, f"made.up.{n}@example.org").status_code)
    assert statuses == [401] * 20 + [429] * 2


def test_without_a_trusted_proxy_the_header_is_ignored(app_factory):
    app = app_factory(REPORTER_LOGIN_CLIENT_LIMIT="3 per minute")
    attacker = _browser(app, address="203.0.113.9")
    statuses = []
    for n in range(4):
        attacker.environ_base["HTTP_X_FORWARDED_FOR"] = f"192.0.2.{n}"
        statuses.append(_wrong(attacker, f"made.up.{n}@example.org").status_code)
    assert statuses == [401, 401, 401, 429]


def test_failures_from_unknown_devices_never_lock_out_the_persons_known_device(proxied):
    app, directory = proxied
    person = directory.make(role="focal_point")
    laptop = _browser(app, forwarded="198.51.100.7")
    assert _logged_in(laptop, person)
    _log_out(laptop)
    attacker = _browser(app, forwarded="203.0.113.9")
    assert [_wrong(attacker, person.email).status_code for _ in range(6)] == [401] * 5 + [429]
    assert _wrong(attacker, person.email, person.password).status_code == 429  # even the right password
    new_phone = _browser(app, forwarded="198.51.100.7")  # the person, on a device never used before
    assert _wrong(new_phone, person.email, person.password).status_code == 429
    assert _logged_in(laptop, person), "the known device logs in while unknown devices are locked out"
    assert [detail for detail in _throttled(app)] == ['{"limit":"account"}']


def test_a_known_device_that_guesses_wrong_locks_out_only_itself(proxied):
    app, directory = proxied
    person = directory.make(role="auditor")
    laptop = _browser(app, forwarded="198.51.100.7")
    assert _logged_in(laptop, person)
    _log_out(laptop)
    assert [_wrong(laptop, person.email).status_code for _ in range(6)] == [401] * 5 + [429]
    assert _throttled(app) == ['{"limit":"device"}']
    assert _logged_in(_browser(app, forwarded="198.51.100.8"), person)


def test_the_device_cookie_is_signed_bound_to_its_account_and_locked_down(proxied):
    app, directory = proxied
    person, other = directory.make(role="focal_point"), directory.make(role="auditor")
    laptop = _browser(app, forwarded="198.51.100.7")
    response = login(laptop, person)
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(DEVICE_COOKIE + "="))
    for attribute in ("Secure", "HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=15552000"):
        assert attribute in cookie
    assert "Domain=" not in cookie
    signer = URLSafeSerializer(app.secret_key, salt=devices.SALT)
    payload = signer.loads(laptop.get_cookie(DEVICE_COOKIE).value)
    assert list(payload) == [f"acct:{account_hash(app, person.email)}"], "a keyed hash, never the address"
    _log_out(laptop)
    attacker = _browser(app, forwarded="203.0.113.9")
    for account in (person, other):  # lock out the unknown devices of both accounts
        for _ in range(6):
            _wrong(attacker, account.email)
    value = laptop.get_cookie(DEVICE_COOKIE).value
    forged = _browser(app, forwarded="203.0.113.9")
    forged.set_cookie(DEVICE_COOKIE, value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB"),
                      domain="localhost", secure=True)
    assert _wrong(forged, person.email, person.password).status_code == 429, "a tampered cookie is none"
    assert _wrong(laptop, other.email, other.password).status_code == 429, "it vouches for its account only"
    assert _logged_in(laptop, person)


def test_onion_service_made_up_addresses_drain_no_budget_that_real_accounts_share(app_factory):
    app = app_factory(REPORTER_ONION=True)
    auditor = StaffDirectory(app).make(role="auditor")
    attacker = _browser(app)  # every visitor of an onion service arrives from the local tor daemon
    statuses = {_wrong(attacker, f"made.up.{n}@example.org").status_code for n in range(40)}
    assert statuses == {401}, "no per-client budget exists without client addresses"
    assert [_wrong(attacker, "one.target@example.org").status_code for _ in range(6)] == [401] * 5 + [429]
    assert _logged_in(_browser(app), auditor), "a real account on a new device is untouched"


def test_onion_service_locked_out_account_still_opens_on_its_known_device(app_factory):
    app = app_factory(REPORTER_ONION=True)
    coordinator = StaffDirectory(app).coordinator
    tor_browser = _browser(app)
    assert _logged_in(tor_browser, coordinator)
    _log_out(tor_browser)
    attacker = _browser(app)
    assert [_wrong(attacker, coordinator.email).status_code for _ in range(6)] == [401] * 5 + [429]
    assert _logged_in(tor_browser, coordinator)


def test_ipv6_clients_are_keyed_by_their_64_network(app_factory):
    app = app_factory(REPORTER_LOGIN_CLIENT_LIMIT="3 per minute")
    hopping = [_browser(app, address=f"2001:db8:1:2::{n:x}") for n in range(1, 5)]
    statuses = [_wrong(client, f"made.up.{n}@example.org").status_code for n, client in enumerate(hopping)]
    assert statuses == [401, 401, 401, 429], "a new address inside the same /64 is the same client"
    neighbour = _browser(app, address="2001:db8:1:3::1")
    assert _wrong(neighbour, "made.up.9@example.org").status_code == 401
    mapped = [_browser(app, address=a) for a in ("::ffff:198.51.100.20", "198.51.100.20")]
    statuses = [_wrong(c, f"mapped.{n}@example.org").status_code for n, c in enumerate(mapped * 2)]
    assert statuses == [401] * 3 + [429], "an IPv4-mapped IPv6 address is that IPv4 client"


def test_wrong_current_passwords_at_a_password_change_count_against_the_account(app_factory):
    app = app_factory()
    person = StaffDirectory(app).make(role="focal_point")
    laptop = app.test_client()
    assert _logged_in(laptop, person)
    thief = app.test_client()  # holds a copy of the session cookie, not the device cookie
    thief.set_cookie("__Host-session", laptop.get_cookie("__Host-session").value, domain="localhost",
                     secure=True)

    def change(client, current: str):
        return client.post("/staff/password", data={
            "current_password": current, "password": "a brand new long passphrase",
            "password_confirm": "a brand new long passphrase",
            "csrf_token": csrf_of(client, "/staff/password")})

    statuses = [change(thief, f"guess number {n} of the password").status_code for n in range(6)]
    assert statuses == [400] * 5 + [429]
    assert change(thief, person.password).status_code == 429, "not even the right one, while throttled"
    assert _wrong(_browser(app, address="198.51.100.9"), person.email, person.password).status_code == 429
    assert change(laptop, person.password).status_code == 200, "the person's own device is not locked out"


def test_recovery_attempts_share_the_accounts_budget_with_logins(app_factory):
    app = app_factory(REPORTER_LOGIN_ACCOUNT_LIMIT="4 per minute")
    person = StaffDirectory(app).make(role="auditor")
    client = app.test_client()
    for _ in range(2):
        assert _wrong(client, person.email).status_code == 401

    def recover():
        return client.post("/staff/recover", data={
            "email": person.email, "recovery_code": "A" * 26, "code": "123456",
            "password": "a brand new long passphrase", "password_confirm": "a brand new long passphrase",
            "csrf_token": csrf_of(client, "/staff/recover")})

    assert [recover().status_code for _ in range(3)] == [401, 401, 429]
    assert _wrong(client, person.email, person.password).status_code == 429
