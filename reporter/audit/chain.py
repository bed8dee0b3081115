"""The audit chain: one row per security-relevant event, each hashing its predecessor.

``hash = SHA-256(prev_hash || canonical(row))`` where ``canonical`` is a JSON array in a fixed order
with ASCII escapes, so newlines, ANSI escapes or fake JSON in a value are stored as data and cannot
break a record apart. An event is added inside the transaction of the action it records: both commit
together or neither does. Appends are serialised: SQLite write transactions hold the single writer
lock from BEGIN IMMEDIATE; on PostgreSQL the chain head row is locked FOR UPDATE.

A hash chain alone does not stop someone who holds the database from rewriting the tail and
recomputing every hash. Checkpoints do: every CHECKPOINT_EVERY events, and at least daily, the event's
(seq, hash, time) is signed with the instance's Ed25519 audit key. Auditors download the newest signed
head and keep it outside the server; verifying later against that saved head (`reporter.audit.heads`)
proves the log still contains it unchanged and only grew after it. Someone holding both the database
and the audit key can still rewrite history after the newest head an auditor saved, but not before it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from reporter.audit import scan
from reporter.audit.scan import GENESIS_HASH as GENESIS_HASH  # re-exported: callers say chain.GENESIS_HASH
from reporter.audit.scan import PARALLEL_THRESHOLD, Broken, canonical_text
from reporter.database import SIGNER_INFO_KEY
from reporter.models import AuditCheckpoint, AuditEvent, AuditHead
from reporter.models.base import utcnow

CHECKPOINT_EVERY = 1000
CHECKPOINT_MAX_AGE = timedelta(days=1)
_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


class _Person(Protocol):
    role: str
    id: str


@dataclass(frozen=True)
class Actor:
    """Who did something: a staff member with their role, or one of the actors below (no id)."""

    role: str
    id: str | None = None

    @classmethod
    def of(cls, person: _Person) -> Actor:
        """Return the actor of a staff member: their role and id."""
        return cls(person.role, person.id)


#: The anonymous reporter (never anything that identifies them).
REPORTER = Actor("reporter")
#: The application itself: escalations, routing after offboarding, checkpoints.
SYSTEM = Actor("system")
#: Whoever holds the server's shell (`reporter users invite`, `reporter keys recover`).
CONSOLE = Actor("console")
#: A visitor who is not logged in (failed or throttled logins).
ANONYMOUS = Actor("anonymous")


class ChainBroken(Exception):
    """The chain does not verify; `seq` names the first bad event."""

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"broken at seq {seq}: {reason}")
        self.seq = seq
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Appended:
    """An event just appended: the values of its row (a plain object, cheaper than an ORM instance)."""

    seq: int
    at: datetime
    actor_id: str | None
    actor_role: str
    action: str
    object_type: str | None
    object_id: str | None
    detail: str
    prev_hash: str
    hash: str


EventLike = AuditEvent | Appended


@dataclass(frozen=True)
class Verified:
    """The result of a successful verification."""

    events: int
    last_checkpoint: int


def canonical(
    seq: int, at: datetime, actor_id: str | None, actor_role: str, action: str,
    object_type: str | None, object_id: str | None, detail: str,
) -> bytes:
    """Return the canonical encoding of an event's content (everything but its hashes)."""
    return canonical_text(seq, at.isoformat(), actor_id, actor_role, action, object_type, object_id,
                          detail).encode()


def chain_hash(prev_hash: str, content: bytes) -> str:
    """Return SHA-256(prev_hash || content) in hex."""
    return hashlib.sha256(prev_hash.encode() + content).hexdigest()


