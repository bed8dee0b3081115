"""The audit chain: append-only events, each hashing its predecessor, and signed checkpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Integer, LargeBinary, String, Text, event
from sqlalchemy.orm import Mapped, mapped_column

from reporter.models.base import Base


class AuditEvent(Base):
    """One event. ``hash = SHA-256(prev_hash || canonical(row))``; see reporter.audit."""

    __tablename__ = "audit_events"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime, index=True)
    actor_id: Mapped[str | None] = mapped_column(String(64), index=True)
    #: A staff role, or "reporter" / "system".
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(String(64), index=True)
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


def _refuse_change(_mapper: Any, _connection: Any, target: Any) -> None:
    raise PermissionError(f"{type(target).__name__} rows are append-only")


for _model in (AuditEvent, AuditCheckpoint):
    event.listen(_model, "before_update", _refuse_change)
    event.listen(_model, "before_delete", _refuse_change)
