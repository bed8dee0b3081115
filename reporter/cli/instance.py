"""`reporter init`, `run` and `demo`, and the demo seeding commands: an installation from an empty folder.

`init`, `run` and `demo` create the application themselves (`make_app`), after they made what it needs
(the instance folder, its keys, a migrated database), so they work before an instance exists.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

from reporter import config, create_app, instance_files, migrate
from reporter.audit import chain
from reporter.cli import demo
from reporter.crypto.receipts import display
from reporter.crypto.records import RecordKeys
from reporter.extensions import db
from reporter.keyring import KeyringError, create_instance_keys
from reporter.staff import offboarding
from reporter.web import context

INSTANCE_CONFIG = '''\
# Settings of this installation. Environment variables REPORTER_* override them.
# Keys live in keys/ beside this file (mode 0600); never commit or share that folder.
# REPORTER_DATABASE_URL = "postgresql+psycopg://user@host/dbname"
# REPORTER_REDIS_URL = "redis://127.0.0.1:6379/0"
# REPORTER_LANGUAGES = "en,ru,uk"   # default: every language that ships (en ru uk ka hy az kk ky tg tk uz ro)
# REPORTER_RETENTION_DAYS = 365
'''


def make_app() -> Flask:
    """Create the application for a command; a missing key or a bad setting is a usage error."""
    try:
        return create_app()
    except (KeyringError, config.ConfigError) as exc:
        raise click.ClickException(str(exc)) from None


def initialise_instance(instance_path: str | None = None) -> Path:
    """Create the instance folder, config and keys if missing, then migrate the database."""
    path = Path(instance_path or config.default_instance_path())
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    config_file = path / "config.py"
    if not config_file.exists():
        config_file.write_text(INSTANCE_CONFIG)
    _create_keys(os.environ.get("REPORTER_KEYS_PATH") or str(path / "keys"))
    app = make_app()
    assert db.engine is not None
    migrate.upgrade(db.engine, record_keys=RecordKeys(context.keyring(app).directory_key))
    with app.app_context(), db.writing() as session:
        # Recorded at every init: on an upgraded installation this event carries the first checkpoint
        # signed under the enforced interval (reporter.audit.checkpoints).
        chain.record(session, actor=chain.CONSOLE, action="instance.initialised")
        session.commit()
    instance_files.restrict_database(db.engine.url.render_as_string(hide_password=False))
    click.echo(f"instance ready: {path}")
    _say_if_nobody_receives(app)
    return path


def _say_if_nobody_receives(app: Flask) -> None:
    """Tell the operator, in plain words, when reports are refused because no coordinator is active."""
    with app.app_context():
        waiting = offboarding.active_coordinators(db.session) == 0
    if waiting:
        click.secho(
            "No coordinator is active yet, so every report is refused (the form says nobody can receive "
            "it) until one is. Invite the first coordinator from this console:\n"
            "  reporter users invite --email you@example.org --role coordinator --region GE\n"
            "then open the link it prints, choose a password and set up the authenticator app. The first "
            "admin is invited the same way with --role admin.", fg="yellow", err=True)


def _create_keys(keys_path: str) -> None:
    for created in create_instance_keys(keys_path):
        click.echo(f"created {created}")
        if created.name.endswith("MOVE-OFFLINE"):
            click.secho(
                f"The escrow private key is in {created}. Move it to offline storage now (a USB key in a "
                "safe): it recovers access when a staff member loses their password, and must not stay "
                "on this server.", fg="yellow", err=True,
            )


@click.command("init")
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
    app = make_app()
    _say_if_nobody_receives(app)
    click.echo("One process (threads): rate limits are counted in this process "
               f"({app.config['RATELIMIT_STORAGE_URI'].split(':')[0]}). For several workers use gunicorn "
               "with REPORTER_REDIS_URL (see README.md).", err=True)
    run_simple(host, port, app, request_handler=PrivateRequestHandler, threaded=True)


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def run_command(host: str, port: int) -> None:
    """Run the development server (plain HTTP, for one machine)."""
    _serve(host, port)


@click.command("seed-demo-reports")
@with_appcontext
def seed_demo_reports() -> None:
    """Store a few sample reports and print their receipts."""
    for label, receipt in demo.submit_samples(context.keyring()):
        click.echo(f"sample report {label}: receipt {display(receipt)}")


@click.command("seed-demo-staff")
@with_appcontext
def seed_demo_staff() -> None:
    """Create one active person of each role and print their e-mail, password and TOTP secret."""
    if demo.staff_exist(db.session):
        click.echo("demo staff exist already (their passwords were printed when they were made)")
        return
    logins = demo.make_staff(db.session, keyring=context.keyring(), params=context.kdf_params(),
                             languages=current_app.config["REPORTER_LANGUAGES"])
    click.echo("Demo staff (log in at /staff/login; add the TOTP secret to an authenticator app):")
    for login in logins:
        click.echo(f"  {login.role:<12} {login.email:<28} password {login.password}  "
                   f"TOTP secret {login.totp_secret}")


@click.command("demo")
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Prepare the demo data only.")
def demo_command(port: int, no_serve: bool) -> None:
    """Initialise, add sample reports and staff (receipts and logins printed), then serve on 127.0.0.1."""
    os.environ.setdefault("REPORTER_HTTPS", "0")
    initialise_instance()
    with make_app().app_context():
        ctx = click.get_current_context()
        ctx.invoke(seed_demo_staff)  # first: a report is received only when someone can read it
        ctx.invoke(seed_demo_reports)
    if not no_serve:
        click.echo(f"open http://127.0.0.1:{port}/")
        _serve("127.0.0.1", port)
