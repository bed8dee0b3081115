"""The `reporter` command: the main group, the application its commands use, and where each group is.

`init`, `run` and `demo` work before an instance exists, so they are commands of `main` itself, like
the `audit` and `vault` checks and `backup` (its restore fills an instance that has no keys yet); the
other groups come with the application (`register`, which `create_app` calls), and `main` finds them
once the application loads. Each group is one module here;
the work is in the domain modules they call.
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup

from reporter.cli import (
    audit,
    backup,
    cases,
    database,
    instance,
    keys,
    notify,
    partner,
    retention,
    stats,
    users,
    vault,
    worker,
)


@click.group(cls=FlaskGroup, create_app=instance.make_app, add_default_commands=False,
             add_version_option=False)
def main() -> None:
    """Secure incident reporting: manage and serve this installation."""


def register(app: Flask) -> None:
    """Attach the commands that need an application to `app`'s CLI."""
    for command in (instance.seed_demo_reports, instance.seed_demo_staff, users.users_group,
                    cases.cases_group, notify.notify_group, keys.keys_group, retention.retention_group,
                    database.db_group, stats.stats_group, worker.worker_command):
        app.cli.add_command(command)


for _command in (instance.init_command, instance.run_command, instance.demo_command, audit.audit_group,
                 vault.vault_group, backup.backup_group, partner.partner_group):
    main.add_command(_command)
