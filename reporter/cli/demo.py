"""The sample data of `reporter demo`: one active person of each role and a few reports, made the real way.

Nothing here is a shortcut: the people are invited, enrolled and vetted, and the reports submitted,
through the same domain functions the web pages use, so a demo behaves like an installation.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyotp
from sqlalchemy.orm import Session

from reporter.cases import routing
from reporter.crypto.wrapping import KdfParams
from reporter.extensions import db
from reporter.intake.submission import submit_report
from reporter.intake.validation import ReportDraft
from reporter.keyring import Keyring
from reporter.models.base import utcnow
from reporter.models.report import CATEGORIES
from reporter.models.routing import ANY
from reporter.staff import enrolment, lifecycle

DOMAIN = "demo.invalid"

#: (role, region, who invites them, public name), in order: the console invites the first admin and
#: coordinator (the bootstrap), the admin everyone after them.
STAFF_PLAN = (("admin", None, "console", None), ("coordinator", "GE", "console", None),
              ("focal_point", "GE", "admin", "Nino (Tbilisi)"), ("auditor", None, "admin", None))

SAMPLES: list[dict[str, Any]] = [
    {"incident_kind": "online", "category": "smear_campaign", "country": "GE",
     "description": "Sample: a coordinated group of accounts posts edited photos of me with false claims.",
     "perpetrator": "Sample: three anonymous channels", "language": "en"},
    {"incident_kind": "offline", "category": "stalking", "country": "AM",
     "description": "Пример: незнакомый мужчина третий день ждёт меня у подъезда.",
     "perpetrator": "", "language": "ru"},
    {"incident_kind": "both", "category": "doxxing", "country": "KZ",
     "description": "Sample: my home address and my children's school were published in a chat group.",
     "perpetrator": "", "language": "en"},
]


@dataclass(frozen=True)
class DemoLogin:
    """What a demo person logs in with."""

    email: str
    role: str
    password: str
    totp_secret: str


def staff_exist(session: Session) -> bool:
    """Return whether the demo staff were made already."""
    return lifecycle.find_by_email(session, f"admin@{DOMAIN}") is not None


def make_staff(session: Session, *, keyring: Keyring, params: KdfParams,
               languages: Sequence[str]) -> list[DemoLogin]:
    """Make one active person of each role and a rule routing every Georgian case to the focal point."""
    people: dict[str, lifecycle.StaffMember] = {}
    logins = []
    for role, region, inviter, name in STAFF_PLAN:
        invitation = lifecycle.invite(f"{role.replace('_', '-')}@{DOMAIN}", role, region, session=session,
                                      invited_by=people.get(inviter), now=utcnow(),
                                      lifetime=timedelta(hours=1), display_name=name)
        password, secret = _enrol(session, invitation, keyring, params)
        person = invitation.person
        if person.state == "enrolled":
            lifecycle.vet(person.id, "approve", session=session, vetter=people["coordinator"], now=utcnow())
        people[role] = person
        logins.append(DemoLogin(person.email, role, password, secret))
    routing.save_rule(session, coordinator=people["coordinator"], category=ANY, language=ANY,
                      members=[people["focal_point"].id], categories=CATEGORIES, languages=languages,
                      now=utcnow())
    return logins


def _enrol(session: Session, invitation: lifecycle.Invitation, keyring: Keyring,
           params: KdfParams) -> tuple[str, str]:
    password = "demo-" + secrets.token_urlsafe(12)
    chosen = enrolment.choose_password(invitation.token, password, session=session, keyring=keyring,
                                       params=params, now=utcnow())
    # Confirm with the previous step's code, so the printed secret's current code logs in at once.
    earlier = pyotp.TOTP(chosen.totp_secret).at(datetime.now(UTC) - timedelta(seconds=30))
    enrolment.confirm_totp(invitation.token, chosen.binding, earlier, session=session, keyring=keyring,
                           now=utcnow())
    return password, chosen.totp_secret


def submit_samples(keyring: Keyring) -> Iterator[tuple[str, str]]:
    """Submit each sample report, one transaction each; yield its label and receipt."""
    for number, sample in enumerate(SAMPLES):
        draft = ReportDraft(occurred_on=date.today() - timedelta(days=3 * number + 1), **sample)
        with db.writing() as session:
            submitted = submit_report(draft, session=session, keyring=keyring)
        yield f"{sample['country']}/{sample['category']}", submitted.receipt
