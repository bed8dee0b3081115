"""`reporter users ...` and the demo staff: staff accounts from the server's console.

The console is the installation's root of trust: whoever has its shell has the instance keys. So the
first admin and the first coordinator are invited here (see reporter.staff on the bootstrap rule);
everyone after them is invited by an admin and vetted by a coordinator.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import click
import pyotp
from flask import current_app
from flask.cli import with_appcontext

from reporter.cases import routing
from reporter.extensions import db
from reporter.keyring import Keyring
from reporter.models.base import utcnow
from reporter.models.report import CATEGORIES
from reporter.models.routing import ANY
from reporter.models.staff import ROLES
from reporter.staff import enrolment, lifecycle
from reporter.web import context
from reporter.web.context import kdf_params

DEMO_DOMAIN = "demo.invalid"


def _base_url(given: str | None) -> str:
    return (given or current_app.config.get("REPORTER_BASE_URL") or "http://127.0.0.1:5000").rstrip("/")


@click.group("users")
def users_group() -> None:
    """Manage staff accounts from the server's console."""


@users_group.command("invite")
@click.option("--email", required=True, help="The person's e-mail address (their login name).")
@click.option("--role", required=True, type=click.Choice(ROLES), help="The person's role.")
@click.option("--region", default=None, help="ISO country code; required for focal points and coordinators.")
@click.option("--name", "display_name", default=None,
              help="Public name of a focal point (shown to reporters who exclude a person).")
@click.option("--base-url", default=None, help="Public address of this site (default: REPORTER_BASE_URL).")
@with_appcontext
def invite_command(email: str, role: str, region: str | None, display_name: str | None,
                   base_url: str | None) -> None:
    """Invite a person and print their single-use enrolment link."""
    hours = int(current_app.config["REPORTER_ENROLMENT_HOURS"])
    try:
        invitation = lifecycle.invite(email, role, region, session=db.session, invited_by=None, now=utcnow(),
                                  display_name=display_name,
                                  lifetime=timedelta(hours=hours))
    except lifecycle.StaffError as refused:
        raise click.ClickException(f"invitation refused: {refused.reason}") from None
    click.echo(f"Enrolment link for {invitation.person.email} ({role}), single use, valid {hours} hours:")
    click.echo(f"{_base_url(base_url)}/staff/enroll/{invitation.token}")
    if invitation.person.vetting == "approve":
        click.secho("Bootstrap: no coordinator is active yet, so this person is approved from the console "
                    "and becomes active on enrolment.", fg="yellow", err=True)
    else:
        click.echo("A coordinator must vet this person after enrolment.")


def _enrol_demo(invitation: lifecycle.Invitation, keyring: Keyring) -> tuple[str, str]:
    password = "demo-" + secrets.token_urlsafe(12)
    chosen = enrolment.choose_password(invitation.token, password, session=db.session, keyring=keyring,
                                   params=kdf_params(), now=utcnow())
    # Confirm with the previous step's code, so the printed secret's current code logs in at once.
    earlier = pyotp.TOTP(chosen.totp_secret).at(datetime.now(UTC) - timedelta(seconds=30))
    enrolment.confirm_totp(invitation.token, chosen.binding, earlier, session=db.session, keyring=keyring,
                       now=utcnow())
    return password, chosen.totp_secret


@click.command("seed-demo-staff")
@with_appcontext
def seed_demo_staff() -> None:
    """Create one active person of each role and print their e-mail, password and TOTP secret."""
    if lifecycle.find_by_email(db.session, f"admin@{DEMO_DOMAIN}") is not None:
        click.echo("demo staff exist already (their passwords were printed when they were made)")
        return
    keyring: Keyring = context.keyring()
    lifetime, made = timedelta(hours=1), []
    plan = [("admin", None, "console", None), ("coordinator", "GE", "console", None),
            ("focal_point", "GE", "admin", "Nino (Tbilisi)"), ("auditor", None, "admin", None)]
    people: dict[str, lifecycle.StaffMember] = {}
    for role, region, inviter, name in plan:
        invitation = lifecycle.invite(f"{role.replace('_', '-')}@{DEMO_DOMAIN}", role, region,
                                      session=db.session, invited_by=people.get(inviter), now=utcnow(),
                                      lifetime=lifetime, display_name=name)
        password, secret = _enrol_demo(invitation, keyring)
        person = invitation.person
        if person.state == "enrolled":
            lifecycle.vet(person.id, "approve", session=db.session, vetter=people["coordinator"],
                          now=utcnow())
        people[role] = person
        made.append((person.email, role, password, secret))
    routing.save_rule(db.session, coordinator=people["coordinator"], category=ANY, language=ANY,
                      members=[people["focal_point"].id], categories=CATEGORIES,
                      languages=current_app.config["REPORTER_LANGUAGES"], now=utcnow())
    click.echo("Demo staff (log in at /staff/login; add the TOTP secret to an authenticator app):")
    for email, role, password, secret in made:
        click.echo(f"  {role:<12} {email:<28} password {password}  TOTP secret {secret}")
