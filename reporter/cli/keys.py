"""`reporter keys recover`: the one command that uses the offline escrow key (see reporter.escrow)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from reporter import escrow
from reporter.extensions import db
from reporter.keyring import read_escrow_private_key
from reporter.web import context


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
    current public key, replacing their old seal. The key's fingerprint is shown first (compare it
    with the one the person sees), and a record that does not verify is refused. Each re-sealed case
    is an audit event.
    """
    key_pair = read_escrow_private_key(escrow_key)
    try:
        with db.writing() as session:
            found = escrow.target(session, email)
            state = "verified" if found.verified else "DOES NOT VERIFY (changed outside the application)"
            click.echo(f"sealing to the key of {email}: fingerprint {found.fingerprint}; record {state}")
            done = escrow.recover(session, keyring=context.keyring(), escrow_key=key_pair, email=email)
    except escrow.RecoveryRefused as refused:
        raise click.ClickException(str(refused)) from None
    for report_id in done.skipped:
        click.echo(f"case {report_id}: the escrow seal does not open (skipped)", err=True)
    click.echo(f"re-sealed {done.recovered} case(s) to the current key of {email}")
