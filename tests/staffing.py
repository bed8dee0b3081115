"""Real staff for tests: people enrolled through the domain flow, and a browser that logs them in.

``StaffDirectory.make(role=...)`` invites a person as the bootstrap admin, enrols them (password, key
pair, TOTP) and has the bootstrap coordinator vet them: the separation-of-duty rules hold for every
person a test uses. The KDF is fast in tests (REPORTER_ARGON2_TEST_FAST), except where a test asks
for the real cost.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pyotp
from flask import Flask
from flask.testing import FlaskClient

from reporter.cases import routing
from reporter.extensions import db
from reporter.keyring import unwrap_with_password
from reporter.models import StaffMember
from reporter.models.base import utcnow
from reporter.models.report import CATEGORIES
from reporter.models.routing import ANY
from reporter.staff import enrolment, lifecycle, offboarding
from reporter.web.context import kdf_params

PASSWORD_OF = "{role} has a long passphrase {n}"
CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class StaffAccount:
    """A test person and the secrets only they would know."""

    id: str
    email: str
    role: str
    region: str | None
    password: str
    totp_secret: str = ""
    recovery_code: str = ""
    token: str = ""
    used_steps: set[int] = field(default_factory=set)

    def code(self) -> str:
        """Return a TOTP code for a step not used yet (now, or one step either side).

        Not in the last two seconds of a step: the server checks the code against its own clock a
        moment later, and a code of the previous step taken just before a boundary would then be two
        steps old.
        """
        totp = pyotp.TOTP(self.totp_secret)
        left = totp.interval - time.time() % totp.interval
        if left < 2:
            time.sleep(left + 0.05)
        current = totp.timecode(datetime.now(UTC))
        for step in (current - 1, current, current + 1):
            if step not in self.used_steps and step > max(self.used_steps, default=0):
                self.used_steps.add(step)
                return totp.generate_otp(step)
        raise AssertionError("no unused TOTP step left in this 30-second window")


class StaffDirectory:
    """Makes staff through the real domain flow, with one bootstrap admin and coordinator."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.count = 0
        self._admin: StaffAccount | None = None
        self._coordinator: StaffAccount | None = None

    @property
    def admin(self) -> StaffAccount:
        """Return the bootstrap admin (invited at the console), who invites everyone else."""
        if self._admin is None:
            self._admin = self._enrol(self._invite("admin", None, None))
        return self._admin

    @property
    def coordinator(self) -> StaffAccount:
        """Return the bootstrap coordinator (invited at the console), who vets everyone else."""
        if self._coordinator is None:
            self.admin  # noqa: B018 - the admin comes first, as in a real installation
            self._coordinator = self._enrol(self._invite("coordinator", "GE", None))
        return self._coordinator

    def _invite(self, role: str, region: str | None, inviter: StaffAccount | None) -> StaffAccount:
        self.count += 1
        email = f"{role}.{self.count}@example.org"
        with self.app.app_context():
            by = db.session.get(StaffMember, inviter.id) if inviter else None
            invitation = lifecycle.invite(email, role, region, session=db.session, invited_by=by,
                                          now=utcnow(), lifetime=timedelta(hours=72))
            return StaffAccount(id=invitation.person.id, email=email, role=role, region=region,
                                password=PASSWORD_OF.format(role=role, n=self.count), token=invitation.token)

    def _enrol(self, account: StaffAccount) -> StaffAccount:
        with self.app.app_context():
            keyring = self.app.extensions["reporter.keyring"]
            chosen = enrolment.choose_password(account.token, account.password, session=db.session,
                                           keyring=keyring, params=kdf_params(self.app), now=utcnow())
            account.totp_secret, account.recovery_code = chosen.totp_secret, chosen.recovery_code
            enrolment.confirm_totp(account.token, chosen.binding, account.code(), session=db.session,
                               keyring=keyring, now=utcnow())
        return account

    def make(self, role: str = "focal_point", region: str | None = None, *, state: str = "active",
             invited_by: StaffAccount | None = None) -> StaffAccount:
        """Return a person of `role` in `state` (invited, enrolled or active), made the real way."""
        if region is None and role in ("focal_point", "coordinator"):
            region = "GE"
        vetter = self.coordinator
        account = self._invite(role, region, invited_by or self.admin)
        if state == "invited":
            return account
        self._enrol(account)
        if state == "enrolled":
            return account
        with self.app.app_context():
            me = db.session.get(StaffMember, vetter.id)
            lifecycle.vet(account.id, "approve", session=db.session, vetter=me, now=utcnow())
        return account

    def deactivate(self, account: StaffAccount, *, by: StaffAccount | None = None) -> offboarding.Offboarded:
        """Offboard a person: the bootstrap admin asks, a coordinator (`by`, else the bootstrap one) confirms.

        Offboarding the bootstrap coordinator is confirmed by a second coordinator of the same country,
        made here for it.
        """
        confirming = by or self.coordinator
        if confirming.id == account.id:
            confirming = self.make("coordinator", account.region)
        with self.app.app_context():
            admin = db.session.get(StaffMember, self.admin.id)
            offboarding.request_offboarding(account.id, session=db.session, admin=admin, now=utcnow())
            return self.confirm(account, by=confirming)

    def confirm(self, account: StaffAccount, *, by: StaffAccount) -> offboarding.Offboarded:
        """Confirm a requested offboarding as the coordinator `by` (with their unwrapped key)."""
        with self.app.app_context():
            coordinator = db.session.get(StaffMember, by.id)
            assert coordinator is not None
            key = unwrap_with_password(coordinator, by.password)
            return offboarding.confirm_offboarding(account.id, session=db.session, coordinator=coordinator,
                                                   private_key=key, now=utcnow())

    def suspend(self, account: StaffAccount) -> None:
        """Suspend a person as the bootstrap admin."""
        with self.app.app_context():
            admin = db.session.get(StaffMember, self.admin.id)
            offboarding.suspend(account.id, session=db.session, admin=admin, now=utcnow())

    def person(self, account: StaffAccount) -> StaffMember:
        """Return the stored row of a person (outside any request)."""
        with self.app.app_context():
            person = db.session.get(StaffMember, account.id)
            assert person is not None
            db.session.expunge(person)
            return person


