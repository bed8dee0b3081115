"""The staff overview: figures about the cases a person holds, from plaintext metadata and their seals.

Nothing here decrypts. Every figure is counted over the person's own seals (the same set the queue
shows), in three queries whatever the number of cases: one GROUP BY status, one GROUP BY risk, and one
row of conditional counts. Each figure has the queue filter that lists exactly those cases.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from reporter.cases.queue import DUE_SOON, arrived_since, unread_messages
from reporter.models import Report, Seal
from reporter.models.report import RISKS, STATUSES


@dataclass(frozen=True)
class Overview:
    """How many cases a person holds, by status and risk, and how many need attention."""

    total: int
    by_status: dict[str, int]
    by_risk: dict[str, int]
    overdue: int
    due_soon: int
    unread: int
    new: int
    #: The previous login the "new" figure counts from; None on a first login.
    since: datetime | None


def _held(person_id: str) -> list[ColumnElement[bool]]:
    return [Seal.recipient_kind == "staff", Seal.recipient_id == person_id]


def _grouped(session: Session, person_id: str, column: InstrumentedAttribute[str],
             names: tuple[str, ...]) -> dict[str, int]:
    rows = session.execute(select(column, func.count()).select_from(Seal).join(
        Report, Report.id == Seal.report_id).where(*_held(person_id)).group_by(column)).all()
    counts = {name: 0 for name in names}
    counts.update({value: number for value, number in rows if value in counts})
    return counts


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def case_overview(session: Session, person_id: str, *, now: datetime, since: datetime | None) -> Overview:
    """Count the cases the person holds: by status, by risk, overdue, due soon, unread and new."""
    by_status = _grouped(session, person_id, Report.status, STATUSES)
    by_risk = _grouped(session, person_id, Report.risk, RISKS)
    row = session.execute(select(
        _flag(Report.deadline_at < now),
        _flag((Report.deadline_at >= now) & (Report.deadline_at < now + DUE_SOON)),
        _flag(unread_messages(person_id)),
        _flag(arrived_since(since)),
    ).select_from(Seal).join(Report, Report.id == Seal.report_id).where(*_held(person_id))).one()
    return Overview(total=sum(by_status.values()), by_status=by_status, by_risk=by_risk,
                    overdue=int(row[0]), due_soon=int(row[1]), unread=int(row[2]), new=int(row[3]),
                    since=since)
