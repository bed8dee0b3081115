"""`reporter cases escalate`: deadlines of cases, meant for cron (every few minutes)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from reporter.cases import triage
from reporter.extensions import db
from reporter.models.base import utcnow
from reporter.web.notify import send_pending


@click.group("cases")
def cases_group() -> None:
    """Deadlines of cases."""


@cases_group.command("escalate")
@with_appcontext
def escalate_command() -> None:
    """Escalate every open case past its deadline to the coordinators (once per deadline)."""
    with db.writing() as session:
        escalated = triage.escalate_overdue(session, now=utcnow())
    send_pending(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(f"escalated {len(escalated)} overdue case(s)")
