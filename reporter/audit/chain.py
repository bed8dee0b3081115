"""The audit chain: one row per security-relevant event, each hashing its predecessor.

``hash = SHA-256(prev_hash || canonical(row))`` where ``canonical`` is a JSON array in a fixed order
with ASCII escapes, so newlines, ANSI escapes or fake JSON in a value are stored as data and cannot
break a record apart. An event is added inside the transaction of the action it records: both commit
together or neither does. Appends are serialised: SQLite write transactions hold the single writer
lock from BEGIN IMMEDIATE; on PostgreSQL the chain head row is locked FOR UPDATE.

A hash chain alone does not stop someone who holds the database from rewriting the tail and
recomputing every hash. Checkpoints do (`reporter.audit.checkpoints`): at the first event, every
REPORTER_AUDIT_CHECKPOINT_EVERY events and at least hourly, the event's (seq, hash, time) is signed
with the instance's Ed25519 audit key, and verification requires them that often. Signed heads go off
the server (`reporter.audit.heads`); verifying against them proves the log still contains them
unchanged and only grew after them. Someone holding both the database and the audit key can still
rewrite history after the newest head pushed or saved, but not before it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from reporter.audit import checkpoints, scan
from reporter.audit.checkpoints import checkpoint_message as checkpoint_message  # re-exported
from reporter.audit.checkpoints import key_id as key_id  # re-exported
from reporter.audit.checkpoints import sign_checkpoint as sign_checkpoint  # re-exported
from reporter.audit.scan import GENESIS_HASH as GENESIS_HASH  # re-exported: callers say chain.GENESIS_HASH
from reporter.audit.scan import PARALLEL_THRESHOLD, Broken, canonical_text
from reporter.audit.scan import ChainBroken as ChainBroken  # re-exported
from reporter.database import CHECKPOINT_INFO_KEY, SIGNER_INFO_KEY
from reporter.models import AuditCheckpoint, AuditEvent, AuditHead
from reporter.models.base import to_the_hour, utcnow

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


_HEAD_STATE = "reporter.audit_head"
#: Checkpoints signed in the session's open transaction, pushed off the server once it commits
#: (reporter.audit.heads).
NEW_CHECKPOINTS = "reporter.new_checkpoints"
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


def lock_head(session: Session) -> None:
    """Hold the chain head for the rest of this transaction: a decision read after this (such as
    "has this head been mailed yet?") cannot be made twice by two writers at once."""
    _locked_head(session)


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
    """Append one event to the chain in the caller's transaction, signing a checkpoint when due.

    A reporter's event is stored at the hour it happened (rounded down), like a report's created_hour.
    """
    transaction, head_seq, head_hash, checkpoint_at = _locked_head(session)
    seq, when, encoded = head_seq + 1, at or utcnow(), encode_detail(detail)
    if actor.role == REPORTER.role:  # what a reporter does is timed to the hour only; the order is seq
        when = to_the_hour(when)
    content = canonical(seq, when, actor.id, actor.role, action, object_type, object_id, encoded)
    event = Appended(seq, when, actor.id, actor.role, action, object_type, object_id, encoded, head_hash,
                     chain_hash(head_hash, content))
    session.execute(_INSERT_EVENT, {
        "seq": seq, "at": when, "actor_id": actor.id, "actor_role": actor.role, "action": action,
        "object_type": object_type, "object_id": object_id, "detail": encoded, "prev_hash": head_hash,
        "hash": event.hash,
    })
    signer: Ed25519PrivateKey | None = session.info.get(SIGNER_INFO_KEY)
    every = interval(session)
    if signer is not None and checkpoints.is_due(event.seq, event.at, checkpoint_at, every):
        checkpoint = sign_checkpoint(signer, event, every)
        session.execute(_INSERT_CHECKPOINT, {
            "seq": checkpoint.seq, "hash": checkpoint.hash, "at": checkpoint.at, "key_id": checkpoint.key_id,
            "signature": checkpoint.signature, "every_events": every[0], "every_seconds": every[1],
        })
        checkpoint_at = event.at
        session.execute(_MARK_CHECKPOINT, {"new_checkpoint_at": checkpoint_at})
        session.info.setdefault(NEW_CHECKPOINTS, []).append(checkpoint)
    session.info[_HEAD_STATE] = [transaction, event.seq, event.hash, checkpoint_at]
    return event


def interval(session: Session) -> checkpoints.Interval:
    """Return the checkpoint interval (events, seconds) this session's application uses."""
    every = session.info.get(CHECKPOINT_INFO_KEY)
    return (int(every[0]), int(every[1])) if every else checkpoints.DEFAULT_EVERY


def verify_rows(rows: Iterable[Any]) -> int:
    """Recompute the chain over rows in seq order (no checkpoints); return the count or raise ChainBroken."""
    return _counted(scan.join([scan.scan([rows], {})]))


def _counted(scanned: tuple[int, Broken | None]) -> int:
    count, broken = scanned
    if broken is not None:
        raise ChainBroken(*broken)
    return count


def verify_events(events: Iterable[AuditEvent]) -> int:
    """Recompute the chain over ORM events in seq order; return the count or raise ChainBroken."""
    return verify_rows((e.seq, e.at, e.actor_id, e.actor_role, e.action, e.object_type, e.object_id,
                        e.detail, e.prev_hash, e.hash) for e in events)


def verify_chain(
    session: Session, public_key: checkpoints.PublicKeys = None, *, workers: int | None = None,
    parallel_threshold: int = PARALLEL_THRESHOLD,
) -> Verified:
    """Verify every event, the chain head, every checkpoint signature (given the public key) and
    that checkpoints come as often as the application signs them.

    A chain of `parallel_threshold` events or more is recomputed by `workers` processes at once
    (default: one per CPU); see reporter.audit.scan.
    """
    found = checkpoints.checked(session, public_key)
    count = _counted(scan.scan_chain(session, checkpoints.deadlines(found), workers=workers,
                                     parallel_threshold=parallel_threshold))
    last = max(found, default=0)
    if last > count:
        raise ChainBroken(count + 1, f"events after {count} are missing; a checkpoint signed seq {last}")
    checkpoints.check_spacing(found, count, interval(session))
    head = session.get(AuditHead, 1)
    if head is not None and head.seq != count:
        raise ChainBroken(min(head.seq, count) + 1, "the chain head names an event that is missing")
    return Verified(events=count, last_checkpoint=last)