def encode_detail(detail: dict[str, Any] | None) -> str:
    """Return the canonical JSON of an event's detail dict."""
    return json.dumps(detail or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def content_of(event: EventLike) -> bytes:
    """Return the canonical content of a stored event."""
    return canonical(event.seq, event.at, event.actor_id, event.actor_role, event.action,
                     event.object_type, event.object_id, event.detail)


def key_id(public_key: Ed25519PublicKey) -> str:
    """Return the fingerprint that names an audit public key."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:32]


def checkpoint_message(seq: int, event_hash: str, at: datetime) -> bytes:
    """Return the bytes an audit checkpoint signature covers."""
    return _encode(["reporter/audit-checkpoint/v1", seq, event_hash, at.isoformat()]).encode()


_HEAD_STATE = "reporter.audit_head"
_HEAD: Any = AuditHead.__table__
# Statements built once: executing them with a parameter dict reuses the compiled form.
_INSERT_EVENT = insert(AuditEvent.__table__)  # type: ignore[arg-type]
_INSERT_CHECKPOINT = insert(AuditCheckpoint.__table__)  # type: ignore[arg-type]
_LOCK_HEAD = select(_HEAD.c.seq, _HEAD.c.hash, _HEAD.c.checkpoint_at).where(_HEAD.c.id == 1).with_for_update()
# The head's seq and hash follow each INSERT by a database trigger (migration 0005); only the
# checkpoint time is set from here, when a checkpoint is signed.
_MARK_CHECKPOINT = update(_HEAD).where(_HEAD.c.id == 1).values(checkpoint_at=bindparam("new_checkpoint_at"))


def _locked_head(session: Session) -> list[Any]:
    """Return [transaction, seq, hash, checkpoint_at] of the chain head, locked for this transaction.

    The head row is read (FOR UPDATE on PostgreSQL) once per transaction and then kept in
    Session.info, so a transaction that records many events pays for one read, not one per event.
    """
    state = session.info.get(_HEAD_STATE)
    if state is not None and state[0] is session.get_transaction():
        return list(state)
    row = session.execute(_LOCK_HEAD).one_or_none()
    if row is None:
        raise ChainBroken(0, "the chain head row is missing (was the database migrated?)")
    state = [session.get_transaction(), row.seq, row.hash, row.checkpoint_at]
    session.info[_HEAD_STATE] = state
    return list(state)


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    object_type: str | None = None,
    object_id: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> Appended:
    """Append one event to the chain in the caller's transaction, signing a checkpoint when due."""
    transaction, head_seq, head_hash, checkpoint_at = _locked_head(session)
    seq, when, encoded = head_seq + 1, at or utcnow(), encode_detail(detail)
    content = canonical(seq, when, actor.id, actor.role, action, object_type, object_id, encoded)
    event = Appended(seq, when, actor.id, actor.role, action, object_type, object_id, encoded, head_hash,
                     chain_hash(head_hash, content))
    session.execute(_INSERT_EVENT, {
        "seq": seq, "at": when, "actor_id": actor.id, "actor_role": actor.role, "action": action,
        "object_type": object_type, "object_id": object_id, "detail": encoded, "prev_hash": head_hash,
        "hash": event.hash,
    })
    signer: Ed25519PrivateKey | None = session.info.get(SIGNER_INFO_KEY)
    due = event.seq % CHECKPOINT_EVERY == 0 or checkpoint_at is None or (
        event.at - checkpoint_at >= CHECKPOINT_MAX_AGE
    )
    if signer is not None and due:
        checkpoint = sign_checkpoint(signer, event)
        session.execute(_INSERT_CHECKPOINT, {
            "seq": checkpoint.seq, "hash": checkpoint.hash, "at": checkpoint.at, "key_id": checkpoint.key_id,
            "signature": checkpoint.signature,
        })
        checkpoint_at = event.at
        session.execute(_MARK_CHECKPOINT, {"new_checkpoint_at": checkpoint_at})
    session.info[_HEAD_STATE] = [transaction, event.seq, event.hash, checkpoint_at]
    return event


def sign_checkpoint(signer: Ed25519PrivateKey, event: EventLike) -> AuditCheckpoint:
    """Return a checkpoint signing the seq, hash and time of `event`."""
    return AuditCheckpoint(
        seq=event.seq, hash=event.hash, at=event.at, key_id=key_id(signer.public_key()),
        signature=signer.sign(checkpoint_message(event.seq, event.hash, event.at)),
    )


def verify_rows(rows: Iterable[Any], checkpoints: dict[int, AuditCheckpoint] | None = None) -> int:
    """Recompute the chain over rows in seq order; return the count or raise ChainBroken."""
    hashes = {seq: checkpoint.hash for seq, checkpoint in (checkpoints or {}).items()}
    return _counted(scan.join([scan.scan([rows], hashes)]))


def _counted(scanned: tuple[int, Broken | None]) -> int:
    count, broken = scanned
    if broken is not None:
        raise ChainBroken(*broken)
    return count


def verify_events(events: Iterable[AuditEvent]) -> int:
    """Recompute the chain over ORM events in seq order; return the count or raise ChainBroken."""
    return verify_rows((e.seq, e.at, e.actor_id, e.actor_role, e.action, e.object_type, e.object_id,
                        e.detail, e.prev_hash, e.hash) for e in events)


def _checked_checkpoints(session: Session, public_key: Ed25519PublicKey | None) -> dict[int, AuditCheckpoint]:
    checkpoints = {c.seq: c for c in session.scalars(select(AuditCheckpoint))}
    if public_key is None:
        return checkpoints
    for seq in sorted(checkpoints):
        checkpoint = checkpoints[seq]
        try:
            public_key.verify(checkpoint.signature, checkpoint_message(seq, checkpoint.hash, checkpoint.at))
        except InvalidSignature:
            raise ChainBroken(seq, "checkpoint signature does not verify") from None
    return checkpoints


def verify_chain(
    session: Session, public_key: Ed25519PublicKey | None = None, *, workers: int | None = None,
    parallel_threshold: int = PARALLEL_THRESHOLD,
) -> Verified:
    """Verify every event, the chain head and (given the public key) every checkpoint signature.

    A chain of `parallel_threshold` events or more is recomputed by `workers` processes at once
    (default: one per CPU); see reporter.audit_scan.
    """
    checkpoints = _checked_checkpoints(session, public_key)
    hashes = {seq: checkpoint.hash for seq, checkpoint in checkpoints.items()}
    count = _counted(scan.scan_chain(session, hashes, workers=workers,
                                           parallel_threshold=parallel_threshold))
    last = max(checkpoints, default=0)
    if last > count:
        raise ChainBroken(count + 1, f"events after {count} are missing; a checkpoint signed seq {last}")
    head = session.get(AuditHead, 1)
    if head is not None and head.seq != count:
        raise ChainBroken(min(head.seq, count) + 1, "the chain head names an event that is missing")
    return Verified(events=count, last_checkpoint=last)
