"""`reporter stats`: statistics for advocacy that expose nobody.

`reporter stats export` prints the figures of one closed month or quarter as CSV, suppressed exactly
like /stats (the same function builds both), and records the export in the audit chain.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from reporter.audit import chain
from reporter.countries import ISO_CODES
from reporter.extensions import db
from reporter.models.base import utcnow
from reporter.stats import periods, publishing
from reporter.stats.figures import statistics_for


@click.group("stats", cls=AppGroup)
def stats_group() -> None:
    """Statistics for advocacy that expose nobody."""


@stats_group.command("export")
@click.option("--period", "label", help="A closed month (2026-11) or quarter (2026-Q3).")
@click.option("--kind", type=click.Choice(periods.KINDS), default="month", show_default=True,
              help="Without --period: the last closed month or quarter.")
@click.option("--region", help="A country code (ISO 3166-1 alpha-2); default: every country.")
@click.option("--to", "target", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the CSV to this file instead of standard output.")
def stats_export(label: str | None, kind: str, region: str | None, target: Path | None) -> None:
    """Print the aggregate counts of a closed period as CSV, small counts suppressed as on /stats."""
    now = utcnow()
    try:
        period = periods.parse(label, now) if label else periods.closed(kind, now, 1)[0]
    except periods.PeriodInvalid as invalid:
        reason = "is still running" if str(invalid) == "running" else "must look like 2026-11 or 2026-Q3"
        raise click.ClickException(f"the period {label} {reason}: only closed periods are given") from None
    if region is not None:
        region = region.strip().upper()
        if region not in ISO_CODES:
            raise click.ClickException(f"unknown region {region!r}: give an ISO 3166-1 alpha-2 country code")
    with db.writing() as session:  # counted first: the audit chain is locked only to record the export
        stats = statistics_for(session, period, region, int(current_app.config["REPORTER_STATS_MIN_CELL"]))
        text = publishing.to_csv(stats)
        if target is not None:
            try:
                target.write_text(text, encoding="utf-8")
            except OSError as error:
                raise click.ClickException(f"cannot write {target}: {error.strerror}") from None
        publishing.record(session, stats, actor=chain.CONSOLE, action="stats.exported")
        session.commit()
    if target is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"wrote the statistics of {period.label} ({stats.scope}) to {target}", err=True)
