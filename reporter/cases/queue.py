"""The case queue: the cases a person holds a seal for, from plaintext metadata only.

Nothing here decrypts: the queue is built from the columns routing and deadlines need (country,
category, language, status, risk, deadline), joined to the person's own seals. Sorted by deadline,
the most urgent first; cases without a deadline last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, exists, false, func, select, true
from sqlalchemy.orm import Session

from reporter.models import CaseEntry, CaseOpening, Report, Seal
from reporter.models.base import to_the_hour
from reporter.models.report import CATEGORIES, RISKS, STATUSES

PAGE_SIZE = 50
#: How close a deadline is when the overview and the queue call it "due soon".
DUE_SOON = timedelta(hours=24)
#: Case ids are 32 lowercase hex digits; a search needs at least the first 4.
_ID_PREFIX = re.compile(r"[0-9a-f]{4,32}")
MAX_PAGE = 10_000
_COLUMNS = (Report.id, Report.created_hour, Report.country, Report.category, Report.language, Report.status,
            Report.risk, Report.deadline_at, Report.needs_routing, Report.escalated_at, Report.possible_flood,
            Report.retention_until, Report.closed_at, Report.escalating, Report.entered_by)


@dataclass(frozen=True)
class QueueFilter:
    """The filters of the queue page; values outside the allowed sets are dropped, not trusted."""

    status: str | None = None
    risk: str | None = None
    country: str | None = None
    category: str | None = None
    overdue: bool = False
    waiting: bool = False
    flood: bool = False
    #: Only cases flagged escalating from online to offline harm (reporter.cases.triage.flag_escalating).
    escalating: bool = False
    due_soon: bool = False
    unread: bool = False
    new: bool = False
    #: The first characters of a case id (4 to 32 lowercase hex digits).
    id_prefix: str | None = None
    #: True when an id was asked for but is not 4 to 32 hex digits: the page says so, nothing is listed.
    id_invalid: bool = False

    @classmethod
    def from_args(cls, args: dict[str, str]) -> QueueFilter:
        """Build a filter from query parameters, ignoring anything not allowed."""
        def pick(name: str, allowed: tuple[str, ...]) -> str | None:
            value = args.get(name) or None
            return value if value in allowed else None

        country = (args.get("country") or "").upper()
        return cls(status=pick("status", STATUSES), risk=pick("risk", RISKS),
                   country=country if len(country) == 2 and country.isalpha() else None,
                   category=pick("category", CATEGORIES), overdue=args.get("overdue") == "1",
                   waiting=args.get("waiting") == "1", flood=args.get("flood") == "1",
                   escalating=args.get("escalating") == "1",
                   due_soon=args.get("due_soon") == "1", unread=args.get("unread") == "1",
                   new=args.get("new") == "1", **_id_search(args.get("id") or ""))


def _id_search(text: str) -> dict[str, Any]:
    wanted = text.strip().lower()
    if not wanted:
        return {}
    if _ID_PREFIX.fullmatch(wanted):
        return {"id_prefix": wanted}
    return {"id_invalid": True}


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue and how many cases match in all."""

    rows: list[Row]
    total: int
    page: int
    pages: int


def _conditions(person_id: str, flt: QueueFilter, now: datetime, since: datetime | None) -> list:
    conditions = [Seal.recipient_kind == "staff", Seal.recipient_id == person_id]
    if flt.due_soon:
        conditions.extend((Report.deadline_at >= now, Report.deadline_at < now + DUE_SOON))
    if flt.unread:
        conditions.append(unread_messages(person_id))
    if flt.new:
        conditions.append(arrived_since(since))
    if flt.id_prefix is not None:  # a range, not LIKE: the primary key's index serves it on every backend
        conditions.extend((Report.id >= flt.id_prefix, Report.id < flt.id_prefix + "g"))
    if flt.id_invalid:
        conditions.append(false())
    for column, value in ((Report.status, flt.status), (Report.risk, flt.risk), (Report.country, flt.country),
                          (Report.category, flt.category)):
        if value is not None:
            conditions.append(column == value)
    if flt.overdue:
        conditions.append(Report.deadline_at < now)
    if flt.waiting:
        conditions.append(Report.needs_routing.is_(True))
    if flt.flood:
        conditions.append(Report.possible_flood.is_(True))
    if flt.escalating:
        conditions.append(Report.escalating.is_not(None))
    return conditions


def unread_messages(person_id: str) -> ColumnElement[bool]:
    """Return the condition: the case has a reporter message written after the person last opened it."""
    seen = (select(CaseOpening.seen_seq).where(CaseOpening.staff_id == person_id,
                                               CaseOpening.report_id == Report.id)
            .correlate(Report).scalar_subquery())
    return exists().where(CaseEntry.report_id == Report.id, CaseEntry.kind == "reporter_message",
                          CaseEntry.seq > func.coalesce(seen, 0))


def arrived_since(since: datetime | None) -> ColumnElement[bool]:
    """Return the condition: the case reached the person since `since` (every case on a first login).

    Seals of new reports carry the report's hour only, so the comparison starts at the hour of `since`:
    a case that arrived in the same hour as the previous login counts as new rather than being missed.
    """
    if since is None:
        return true()
    return Seal.created_at >= to_the_hour(since)


def case_queue(session: Session, person_id: str, flt: QueueFilter, *, page: int = 1,
               now: datetime, since: datetime | None = None) -> QueuePage:
    """Return one page of the cases `person_id` holds, most urgent deadline first.

    `since` is the person's previous login, for the filter of cases new since then.
    """
    where = and_(*_conditions(person_id, flt, now, since))
    joined = select(*_COLUMNS, unread_messages(person_id).label("unread")).join(
        Seal, Seal.report_id == Report.id).where(where)
    if flt == QueueFilter():  # no condition on the report: the covering index of seals counts alone
        counted = select(func.count()).select_from(Seal).where(Seal.recipient_kind == "staff",
                                                               Seal.recipient_id == person_id)
    else:
        counted = select(func.count()).select_from(Report).join(Seal,
                                                                Seal.report_id == Report.id).where(where)
    total = session.scalar(counted) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(page, 1), pages, MAX_PAGE)
    rows = session.execute(
        joined.order_by(Report.deadline_at.is_(None), Report.deadline_at, Report.created_hour.desc(),
                        Report.id)
        .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    return QueuePage(rows=list(rows), total=total, page=page, pages=pages)


def flood_in_progress(session: Session, person_id: str, now: datetime) -> int:
    """Return how many cases this person holds were marked a possible flood in the last 24 hours."""
    return session.scalar(
        select(func.count()).select_from(Report).join(Seal, Seal.report_id == Report.id).where(
            Seal.recipient_kind == "staff", Seal.recipient_id == person_id, Report.possible_flood.is_(True),
            Report.created_hour >= now - timedelta(hours=24))) or 0
