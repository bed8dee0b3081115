"""Changing audit rows as an insider with database access would: the append-only triggers go first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session

from reporter.audit import chain
from reporter.extensions import db
from reporter.models import AuditEvent


def tamper(backend: str, *statements: str, **params: Any) -> None:
    """Run raw SQL on the app's database in one transaction, the append-only triggers switched off."""
    assert db.engine is not None
    with db.engine.begin() as connection:
        _switch_off_triggers(connection, backend)
        for statement in statements:
            connection.execute(text(statement), params)


def forge(backend: str, seq: int, detail: str) -> None:
    """Rewrite the detail of event `seq` and recompute every later hash and the chain head, as an
    insider without the audit key would."""
    assert db.engine is not None
    with Session(db.engine) as session:
        later = select(AuditEvent).where(AuditEvent.seq >= seq).order_by(AuditEvent.seq)
        events = list(session.scalars(later))
        prev = session.scalars(select(AuditEvent.hash).where(AuditEvent.seq == seq - 1)).one()
    updates = []
    for event in events:
        if event.seq == seq:
            event.detail = detail
        event.prev_hash = prev
        event.hash = chain.chain_hash(prev, chain.content_of(event))
        updates.append({"seq": event.seq, "detail": event.detail, "prev": prev, "hash": event.hash})
        prev = event.hash
    with db.engine.begin() as connection:
        _switch_off_triggers(connection, backend)
        connection.execute(
            text("UPDATE audit_events SET detail = :detail, prev_hash = :prev, hash = :hash "
                 "WHERE seq = :seq"),
            updates,
        )
        connection.execute(text("UPDATE audit_head SET hash = :hash"), {"hash": prev})


def _switch_off_triggers(connection: Connection, backend: str) -> None:
    if backend == "postgresql":
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        return
    for table in ("audit_events", "audit_checkpoints"):
        for verb in ("update", "delete"):
            connection.execute(text(f"DROP TRIGGER IF EXISTS {table}_no_{verb}"))
