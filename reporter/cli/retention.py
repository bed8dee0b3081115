"""`reporter retention`: retention: crypto-shred cases past the retention period."""

from __future__ import annotations

import click


@click.group("retention")
def retention_group() -> None:
    """Retention: crypto-shred cases past the retention period."""
