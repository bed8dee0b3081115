"""The audit chain: one row per security-relevant event, each hashing its predecessor.

``hash = SHA-256(prev_hash || canonical(row))`` where ``canonical`` is JSON with sorted keys and
ASCII escapes, so newlines, ANSI escapes or fake JSON in a value are stored as data and cannot
break the record apart. An event is added inside the transaction of the action it records: both
commit together or neither does. Appends are serialised: SQLite write transactions hold the single
writer lock from BEGIN IMMEDIATE; on PostgreSQL the chain head row is locked FOR UPDATE.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reporter.models import AuditEvent, AuditHead
from reporter.models.base import utcnow

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who did something: a staff member with their role, or the reporter or the system (no id)."""

    role: str
    id: str | None = None


REPORTER = Actor("reporter")
SYSTEM = Actor("system")


class ChainBroken(Exception):
    """The chain does not verify; `seq` names the first bad event."""

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"broken at seq {seq}: {reason}")
        self.seq = seq
        self.reason = reason


def canonical(
    *,
    seq: int,
    at: datetime,
    actor_id: str | None,
    actor_role: str,
    action: str,
    object_type: str | None,
    object_id: str | None,
    detail: str,
) -> bytes:
    """Return the canonical encoding of an event's content (everything but its hashes)."""
    body = {
        "seq": seq,
        "at": at.isoformat(timespec="microseconds"),
        "actor_id": actor_id,
        "actor_role": actor_role,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "detail": detail,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def chain_hash(prev_hash: str, content: bytes) -> str:
    """Return SHA-256(prev_hash || content) in hex."""
    return hashlib.sha256(prev_hash.encode() + content).hexdigest()


def encode_detail(detail: dict[str, Any] | None) -> str:
    """Return the canonical JSON of an event's detail dict."""
    return json.dumps(detail or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _lock_head(session: Session) -> AuditHead:
    head = session.scalars(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one_or_none()
    if head is None:
        raise ChainBroken(0, "the chain head row is missing (was the database migrated?)")
    return head


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    object_type: str | None = None,
    object_id: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEvent:
    """Append one event to the chain in the caller's transaction and flush it."""
    head = _lock_head(session)
    event = AuditEvent(
        seq=head.seq + 1,
        at=at or utcnow(),
        actor_id=actor.id,
        actor_role=actor.role,
        action=action,
        object_type=object_type,
        object_id=object_id,
        detail=encode_detail(detail),
        prev_hash=head.hash,
    )
    event.hash = chain_hash(event.prev_hash, content_of(event))
    session.add(event)
    head.seq, head.hash = event.seq, event.hash
    session.flush()
    return event


def content_of(event: AuditEvent) -> bytes:
    """Return the canonical content of a stored event."""
    return canonical(
        seq=event.seq,
        at=event.at,
        actor_id=event.actor_id,
        actor_role=event.actor_role,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        detail=event.detail,
    )


def verify_events(events: Iterable[AuditEvent]) -> int:
    """Recompute the chain over `events` in seq order; return the count or raise ChainBroken."""
    expected_seq, prev = 1, GENESIS_HASH
    for event in events:
        if event.seq != expected_seq:
            raise ChainBroken(expected_seq, f"expected seq {expected_seq}, found {event.seq}")
        if event.prev_hash != prev:
            raise ChainBroken(event.seq, "prev_hash does not match the previous event")
        if chain_hash(prev, content_of(event)) != event.hash:
            raise ChainBroken(event.seq, "hash does not match the event's content")
        prev = event.hash
        expected_seq += 1
    return expected_seq - 1


def verify_chain(session: Session) -> int:
    """Verify every stored event against its predecessor; return how many events are intact."""
    events = session.execute(select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=5000))
    count = verify_events(row[0] for row in events)
    head = session.get(AuditHead, 1)
    if head is not None and head.seq != count:
        raise ChainBroken(min(head.seq, count) + 1, "the chain head names an event that is missing")
    return count
