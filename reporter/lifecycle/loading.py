"""Loading a snapshot into an empty database: the checks first, then every row inside one transaction.

What the target must be, and why:

- **Empty.** No table holds a row, and the audit chain head is still at genesis (seq 0): a restore or
  a copy never merges two installations (two audit chains cannot be joined, and a merge would mix
  two sets of instance keys). A database that was never migrated, or one `alembic upgrade head` just
  made, is empty; one that `reporter init` made is not (init records its first audit event).
- **At the snapshot's schema revision.** The snapshot holds the columns of that revision; the
  target is migrated to this release's head (reporter.migrate), so the two must be the same.

Inside the one transaction, rows go in table by table in dependency order, the audit events in seq
order: the database's own triggers (migrations 0005 and 0008) refuse an event that is not at head + 1
and move the head after each insert, so the chain is rebuilt exactly as it was appended. A table that
refers to itself (a person invited by another) gets those references after all its rows are in. On
PostgreSQL, sequences of integer ids (seals, notifications) are moved past the highest id copied, or
the next insert would collide with a copied row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, Table, and_, insert, inspect, literal, select, text, update
from sqlalchemy.exc import SQLAlchemyError

from reporter import instance_files, migrate
from reporter.lifecycle import snapshot


class TargetRefused(RuntimeError):
    """The target database cannot take the installation; the message says why."""


def occupied_tables(connection: Connection) -> list[str]:
    """Return the names of the tables that hold rows (the audit head counts once it is past genesis)."""
    existing = set(inspect(connection).get_table_names())
    found = []
    for table in snapshot.table_order():
        if table.name not in existing:
            continue
        if table.name in snapshot.SEEDED_TABLES:
            if connection.scalar(select(table.c.seq).where(table.c.seq != 0).limit(1)) is not None:
                found.append(table.name)
        elif connection.scalar(select(literal(1)).select_from(table).limit(1)) is not None:
            found.append(table.name)
    return found


def check_target(engine: Engine, *, revision: str | None) -> None:
    """Refuse a target that holds rows or that this release cannot bring to `revision`; write nothing."""
    head = snapshot.code_revision()
    if revision != head:
        raise TargetRefused(
            f"the installation is at schema revision {revision}, this release at {head}: use the release "
            "the installation ran (or upgrade the source with `reporter init` first)")
    files = instance_files.sqlite_files(engine.url.render_as_string(hide_password=False))
    if files and not files[0].exists():
        return  # a SQLite database yet to be created is empty; opening it now would create the file
    try:
        with engine.connect() as connection:
            occupied = occupied_tables(connection)
            current = snapshot.schema_revision(connection)
    except SQLAlchemyError as exc:
        raise TargetRefused(f"cannot open the target database: {type(exc).__name__}") from None
    if occupied:
        raise TargetRefused("the target database is not empty (it has rows in " + ", ".join(occupied) +
                            "); restore and copy write only into an empty database")
    if current is not None and current not in _known_revisions():
        raise TargetRefused(f"the target database is at schema revision {current}, unknown to this release")


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    scripts = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    return {script.revision for script in scripts.walk_revisions()}


def migrate_target(engine: Engine, *, revision: str) -> None:
    """Bring an empty target to this release's schema and make sure it is at `revision`."""
    migrate.upgrade(engine)
    with engine.connect() as connection:
        current = snapshot.schema_revision(connection)
    if current != revision:
        raise TargetRefused(f"the target database is at schema revision {current} after migrating, "
                            f"not {revision}")


class TableLoader:
    """Insert one table's rows, batch by batch, into the target's open transaction."""

    def __init__(self, connection: Connection, table: Table, columns: Sequence[str]) -> None:
        if list(columns) != snapshot.column_names(table):
            raise TargetRefused(f"table {table.name} has other columns here than in the installation")
        self.connection, self.table, self.columns = connection, table, list(columns)
        self.rows = 0
        self._self_references = [fk.parent.name for fk in table.foreign_keys if fk.column.table is table]
        self._pending: list[dict[str, Any]] = []
        self._insert = insert(table)

    def add(self, rows: Sequence[Sequence[Any]]) -> None:
        """Insert a batch of rows (tuples in column order)."""
        if not rows:
            return
        records = [dict(zip(self.columns, row, strict=True)) for row in rows]
        if self.table.name in snapshot.SEEDED_TABLES:
            for record in records:
                self._merge(record)
        else:
            if self._self_references:
                records = [self._defer_self_references(record) for record in records]
            self.connection.execute(self._insert, records)
        self.rows += len(records)

    def _defer_self_references(self, record: dict[str, Any]) -> dict[str, Any]:
        deferred = {name: record[name] for name in self._self_references if record[name] is not None}
        if deferred:
            self._pending.append({**{c.name: record[c.name] for c in self.table.primary_key.columns},
                                  **deferred})
            record = {**record, **dict.fromkeys(deferred)}
        return record

    def _merge(self, record: dict[str, Any]) -> None:
        keys = self.table.primary_key.columns
        where = and_(*(column == record[column.name] for column in keys))
        values = {name: value for name, value in record.items() if name not in {c.name for c in keys}}
        if self.connection.execute(update(self.table).where(where).values(values)).rowcount == 0:
            self.connection.execute(self._insert, [record])

    def finish(self) -> int:
        """Set the references a table makes to its own rows; return how many rows were loaded."""
        keys = self.table.primary_key.columns
        for pending in self._pending:
            where = and_(*(column == pending[column.name] for column in keys))
            values = {name: pending[name] for name in self._self_references if name in pending}
            self.connection.execute(update(self.table).where(where).values(values))
        self._pending.clear()
        return self.rows


def reset_sequences(connection: Connection) -> None:
    """Move each PostgreSQL sequence of an integer id past the highest id now in its table."""
    if connection.dialect.name != "postgresql":
        return  # SQLite hands out max(rowid) + 1 by itself
    for table in snapshot.table_order():
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or keys[0].type.python_type is not int:
            continue
        sequence = connection.scalar(text("SELECT pg_get_serial_sequence(:table, :column)"),
                                     {"table": table.name, "column": keys[0].name})
        if sequence is None:
            continue
        highest = connection.scalar(select(keys[0]).order_by(keys[0].desc()).limit(1))
        connection.execute(text("SELECT setval(CAST(:sequence AS regclass), :value, :called)"),
                           {"sequence": sequence, "value": highest or 1, "called": highest is not None})
