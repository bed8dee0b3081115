"""`reporter retention`: retention: crypto-shred cases past the retention period."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click
from flask.cli import with_appcontext
from sqlalchemy.exc import SQLAlchemyError

from reporter.extensions import db
from reporter.lifecycle import purge
from reporter.models.base import utcnow
from reporter.web import context

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar


@click.group("retention")
def retention_group() -> None:
    """Retention: crypto-shred cases past the retention period."""


def _list_due(now_label: str) -> None:
    session = db.new_session(write=False)
    try:
        now = utcnow()
        shown = 0
        for case in purge.due_cases(session, now):
            click.echo(f"would purge case {case.id}  closed {case.closed_month}  country {case.country}")
            shown += 1
        pending = purge.pending_files(session)
    finally:
        session.close()
    click.echo(f"dry run at {now_label}: {shown} case(s) would be purged; nothing was changed")
    if pending:
        click.echo(f"{pending} file(s) of cases purged earlier are still to be removed from the store")


@retention_group.command("purge")
@click.option("--dry-run", is_flag=True, help="List the cases that would be purged; change nothing.")
@click.option("--batch-size", default=purge.BATCH_SIZE, show_default=True, type=click.IntRange(1, 1000),
              help="Cases per transaction (each transaction holds the write lock).")
@with_appcontext
def purge_command(dry_run: bool, batch_size: int) -> None:
    """Crypto-shred every closed case past its retention date: seals, ciphertexts and files.

    Safe to run daily from several hosts at once, and to run again after an interruption: each batch
    of cases is one transaction, and files are removed after it committed.
    """
    now = utcnow()
    label = now.strftime("%Y-%m-%d %H:%M UTC")
    if dry_run:
        _list_due(label)
        return
    store = context.attachment_store()
    try:
        with db.writing() as session:
            total = purge.count_due(session, now)
            session.rollback()
            click.echo(f"{total} case(s) past their retention date at {label}")
            bar: ProgressBar[int]
            with click.progressbar(length=total, label="purging", file=sys.stderr) as bar:
                run = purge.purge(session, store, now, batch_size=batch_size,
                                  progress=lambda done: bar.update(done))
    except (SQLAlchemyError, OSError) as failed:
        raise click.ClickException(f"the purge stopped ({type(failed).__name__}); cases purged so far stay "
                                   "purged, the others are untouched: run it again") from None
    click.echo(f"purged {run.cases} case(s) in {run.batches} batch(es); longest batch "
               f"{run.longest_batch_seconds * 1000:.0f} ms")
    click.echo(f"removed {run.files_removed} attachment file(s)"
               + (f"; {run.files_missing} were already gone" if run.files_missing else ""))
    if run.cases:
        assert db.engine is not None
        click.echo(purge.reclaim(db.engine))
