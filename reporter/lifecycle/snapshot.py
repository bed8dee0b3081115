"""A consistent, database-agnostic snapshot of every table: one read transaction, rows streamed in batches.

Backups and `reporter db copy` read the database the same way: every table the models declare
(`Base.metadata`, so a table or column added later is included without a change here), in dependency
order (a row comes after the rows it refers to), each ordered by its primary key (the audit chain by
seq, as the database's append-only trigger requires on the way back in), within ONE transaction that
sees one state of the database:

- SQLite in WAL mode: a deferred read transaction; its first read fixes the snapshot and writers go
  on meanwhile without being blocked.
- PostgreSQL: REPEATABLE READ, READ ONLY: every statement sees the snapshot of the first one.

Rows are fetched `BATCH_ROWS` at a time (a server-side cursor on PostgreSQL), so memory does not grow
with the number of cases.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, Table, func, select

from reporter import migrate
from reporter.models import Base

BATCH_ROWS = 500
#: Tables a freshly migrated database already holds rows of (the audit chain's genesis head). They come
#: last: the head must still be at genesis while the events are inserted, and is then overwritten.
SEEDED_TABLES = ("audit_head",)
#: Tables the target makes for itself and never takes from a copy: the directory version is a random
#: token its own triggers replace while the staff rows are loaded (reporter.cases.verified_routing).
OWN_TABLES = ("directory_version",)


def table_order() -> list[Table]:
    """Return every table of the models in dependency order, the seeded tables last."""
    tables = [table for table in Base.metadata.sorted_tables if table.name not in OWN_TABLES]
    return ([table for table in tables if table.name not in SEEDED_TABLES]
            + [table for table in tables if table.name in SEEDED_TABLES])


def column_names(table: Table) -> list[str]:
    """Return the names of a table's columns in their declared order."""
    return [column.name for column in table.columns]


@contextmanager
def read_transaction(engine: Engine) -> Iterator[Connection]:
    """Yield a connection inside one read-only transaction that sees a single consistent state."""
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            connection = connection.execution_options(isolation_level="REPEATABLE READ",
                                                      postgresql_readonly=True)
        with connection.begin():
            yield connection


def schema_revision(connection: Connection) -> str | None:
    """Return the Alembic revision the database behind `connection` is at (None: never migrated)."""
    return MigrationContext.configure(connection).get_current_revision()


def code_revision() -> str:
    """Return the newest schema revision this release knows (what `reporter init` migrates to)."""
    head = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()
    assert head is not None, "the migration chain has no head"
    return head


def stream_rows(connection: Connection, table: Table, batch: int = BATCH_ROWS) -> Iterator[Sequence[Any]]:
    """Yield a table's rows (tuples in column order) in batches, ordered by primary key."""
    statement = select(*table.columns).order_by(*table.primary_key.columns)
    streaming = connection.execution_options(stream_results=True, yield_per=batch)
    for part in streaming.execute(statement).partitions(batch):
        yield [tuple(row) for row in part]


def count_rows(connection: Connection, table: Table) -> int:
    """Return how many rows a table holds."""
    return int(connection.scalar(select(func.count()).select_from(table)) or 0)
