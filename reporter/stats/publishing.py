"""Publishing statistics: every view and export is an audit event, and CSV cells stay plain text."""

from __future__ import annotations

import csv
import io

from sqlalchemy.orm import Session

from reporter.audit import chain
from reporter.stats.figures import Statistics

CSV_COLUMNS = ("period", "region", "figure", "row", "column", "value")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def record(session: Session, stats: Statistics, *, actor: chain.Actor, action: str) -> None:
    """Append the audit event of a view ("stats.viewed") or an export ("stats.exported"); no commit."""
    chain.record(session, actor=actor, action=action, object_type="statistics",
                 detail={"period": stats.period.label, "region": stats.scope, "min_cell": stats.min_cell})


def _cell(text: str) -> str:
    # A spreadsheet would run a cell starting like a formula; a leading quote keeps it text.
    return "'" + text if text.startswith(_FORMULA_START) else text


def to_csv(stats: Statistics) -> str:
    """Return the published figures as CSV: a header, then one line per figure (hidden ones marked)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for line in stats.csv_rows():
        writer.writerow([_cell(value) for value in line])
    return buffer.getvalue()
