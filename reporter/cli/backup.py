"""`reporter backup`: encrypted backups of the whole installation, and restoring one.

`keygen` and `restore` work on an instance that has no keys yet (restore fills an empty one), so
this group belongs to `main` itself and builds the application only where it needs one (`create`).
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from reporter import config, instance_files
from reporter.audit import chain
from reporter.cli.instance import make_app
from reporter.database import make_engine
from reporter.evidence.store import StoreUnavailable, store_of
from reporter.extensions import db
from reporter.lifecycle import backup, backup_keys, loading, restore
from reporter.lifecycle.backup_format import BackupInvalid
from reporter.web import context

_REFUSALS = (BackupInvalid, backup.BackupRefused, backup_keys.BackupKeyError, restore.RestoreRefused,
             loading.TargetRefused, config.ConfigError, StoreUnavailable)


@click.group("backup")
def backup_group() -> None:
    """Encrypted backups of the whole installation, and restoring one."""


def _settings() -> Flask:
    """Return a bare application carrying this instance's settings (it needs no keys)."""
    app = Flask("reporter", instance_path=config.default_instance_path(), instance_relative_config=True)
    try:
        config.load(app, None)
    except config.ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    return app


@backup_group.command("keygen")
@click.option("--private-to", "private_to", type=click.Path(dir_okay=False),
              help="Where to write the private key (default: backup-private.key.MOVE-OFFLINE in the instance "
                   "folder). Best: a removable drive that goes offline afterwards.")
def backup_keygen(private_to: str | None) -> None:
    """Create the backup key pair: backup.pub in the key folder, the private half for offline storage."""
    settings = _settings()
    keys = Path(settings.config["REPORTER_KEYS_PATH"])
    private = Path(private_to) if private_to else Path(settings.instance_path) / backup_keys.PRIVATE_FILE
    try:
        public, private = backup_keys.create_backup_keys(keys, private)
    except (backup_keys.BackupKeyError, OSError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"created {public}")
    click.echo(f"created {private}")
    click.secho(f"The backup private key is in {private}. Move it to offline storage now (and keep a second "
                "copy elsewhere): every backup opens only with it, and it must not stay on this server.",
                fg="yellow", err=True)


@backup_group.command("create")
@click.option("--to", "destination", required=True, type=click.Path(dir_okay=False),
              help="The backup file to write (a new name).")
def backup_create(destination: str) -> None:
    """Write one encrypted file with the database, the attachment files and the instance keys."""
    app = make_app()
    with app.app_context():
        keys = Path(app.config["REPORTER_KEYS_PATH"])
        not_included = backup.key_variables()
        if app.config["REPORTER_SECRET_KEY"] and "REPORTER_SECRET_KEY" not in not_included:
            not_included.append("REPORTER_SECRET_KEY")
        try:
            public = backup_keys.read_public_key(keys)
            assert db.engine is not None
            summary = backup.create_backup(destination, engine=db.engine, keys_path=keys,
                                           store=context.attachment_store(app), public=public,
                                           keys_not_included=not_included)
        except _REFUSALS as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            raise click.ClickException(f"cannot write the backup: {exc.strerror or exc}") from None
        with db.writing() as session:
            chain.record(session, actor=chain.CONSOLE, action="backup.created",
                         detail={"rows": sum(summary.rows.values()), "files": summary.files})
            session.commit()
    click.echo(f"backup written: {destination} ({sum(summary.rows.values())} rows in {len(summary.rows)} "
               f"tables, {summary.files} attachment files, {len(summary.key_files)} key files)")
    for name in summary.skipped_keys:
        click.secho(f"left out {name}: a private key that belongs offline, never in a backup", fg="yellow",
                    err=True)
    if summary.missing_files:
        click.secho(f"{len(summary.missing_files)} attachment file(s) named by the database are missing "
                    "from the store (see `reporter vault check`)", fg="yellow", err=True)
    if summary.keys_not_included:
        click.secho("Keys set in the environment are not in the backup: "
                    + ", ".join(summary.keys_not_included)
                    + ". Keep them in your secret store; a restore needs them set again.",
                    fg="yellow", err=True)


@backup_group.command("restore")
@click.argument("backup_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--backup-key", "backup_key", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The offline backup private key file.")
def backup_restore(backup_file: str, backup_key: str) -> None:
    """Restore a backup onto an empty instance (no keys, no attachment files, a database without rows)."""
    settings = _settings()
    url = settings.config["REPORTER_DATABASE_URL"]
    engine = make_engine(url)
    try:
        private = backup_keys.read_private_key(backup_key)
        done = restore.restore_backup(
            backup_file, private, engine=engine, instance_path=settings.instance_path,
            keys_path=settings.config["REPORTER_KEYS_PATH"],
            checkpoint_every=int(settings.config["REPORTER_AUDIT_CHECKPOINT_EVERY"]),
            store=store_of(settings.config, settings.instance_path))
    except _REFUSALS as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"the target database refused the restore ({type(exc).__name__}); "
                                   "nothing was committed") from None
    except OSError as exc:
        raise click.ClickException(f"cannot write the restored files: {exc.strerror or exc} "
                                   f"({exc.filename}); run the restore again once this is fixed") from None
    finally:
        engine.dispose()
    instance_files.restrict_database(url)
    verb = "finished the interrupted restore of" if done.resumed else "restored"
    click.echo(f"{verb} the backup made {done.manifest.created_at} UTC: {done.rows} rows, {done.files} "
               f"attachment files, {done.key_files} key files; the audit chain verifies")
    if done.manifest.keys_not_included:
        missing = [name for name in done.manifest.keys_not_included if not os.environ.get(name)]
        if missing:
            click.secho("The installation kept these keys in its environment, not in the backup; set them "
                        "before starting: " + ", ".join(missing), fg="yellow", err=True)