def directory_of(app: Flask) -> StaffDirectory:
    """Return the one staff directory of an app (so the bootstrap people are made once per app)."""
    directory: StaffDirectory = app.extensions.setdefault("tests.staff_directory", StaffDirectory(app))
    return directory


def route_georgia_to(app: Flask, person_id: str) -> None:
    """Make the bootstrap coordinator route every case of Georgia to the person `person_id`."""
    coordinator = directory_of(app).coordinator
    with app.app_context():
        me = db.session.get(StaffMember, coordinator.id)
        assert me is not None
        routing.save_rule(db.session, coordinator=me, category=ANY, language=ANY, members=[person_id],
                          categories=CATEGORIES, languages=app.config["REPORTER_LANGUAGES"], now=utcnow())


def ensure_coordinator(app: Flask) -> None:
    """Make the bootstrap coordinator unless the database already has an active one."""
    from sqlalchemy import func, select

    with app.app_context():
        active = db.session.scalar(select(func.count()).select_from(StaffMember).where(
            StaffMember.role == "coordinator", StaffMember.state == "active"))
    if not active:
        directory_of(app).coordinator  # noqa: B018 - made on first use


def csrf_of(client: FlaskClient, path: str) -> str:
    """Return a fresh CSRF token from the form at `path`."""
    match = CSRF_PATTERN.search(client.get(path).get_data(as_text=True))
    assert match, f"no csrf_token on {path}"
    return match.group(1)


def login(client: FlaskClient, account: StaffAccount, *, next_path: str | None = None,
          password: str | None = None) -> Any:
    """Log in through both steps (password, then TOTP) and return the final response."""
    query = "?" + urlencode({"next": next_path}) if next_path else ""
    token = csrf_of(client, "/staff/login" + query)
    first = client.post("/staff/login", data={
        "email": account.email, "password": password or account.password, "csrf_token": token,
        "next": next_path or ""})
    if first.status_code != 302:
        return first
    token = csrf_of(client, first.headers["Location"])
    return client.post("/staff/login/totp", data={"code": account.code(), "csrf_token": token,
                                                   "next": next_path or ""})
