"""`reporter db`: move the installation to another database."""

from __future__ import annotations

import click


@click.group("db")
def db_group() -> None:
    """Move the installation to another database."""
