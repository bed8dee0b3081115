"""The audit chain: append-only events, each hashing its predecessor, and signed checkpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, Integer, LargeBinary, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from reporter.models.base import Base


class AuditEvent(Base):
    """One event. ``hash = SHA-256(prev_hash || canonical(row))``; see reporter.audit."""

    __tablename__ = "audit_events"
    # The auditor's filters read newest first within one actor, action or object: an index on
    # (column, seq) serves both the equality and the keyset ORDER BY seq DESC LIMIT 50, so a filtered
    # page costs the same at any depth of a million events. They also make single-column indexes on
    # these three columns redundant.
    __table_args__ = (
        Index("ix_audit_events_actor_id_seq", "actor_id", "seq"),
        Index("ix_audit_events_action_seq", "action", "seq"),
        Index("ix_audit_events_object_id_seq", "object_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    actor_id: Mapped[str | None] = mapped_column(String(64))
    #: A staff role, or "reporter" / "system".
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64))
    #: Canonical JSON; never case content, receipts, passwords or addresses.
    detail: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The single row naming the chain's last event; locking it serialises appends on PostgreSQL."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))
    #: When the last checkpoint was signed, so appends know a daily one is due without a query.
    checkpoint_at: Mapped[datetime | None] = mapped_column(DateTime)


class AuditCheckpoint(Base):
    """A signature by the instance audit key over (seq, hash, time) of one event."""

    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime)
    #: Fingerprint of the Ed25519 public key that made the signature.
    key_id: Mapped[str] = mapped_column(String(32))
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    #: The checkpoint interval in force, inside the signature: the next checkpoint must follow within
    #: this many events and seconds (None: a checkpoint signed before intervals were enforced).
    every_events: Mapped[int | None] = mapped_column(Integer)
    every_seconds: Mapped[int | None] = mapped_column(Integer)


def _refuse_change(_mapper: Any, _connection: Any, target: Any) -> None:
    raise PermissionError(f"{type(target).__name__} rows are append-only")


for _model in (AuditEvent, AuditCheckpoint):
    event.listen(_model, "before_update", _refuse_change)
    event.listen(_model, "before_delete", _refuse_change)
