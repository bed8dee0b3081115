"""`reporter db copy`: move an installation's database between SQLite and PostgreSQL, audit chain included.

The source is read in one consistent transaction (reporter.lifecycle.snapshot), the target written in
ONE transaction (reporter.lifecycle.loading): a copy that is interrupted, or that fails any check,
leaves the target as empty as it was (migrated to the schema at most). Before the commit the copy
is checked inside that transaction: every table holds as many rows as the source's snapshot, and the
audit chain verifies, checkpoint signatures included, under the instance's audit key. A
`database.copied` event then continues the chain on the target.

Attachment files and keys stay where they are: only the database moves. The instance then runs on
the target once REPORTER_DATABASE_URL names it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from reporter import database
from reporter.audit import chain
from reporter.lifecycle import loading, snapshot


class CopyFailed(RuntimeError):
    """The copy did not verify on the target and was rolled back; the message says what differed."""


@dataclass(frozen=True)
class Copied:
    """What a copy moved."""

    rows: dict[str, int]
    events: int


def copy_database(source: Engine, target: Engine, *, signer: Ed25519PrivateKey,
                  verification_keys: Sequence[Ed25519PublicKey], checkpoint_every: int,
                  started: Callable[[int], None] | None = None,
                  advance: Callable[[int], None] | None = None) -> Copied:
    """Copy every table from `source` into the empty `target` in one transaction, then verify it there.

    `verification_keys` are the audit keys, current and retired, that checkpoints may be signed with;
    `started` receives the number of rows to copy, `advance` each batch's size (for a progress bar).
    """
    with snapshot.read_transaction(source) as reading:
        revision = snapshot.schema_revision(reading)
        loading.check_target(target, revision=revision)
        assert revision is not None
        expected = {table.name: snapshot.count_rows(reading, table) for table in snapshot.table_order()}
        if started is not None:
            started(sum(expected.values()))
        loading.migrate_target(target, revision=revision)
        writing = target.execution_options(sqlite_begin_immediate=True)
        with writing.connect() as connection, connection.begin() as transaction:
            for table in snapshot.table_order():
                loader = loading.TableLoader(connection, table, snapshot.column_names(table))
                for batch in snapshot.stream_rows(reading, table):
                    loader.add(batch)
                    if advance is not None:
                        advance(len(batch))
                loader.finish()
            loading.reset_sequences(connection)
            found = {table.name: snapshot.count_rows(connection, table) for table in snapshot.table_order()}
            if found != expected:
                differ = [name for name in expected if found.get(name) != expected[name]]
                raise CopyFailed("row counts differ on the target in " + ", ".join(differ))
            info = {database.SIGNER_INFO_KEY: signer, database.CHECKPOINT_INFO_KEY: (checkpoint_every, 3600)}
            with Session(bind=connection, info=info) as session:
                try:
                    verified = chain.verify_chain(session, list(verification_keys), workers=1)
                except chain.ChainBroken as broken:
                    raise CopyFailed(f"the audit chain does not verify on the target: {broken}") from None
                chain.record(session, actor=chain.CONSOLE, action="database.copied",
                             detail={"from": source.dialect.name, "to": target.dialect.name})
            transaction.commit()
    return Copied(rows=expected, events=verified.events)
