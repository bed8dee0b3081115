"""The audit chain's stored rows as the database driver returns them, a batch at a time.

Verification reads millions of rows: no ORM objects and no SQLAlchemy result processing, only driver
tuples, and the event time as text where the driver can give it (see `sqlite_at_text` and
`postgresql_at_text` for why that text is safe to hash). bench/audit.py reads the chain through this
too, to time the same fetch without the hashing.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Dialect, select

from reporter.models import AuditEvent

BATCH = 2_000

#: The ISO form of an event time as SQLite stores it: "2026-03-08 09:30:15.123456" becomes
#: "2026-03-08T09:30:15.123456", what isoformat() gave when the event was recorded. (At a whole second
#: SQLite holds ".000000", which isoformat() leaves out: those rows take the exact path.) Whenever the
#: result equals an isoformat() text, the stored text was that text, or the same with a space for the
#: "T", and SQLAlchemy reads either back as the same time: a stored time that the application would
#: show differently cannot pass. A C-level callable, because it runs once per row.
sqlite_at_text: Callable[[str], str] = operator.methodcaller("replace", " ", "T", 1)


def postgresql_at_text(stored: str) -> str:
    """Return the ISO form of an event time as PostgreSQL prints it with DateStyle ISO.

    PostgreSQL drops trailing zeros of the fraction ("2026-03-08 09:30:15.12"; no fraction at a whole
    second): padded back to six digits it is what isoformat() gave. Reading this text instead of a
    datetime saves the per-row isoformat() call, the costliest step of the scan on PostgreSQL. It is
    the text psycopg parses when the application reads the column; whenever the result equals an
    isoformat() text, that parse gives the same time.
    """
    iso = stored.replace(" ", "T", 1)
    return iso if len(iso) <= 19 else iso.ljust(26, "0")


class ChainRows(NamedTuple):
    """The stored rows of a seq range, in batches as scan() takes them, and how to read their times."""

    batches: Iterator[list[tuple[Any, ...]]]
    at_text: Callable[[Any], str]


@contextmanager
def chain_rows(driver: Any, dialect: Dialect, after: int | None, upto: int | None) -> Iterator[ChainRows]:
    """Yield the events with after < seq <= upto (None: no bound) in seq order, from a driver cursor."""
    events: Any = AuditEvent.__table__
    query = select(events.c.seq, events.c.at, events.c.actor_id, events.c.actor_role, events.c.action,
                   events.c.object_type, events.c.object_id, events.c.detail, events.c.prev_hash,
                   events.c.hash).order_by(events.c.seq)
    if after is not None:
        query = query.where(events.c.seq > after)
    if upto is not None:
        query = query.where(events.c.seq <= upto)
    sql = str(query.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    at_text: Callable[[Any], str]
    if dialect.name == "sqlite":
        cursor, at_text = driver.cursor(), sqlite_at_text
    else:
        # A server-side cursor, so a million rows never sit in memory at once.
        cursor, at_text = driver.cursor(name="reporter_audit_scan"), datetime.isoformat
        date_style = driver.info.parameter_status("DateStyle") if dialect.driver == "psycopg" else None
        if (date_style or "").startswith("ISO"):  # times as text only in the form postgresql_at_text reads
            # Imported here: psycopg and what it loads cost a SQLite deployment's workers ~12 MiB each.
            from psycopg.types.string import TextLoader

            cursor.adapters.register_loader("timestamp", TextLoader)
            at_text = postgresql_at_text
    try:
        cursor.execute(sql)
        yield ChainRows(_batches(cursor), at_text)
    finally:
        cursor.close()


def _batches(cursor: Any) -> Iterator[list[tuple[Any, ...]]]:
    while batch := cursor.fetchmany(BATCH):
        yield batch
