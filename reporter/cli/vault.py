"""`reporter vault check`: the encrypted attachment store against the database."""

from __future__ import annotations

import sys
import time

import click
from flask.cli import AppGroup

from reporter.audit import chain
from reporter.evidence import attachments
from reporter.evidence.store import AttachmentStore, StoreUnavailable
from reporter.extensions import db
from reporter.lifecycle import purge
from reporter.web import context

#: Files younger than this may belong to an upload in progress; --discard-stale leaves them.
STALE_MINUTES = 60


@click.group("vault", cls=AppGroup)
def vault_group() -> None:
    """Check the encrypted attachment store against the database."""


@vault_group.command("check")
@click.option("--discard-stale", is_flag=True,
              help="Remove what interrupted submissions left: temporary files, and files without rows "
                   "(never readable: their key was never committed) older than --older-than.")
@click.option("--older-than", "older_than", type=click.IntRange(min=0), metavar="MINUTES",
              help=f"With --discard-stale: the age in minutes a file must have (default {STALE_MINUTES}); "
                   "0 removes every one, only once every server of the installation is stopped.")
def vault_check(discard_stale: bool, older_than: int | None) -> None:
    """List attachment rows without files and files without rows; exit 1 if there are any."""
    if older_than is not None and not discard_stale:
        raise click.UsageError("--older-than goes with --discard-stale")
    store = context.attachment_store()
    try:
        if discard_stale:
            discard(store, STALE_MINUTES if older_than is None else older_than)
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


def discard(store: AttachmentStore, minutes: int) -> None:
    """Remove stale temporary files and old files without rows; print their ids; audit the removal."""
    seconds = minutes * 60
    written_before = time.time() - seconds
    removed = store.discard_stale(older_than_seconds=seconds)
    click.echo(f"removed {removed} stale temporary file(s)")
    with db.writing() as session:
        orphans = attachments.discard_orphans(session, store, written_before=written_before)
        for store_id in orphans:
            click.echo(f"removed file without row: {store_id}")
        click.echo(f"removed {len(orphans)} file(s) without row written more than {minutes} minute(s) ago")
        if orphans:
            chain.record(session, actor=chain.CONSOLE, action="vault.orphans_removed",
                         detail={"files": len(orphans), "older_than_minutes": minutes})
            session.commit()
