"""The `reporter` command: init, run, demo (and, as features land, users, audit, keys, retention)."""

from __future__ import annotations

import base64
import json
import logging
import os
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext

from reporter import config
from reporter.keyring import create_instance_keys
from reporter.web import context

log = logging.getLogger(__name__)

INSTANCE_CONFIG = '''\
# Settings of this installation. Environment variables REPORTER_* override them.
# Keys live in keys/ beside this file (mode 0600); never commit or share that folder.
# REPORTER_DATABASE_URL = "postgresql+psycopg://user@host/dbname"
# REPORTER_REDIS_URL = "redis://127.0.0.1:6379/0"
# REPORTER_LANGUAGES = "en,ru"
# REPORTER_RETENTION_DAYS = 365
'''


def _make_app() -> Flask:
    from reporter import create_app
    from reporter.keyring import KeyringError

    try:
        return create_app()
    except (KeyringError, config.ConfigError) as exc:
        raise click.ClickException(str(exc)) from None


def register(app: Flask) -> None:
    """Attach the commands that need an application to `app`'s CLI."""
    from reporter.cli.cases import cases_group, keys_group, notify_group
    from reporter.cli.users import seed_demo_staff, users_group

    app.cli.add_command(seed_demo_reports)
    app.cli.add_command(users_group)
    app.cli.add_command(seed_demo_staff)
    for group in (cases_group, notify_group, keys_group):
        app.cli.add_command(group)


def initialise_instance(instance_path: str | None = None) -> Path:
    """Create the instance folder, config and keys if missing, then migrate the database."""
    from reporter import migrate
    from reporter.extensions import db

    path = Path(instance_path or config.default_instance_path())
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    config_file = path / "config.py"
    if not config_file.exists():
        config_file.write_text(INSTANCE_CONFIG)
    keys_path = os.environ.get("REPORTER_KEYS_PATH") or str(path / "keys")
    for created in create_instance_keys(keys_path):
        click.echo(f"created {created}")
        if created.name.endswith("MOVE-OFFLINE"):
            click.secho(
                f"The escrow private key is in {created}. Move it to offline storage now (a USB key in a "
                "safe): it recovers access when a staff member loses their password, and must not stay "
                "on this server.", fg="yellow", err=True,
            )
    _make_app()
    assert db.engine is not None
    migrate.upgrade(db.engine)
    click.echo(f"instance ready: {path}")
    return path


@click.group(cls=FlaskGroup, create_app=_make_app, add_default_commands=False, add_version_option=False)
def main() -> None:
    """Secure incident reporting: manage and serve this installation."""


@main.command("init", with_appcontext=False)
def init_command() -> None:
    """Create instance/ with config and keys, and create or migrate the database; safe to run twice."""
    initialise_instance()


def _serve(host: str, port: int) -> None:
    from werkzeug.serving import run_simple

    from reporter.web.privacy import PrivateRequestHandler

    if "REPORTER_HTTPS" not in os.environ:
        os.environ["REPORTER_HTTPS"] = "0"
    if os.environ["REPORTER_HTTPS"] in {"0", "false", "no", "off"}:
        click.secho(
            "WARNING: development server over plain HTTP. Cookies are not marked Secure and have no "
            "__Host- prefix. Serve production with gunicorn behind TLS (see README.md).",
            fg="red", bold=True, err=True,
        )
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = _make_app()
    run_simple(host, port, app, request_handler=PrivateRequestHandler, threaded=True)


@main.command("run", with_appcontext=False)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def run_command(host: str, port: int) -> None:
    """Run the development server (plain HTTP, for one machine)."""
    _serve(host, port)


SAMPLES: list[dict[str, Any]] = [
    {"incident_kind": "online", "category": "smear_campaign", "country": "GE",
     "description": "Sample: a coordinated group of accounts posts edited photos of me with false claims.",
     "perpetrator": "Sample: three anonymous channels", "language": "en"},
    {"incident_kind": "offline", "category": "stalking", "country": "AM",
     "description": "Пример: незнакомый мужчина третий день ждёт меня у подъезда.",
     "perpetrator": "", "language": "ru"},
    {"incident_kind": "both", "category": "doxxing", "country": "KZ",
     "description": "Sample: my home address and my children's school were published in a chat group.",
     "perpetrator": "", "language": "en"},
]


