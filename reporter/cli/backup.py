"""`reporter backup`: encrypted backups of the whole installation, and restoring one."""

from __future__ import annotations

import click


@click.group("backup")
def backup_group() -> None:
    """Encrypted backups of the whole installation, and restoring one."""
