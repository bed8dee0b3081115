"""Commands for the case side, meant for cron or the operator's console:

    reporter cases escalate   # every few minutes: overdue cases go to the coordinators
    reporter notify send      # send the notification outbox now (the server also does, after commits)
    reporter keys recover --escrow-key FILE --user EMAIL
"""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from reporter import vault
from reporter.audit import chain
from reporter.cases import routing, triage
from reporter.crypto import CiphertextInvalid
from reporter.extensions import db
from reporter.keyring import read_escrow_private_key
from reporter.models import Seal
from reporter.models.base import utcnow
from reporter.staff import lifecycle
from reporter.web import context


@click.group("cases")
def cases_group() -> None:
    """Deadlines of cases."""


@cases_group.command("escalate")
@with_appcontext
def escalate_command() -> None:
    """Escalate every open case past its deadline to the coordinators (once per deadline)."""
    with db.writing() as session:
        escalated = triage.escalate_overdue(session, now=utcnow())
    from reporter.web.notify import send_pending

    send_pending(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(f"escalated {len(escalated)} overdue case(s)")


@click.group("notify")
def notify_group() -> None:
    """Content-free e-mail notifications."""


@notify_group.command("send")
@with_appcontext
def notify_send_command() -> None:
    """Send every notification that is due now."""
    from reporter.web.notify import send_pending

    if not current_app.config["REPORTER_SMTP_URL"]:
        raise click.ClickException("REPORTER_SMTP_URL is not set: notifications are off")
    sent = send_pending(current_app._get_current_object())  # type: ignore[attr-defined]
    click.echo(f"sent {sent} notification(s)")


@click.group("keys")
def keys_group() -> None:
    """Key operations that need the offline escrow key."""


@keys_group.command("recover")
@click.option("--escrow-key", "escrow_key", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The offline escrow private key file.")
@click.option("--user", "email", required=True, help="E-mail address of the staff member.")
@with_appcontext
def keys_recover_command(escrow_key: str, email: str) -> None:
    """Re-seal every case a person holds to their current public key (after their key was replaced).

    The escrow key opens each case's escrow seal; the data key is sealed again to the person's
    current public key, replacing their old seal. Each re-sealed case is an audit event.
    """
    escrow = read_escrow_private_key(escrow_key)
    keyring = context.keyring()
    if escrow.public != keyring.escrow_public_key:
        raise click.ClickException("this escrow key does not belong to this installation")
    with db.writing() as session:
        person = lifecycle.find_by_email(session, email)
        if person is None or person.state != "active" or person.public_key is None:
            raise click.ClickException("no active staff member with a key has this e-mail address")
        held = list(session.scalars(select(Seal).where(Seal.recipient_kind == "staff",
                                                       Seal.recipient_id == person.id)))
        recovered = 0
        for seal in held:
            escrow_seal = session.scalars(select(Seal).where(Seal.report_id == seal.report_id,
                                                             Seal.recipient_kind == "escrow")).first()
            if escrow_seal is None:
                continue
            try:
                data_key = vault.open_public_key_seal(escrow_seal, escrow.private)
            except CiphertextInvalid:
                click.echo(f"case {seal.report_id}: the escrow seal does not open (skipped)", err=True)
                continue
            report = escrow_seal.report
            recipient = routing.Recipient(id=person.id, role=person.role, public_key=person.public_key,
                                          suite=person.key_suite or "")
            seal.sealed_key = routing.seals_for(report, data_key, [recipient])[0].sealed_key
            seal.suite, seal.key_version = recipient.suite, report.key_version
            chain.record(session, actor=chain.CONSOLE, action="keys.recovered", object_type="report",
                         object_id=report.id, detail={"staff": person.id})
            recovered += 1
        session.commit()
    click.echo(f"re-sealed {recovered} case(s) to the current key of {email}")
