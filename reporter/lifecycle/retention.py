"""Retention: how long a closed case is kept, when its clock starts again, and when staff are warned.

A case is kept while it is open. Closing it starts the clock: it is purged (reporter.lifecycle.purge)
once REPORTER_RETENTION_DAYS have passed since it was closed *and* since the reporter last wrote, so a
reporter's message or file on a closed case restarts the clock. Reopening stops it. Dates are kept to
the hour, like everything a reporter does: a retention date does not time a reporter's message to the
second. Staff see a case that will be purged within WARNING_DAYS marked in the queue and on the case,
and a coordinator may extend it once (reporter.lifecycle.extension).

Cases closed before retention dates were kept have none; they count from their closing time.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy import ColumnElement, Table, and_, bindparam, or_, select, update
from sqlalchemy.orm import Session

from reporter.database import RETENTION_INFO_KEY
from reporter.models import Report
from reporter.models.base import to_the_hour

DEFAULT_DAYS = 365
#: Staff see a case marked this many days before it is purged.
WARNING_DAYS = 30
CLOSED = "closed"
_REPORTS = Report.__table__
assert isinstance(_REPORTS, Table)
_DATE = update(_REPORTS).where(_REPORTS.c.id == bindparam("b_id")).values(
    retention_until=bindparam("b_until"), version=_REPORTS.c.version + 1)


def period(session: Session) -> timedelta:
    """Return the retention period of this installation (REPORTER_RETENTION_DAYS)."""
    return timedelta(days=max(1, int(session.info.get(RETENTION_INFO_KEY, DEFAULT_DAYS))))


def start_clock(session: Session, report: Report, now: datetime) -> None:
    """Set the retention date of a case being closed now."""
    report.retention_until = to_the_hour(now) + period(session)


def stop_clock(report: Report) -> None:
    """Clear the retention date of a case being reopened: an open case is never purged."""
    report.retention_until = None


def restart_on_reporter_activity(session: Session, report: Report, now: datetime) -> None:
    """Keep a closed case a full period after the reporter's message or file of `now`.

    An extension that already reaches further is kept.
    """
    if report.status != CLOSED or report.purged_at is not None:
        return
    restarted = to_the_hour(now) + period(session)
    current = purge_due(report, period(session))
    report.retention_until = max(restarted, current) if current is not None else restarted


def due_at(status: str, retention_until: datetime | None, closed_at: datetime | None,
           kept: timedelta) -> datetime | None:
    """Return when a case with these columns becomes due for purging, or None while it is open."""
    if status != CLOSED:
        return None
    if retention_until is not None:
        return retention_until
    return closed_at + kept if closed_at is not None else None


def purge_due(report: Report, kept: timedelta) -> datetime | None:
    """Return when a closed case becomes due for purging, or None (open, or already purged)."""
    if report.purged_at is not None:
        return None
    return due_at(report.status, report.retention_until, report.closed_at, kept)


def due_clause(now: datetime, kept: timedelta) -> ColumnElement[bool]:
    """Return the SQL condition of the cases due for purging at `now`."""
    legacy = and_(Report.retention_until.is_(None), Report.closed_at.is_not(None),
                  Report.closed_at <= now - kept)
    expired = or_(Report.retention_until <= now, legacy)
    return and_(Report.status == CLOSED, Report.purged_at.is_(None), expired)


def expired_clause(now: datetime) -> ColumnElement[bool]:
    """Return the SQL condition of the dated cases due at `now`: what the purge's batches take.

    Unlike `due_clause` it leaves out cases closed before retention dates existed (`date_legacy_cases`
    gives them one first), so that the database finds the due cases through the index on the retention
    date instead of reading every closed case, tombstones included, in each batch.
    """
    return and_(Report.status == CLOSED, Report.purged_at.is_(None), Report.retention_until <= now)


def date_legacy_cases(session: Session, kept: timedelta, *, batch_size: int = 500) -> int:
    """Give closed cases without a retention date one, counted from their closing; commit; return how many."""
    dated = 0
    while True:
        rows = session.execute(select(Report.id, Report.closed_at).where(
            Report.status == CLOSED, Report.purged_at.is_(None), Report.retention_until.is_(None),
            Report.closed_at.is_not(None)).limit(batch_size)).all()
        if not rows:
            session.rollback()
            return dated
        session.execute(_DATE, [{"b_id": row.id, "b_until": to_the_hour(row.closed_at) + kept}
                                    for row in rows])
        session.commit()
        dated += len(rows)


def purge_soon(due: datetime | None, now: datetime) -> bool:
    """Tell whether a case due at `due` is purged within WARNING_DAYS of `now` (staff see a marker)."""
    return due is not None and due <= now + timedelta(days=WARNING_DAYS)


class QueueRow(Protocol):
    """The columns of a queue row that decide its retention marker."""

    id: str
    status: str
    retention_until: datetime | None
    closed_at: datetime | None


def purging_soon(rows: Iterable[QueueRow], kept: timedelta, now: datetime) -> dict[str, datetime]:
    """Return, by case id, the purge date of the rows purged within WARNING_DAYS of `now`."""
    found = {}
    for row in rows:
        due = due_at(row.status, row.retention_until, row.closed_at, kept)
        if due is not None and purge_soon(due, now):
            found[row.id] = due
    return found
