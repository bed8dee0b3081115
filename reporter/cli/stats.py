"""`reporter stats`: statistics for advocacy that expose nobody."""

from __future__ import annotations

import click


@click.group("stats")
def stats_group() -> None:
    """Statistics for advocacy that expose nobody."""
