"""`reporter users invite`: staff accounts from the server's console.

The console is the installation's root of trust: whoever has its shell has the instance keys. So the
first admin and the first coordinator are invited here (see reporter.staff on the bootstrap rule);
everyone after them is invited by an admin and vetted by a coordinator.
"""

from __future__ import annotations

from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from reporter.extensions import db
from reporter.models.base import utcnow
from reporter.models.staff import ROLES
from reporter.staff import lifecycle


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
                                      display_name=display_name, lifetime=timedelta(hours=hours))
    except lifecycle.StaffError as refused:
        raise click.ClickException(f"invitation refused: {refused.reason}") from None
    click.echo(f"Enrolment link for {invitation.person.email} ({role}), single use, valid {hours} hours:")
    click.echo(f"{_base_url(base_url)}/staff/enroll/{invitation.token}")
    if invitation.person.vetting == "approve":
        click.secho("Bootstrap: no coordinator is active yet, so this person is approved from the console "
                    "and becomes active on enrolment.", fg="yellow", err=True)
    else:
        click.echo("A coordinator must vet this person after enrolment.")
