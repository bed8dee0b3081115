"""`reporter notify send`: send the notification outbox now (the server also does, after each commit)."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext

from reporter.web.notify import send_pending


@click.group("notify")
def notify_group() -> None:
    """Content-free e-mail notifications."""


@notify_group.command("send")
@with_appcontext
def notify_send_command() -> None:
    """Send every notification that is due now."""
    if not current_app.config["REPORTER_SMTP_URL"]:
        raise click.ClickException("REPORTER_SMTP_URL is not set: notifications are off")
    sent = send_pending(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(f"sent {sent} notification(s)")