@click.command("seed-demo-reports")
@with_appcontext
def seed_demo_reports() -> None:
    """Store a few sample reports and print their receipts."""
    from reporter.crypto.receipts import display
    from reporter.extensions import db
    from reporter.intake.submission import submit_report
    from reporter.intake.validation import ReportDraft

    keyring = context.keyring()
    for number, sample in enumerate(SAMPLES):
        draft = ReportDraft(occurred_on=date.today() - timedelta(days=3 * number + 1), **sample)
        with db.writing() as session:
            submitted = submit_report(draft, session=session, keyring=keyring)
        label = f"{sample['country']}/{sample['category']}"
        click.echo(f"sample report {label}: receipt {display(submitted.receipt)}")


@main.command("demo", with_appcontext=False)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Prepare the demo data only.")
def demo_command(port: int, no_serve: bool) -> None:
    """Initialise, add sample reports and staff (receipts and logins printed), then serve on 127.0.0.1."""
    os.environ.setdefault("REPORTER_HTTPS", "0")
    initialise_instance()
    app = _make_app()
    with app.app_context():
        ctx = click.get_current_context()
        from reporter.cli.users import seed_demo_staff

        ctx.invoke(seed_demo_staff)  # first: a report is received only when someone can read it
        ctx.invoke(seed_demo_reports)
    if not no_serve:
        click.echo(f"open http://127.0.0.1:{port}/")
        _serve("127.0.0.1", port)


@main.group("audit")
def audit_group() -> None:
    """Verify and export the tamper-evident audit chain."""


def _audit_public_key() -> Any:
    return context.keyring().audit_signing_key.public_key()


@audit_group.command("verify")
@click.option("--against", "saved_head", type=click.Path(exists=True, dir_okay=False),
              help="A signed head saved earlier (from /audit/head or `reporter audit head`).")
def audit_verify(saved_head: str | None) -> None:
    """Recompute every hash and checkpoint signature; with --against, prove a saved head is intact."""
    from reporter.audit import chain
    from reporter.extensions import db

    public_key = _audit_public_key()
    with db.writing() as session:
        try:
            result = chain.verify_chain(session, public_key)
            if saved_head:
                chain.verify_against(session, _read_head(saved_head), public_key)
        except chain.ChainBroken as broken:
            click.echo(str(broken))
            sys.exit(1)
    suffix = f"; saved head seq {_read_head(saved_head)['seq']} still in the log" if saved_head else ""
    click.echo(f"intact: {result.events} events, last checkpoint seq {result.last_checkpoint}{suffix}")


def _read_head(path: str) -> dict[str, Any]:
    try:
        document = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read the saved head {path}: {exc}") from None
    if not isinstance(document, dict):
        raise click.ClickException(f"{path} is not a reporter audit head")
    return document


@audit_group.command("pubkey")
def audit_pubkey() -> None:
    """Print the public key that signs audit checkpoints (keep a copy away from this server)."""
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from reporter.audit.chain import key_id

    public_key = _audit_public_key()
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    click.echo(f"ed25519:{base64.b64encode(raw).decode()}  key id {key_id(public_key)}")


@audit_group.command("head")
def audit_head() -> None:
    """Sign a checkpoint of the newest event and print it as the document auditors keep."""
    from reporter.audit import chain
    from reporter.extensions import db

    signer = context.keyring().audit_signing_key
    with db.writing() as session:
        head = chain.export_head(session, signer, actor=chain.SYSTEM)
        session.commit()
    click.echo(json.dumps(head, indent=2))


@main.group("vault")
def vault_group() -> None:
    """Check the encrypted attachment store against the database."""


#: Temporary files younger than this may belong to an upload in progress; --discard-stale leaves them.
STALE_SECONDS = 3600


@vault_group.command("check")
@click.option("--discard-stale", is_flag=True,
              help=f"Remove temporary files of interrupted writes older than {STALE_SECONDS // 60} minutes.")
def vault_check(discard_stale: bool) -> None:
    """List attachment rows without files and files without rows; exit 1 if there are any."""
    from reporter.evidence import attachments
    from reporter.extensions import db

    store = context.attachment_store()
    if discard_stale:
        removed = store.discard_stale(older_than_seconds=STALE_SECONDS)
        click.echo(f"removed {removed} stale temporary file(s)")
    with db.writing() as session:
        found = attachments.check_store(session, store)
    for attachment_id in found.ids_without_files:
        click.echo(f"row without file: {attachment_id}")
    for name in found.files_without_ids:
        click.echo(f"file without row: {name}")
    if found.ids_without_files or found.files_without_ids:
        sys.exit(1)
    click.echo(f"consistent: {len(store.ids())} file(s), every one with its row")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
