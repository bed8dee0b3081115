"""`reporter db`: move the installation to another database."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import Engine
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from reporter import instance_files
from reporter.database import make_engine
from reporter.extensions import db
from reporter.lifecycle import copy, loading
from reporter.web import context


@click.group("db")
def db_group() -> None:
    """Move the installation to another database."""


@db_group.command("copy")
@click.option("--to", "url", required=True,
              help="The empty target database, e.g. postgresql+psycopg://user@host/dbname or sqlite:////path/x.db")
@with_appcontext
def db_copy(url: str) -> None:
    """Copy every table, audit chain included, into an empty database and verify it there."""
    try:
        target = make_engine(url)
    except (ArgumentError, ValueError):
        raise click.ClickException("the target is not a database URL this installation can use") from None
    with ExitStack() as stack:
        bars: list[Any] = []

        def started(total: int) -> None:
            bars.append(stack.enter_context(click.progressbar(length=total, label="copying rows",
                                                              show_pos=True)))

        copied = _copy(target, started, lambda rows: bars[0].update(rows))
    instance_files.restrict_database(url)
    click.echo(f"copied {sum(copied.rows.values())} rows in {len(copied.rows)} tables; row counts match; the "
               f"audit chain verifies on the target ({copied.events} events)")
    click.echo("Point the installation at the copy: set REPORTER_DATABASE_URL to the target URL and restart.")


def _copy(target: Engine, started: Callable[[int], None], advance: Callable[[int], None]) -> copy.Copied:
    assert db.engine is not None
    try:
        keyring = context.keyring()
        return copy.copy_database(db.engine, target, signer=keyring.audit_signing_key,
                                  verification_keys=keyring.audit_verification_keys(),
                                  checkpoint_every=int(current_app.config["REPORTER_AUDIT_CHECKPOINT_EVERY"]),
                                  started=started, advance=advance)
    except (loading.TargetRefused, copy.CopyFailed) as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"the target database refused the copy ({type(exc).__name__}); nothing "
                                   "was committed there") from None
    finally:
        target.dispose()
