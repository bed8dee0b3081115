"""`reporter vault check`: the encrypted attachment store against the database."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from reporter.evidence import attachments
from reporter.evidence.store import StoreUnavailable
from reporter.extensions import db
from reporter.lifecycle import purge
from reporter.web import context

#: Temporary files younger than this may belong to an upload in progress; --discard-stale leaves them.
STALE_SECONDS = 3600


@click.group("vault", cls=AppGroup)
def vault_group() -> None:
    """Check the encrypted attachment store against the database."""


@vault_group.command("check")
@click.option("--discard-stale", is_flag=True,
              help=f"Remove temporary files of interrupted writes older than {STALE_SECONDS // 60} minutes.")
def vault_check(discard_stale: bool) -> None:
    """List attachment rows without files and files without rows; exit 1 if there are any."""
    store = context.attachment_store()
    try:
        if discard_stale:
            removed = store.discard_stale(older_than_seconds=STALE_SECONDS)
            click.echo(f"removed {removed} stale temporary file(s)")
        with db.writing() as session:
            found = attachments.check_store(session, store)
            purged = purge.pending_files(session)
        present = len(store.ids())
    except StoreUnavailable as unavailable:
        raise click.ClickException(str(unavailable)) from None
    for attachment_id in found.ids_without_files:
        click.echo(f"row without file: {attachment_id}")
    for name in found.files_without_ids:
        click.echo(f"file without row: {name}")
    if purged:
        click.echo(f"{purged} file(s) of purged cases still to be removed: run `reporter retention purge`")
    if found.ids_without_files or found.files_without_ids:
        sys.exit(1)
    click.echo(f"consistent: {present} file(s), every one with its row")
