"""Signed checkpoints of the audit chain, and the rule that they come often enough.

A checkpoint is the instance audit key's Ed25519 signature over an event's (seq, hash, time) and the
interval in force. The application signs one at the first event, then at least every ``every_events``
events (``REPORTER_AUDIT_CHECKPOINT_EVERY``, default 100) and at least once an hour with activity.
Verification requires exactly that (`check_spacing` and the deadlines `scan` enforces): someone who
can write to the database but does not hold the audit key cannot delete checkpoints and recompute the
hashes after them, because the gap left behind, or a tail longer than the interval, is itself
"broken". What remains possible without the key is to cut the newest events back to the last
checkpoint (and less than one interval after it): the signed heads pushed off the server
(`reporter.audit.heads`) catch that.

Checkpoints signed before the interval was enforced (format v1, no interval) verify as before and
constrain nothing after them; the upgrade that enforces the interval signs a v2 checkpoint at once.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select
from sqlalchemy.orm import Session

from reporter.audit.scan import NO_DEADLINE, ChainBroken
from reporter.models import AuditCheckpoint, AuditEvent

#: (events, seconds): the interval when the session does not say otherwise.
DEFAULT_EVERY = (100, 3600)
Interval = tuple[int, int]
#: One audit public key, or every one the installation had, oldest first.
PublicKeys = Ed25519PublicKey | Sequence[Ed25519PublicKey] | None
#: The audit action that announces a new audit key (see `key_schedule`).
KEY_ROTATED = "audit.key_rotated"
_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


class _Event(Protocol):
    @property
    def seq(self) -> int: ...
    @property
    def hash(self) -> str: ...
    @property
    def at(self) -> datetime: ...


def key_id(public_key: Ed25519PublicKey) -> str:
    """Return the fingerprint that names an audit public key."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:32]


def checkpoint_message(seq: int, event_hash: str, at: datetime, every: Interval | None = None) -> bytes:
    """Return the bytes a checkpoint signature covers (v2 with the interval, v1 without)."""
    if every is None:
        return _encode(["reporter/audit-checkpoint/v1", seq, event_hash, at.isoformat()]).encode()
    return _encode(["reporter/audit-checkpoint/v2", seq, event_hash, at.isoformat(), every[0],
                    every[1]]).encode()


def interval_of(checkpoint: AuditCheckpoint) -> Interval | None:
    """Return the interval a checkpoint was signed with, or None for a v1 checkpoint."""
    if checkpoint.every_events is None or checkpoint.every_seconds is None:
        return None
    return checkpoint.every_events, checkpoint.every_seconds


def sign_checkpoint(signer: Ed25519PrivateKey, event: _Event,
                    every: Interval = DEFAULT_EVERY) -> AuditCheckpoint:
    """Return a checkpoint signing the seq, hash and time of `event` and the interval in force."""
    return AuditCheckpoint(
        seq=event.seq, hash=event.hash, at=event.at, key_id=key_id(signer.public_key()),
        signature=signer.sign(checkpoint_message(event.seq, event.hash, event.at, every)),
        every_events=every[0], every_seconds=every[1],
    )


def is_due(seq: int, at: datetime, checkpoint_at: datetime | None, every: Interval) -> bool:
    """Tell whether the event (seq, at) must be signed, given when the last checkpoint was signed."""
    return checkpoint_at is None or seq % every[0] == 0 or at - checkpoint_at >= timedelta(seconds=every[1])


def checked(session: Session, public_key: PublicKeys) -> dict[int, AuditCheckpoint]:
    """Return the stored checkpoints by seq, each signature verified when the public key is given.

    `public_key` may be the list of the installation's audit keys, oldest first (after rotations):
    each checkpoint must then verify under the key in force at its seq (see `key_schedule`).
    """
    found = {c.seq: c for c in session.scalars(select(AuditCheckpoint))}
    if public_key is None:
        return found
    history = [public_key] if isinstance(public_key, Ed25519PublicKey) else list(public_key)
    schedule = [(0, history[0]), *key_schedule(session, history, found)]
    for seq in sorted(found):
        checkpoint = found[seq]
        message = checkpoint_message(seq, checkpoint.hash, checkpoint.at, interval_of(checkpoint))
        if not _verifies(key_at(schedule, seq), checkpoint.signature, message):
            raise ChainBroken(seq, "checkpoint signature does not verify")
    return found


def key_at(schedule: list[tuple[int, Ed25519PublicKey]], seq: int) -> Ed25519PublicKey:
    """Return the audit key in force for the checkpoint at `seq` (for the announcing one: the previous)."""
    return [key for after, key in schedule if after < seq][-1]


def _verifies(key: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


def rotation_detail(new_key: Ed25519PublicKey) -> dict[str, str]:
    """Return the detail of the audit event that announces a new audit key."""
    raw = new_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return {"key_id": key_id(new_key), "public_key": base64.b64encode(raw).decode()}


def key_schedule(session: Session, history: list[Ed25519PublicKey],
                 found: dict[int, AuditCheckpoint]) -> list[tuple[int, Ed25519PublicKey]]:
    """Return [(seq, key)]: the audit key changes announced in the chain, in order.

    The chain starts under the oldest key of `history`. A new key takes over only through a
    ``audit.key_rotated`` event naming it, whose own checkpoint must verify under the key in force
    before it: so a verifier follows the change, and an announcement written without the previous key
    (or naming a key this installation never had) breaks the chain at that event. Every checkpoint
    after the announcement must be signed by the new key.
    """
    raws = {k.public_bytes(Encoding.Raw, PublicFormat.Raw) for k in history}
    changes = []
    query = select(AuditEvent).where(AuditEvent.action == KEY_ROTATED).order_by(AuditEvent.seq)
    for event in session.scalars(query):
        try:
            raw = base64.b64decode(json.loads(event.detail)["public_key"], validate=True)
        except (KeyError, TypeError, ValueError):
            raise ChainBroken(event.seq, "the audit key change names no valid key") from None
        if raw not in raws:
            raise ChainBroken(event.seq, "the audit key announced here is not this installation's")
        if event.seq not in found:
            raise ChainBroken(event.seq, "the audit key change has no checkpoint signed by the previous key")
        changes.append((event.seq, Ed25519PublicKey.from_public_bytes(raw)))
    return changes


def deadlines(found: dict[int, AuditCheckpoint]) -> dict[int, tuple[str, str]]:
    """Return, by seq, each checkpoint's hash and the time by which the next one was due (ISO text)."""
    result = {}
    for seq, checkpoint in found.items():
        every = interval_of(checkpoint)
        due = NO_DEADLINE if every is None else (checkpoint.at + timedelta(seconds=every[1])).isoformat(
            timespec="microseconds")
        result[seq] = (checkpoint.hash, due)
    return result


def check_spacing(found: dict[int, AuditCheckpoint], count: int, every: Interval) -> None:
    """Raise ChainBroken unless a checkpoint signs the first event and each follows within its interval.

    `count` is the number of events; the tail after the last checkpoint must be shorter than the
    interval (the last checkpoint's, or `every` after a v1 one).
    """
    if count == 0:
        return
    if 1 not in found:
        raise ChainBroken(1, "the first event has no signed checkpoint")
    seqs = sorted(seq for seq in found if seq <= count)
    for before, after in zip(seqs, seqs[1:], strict=False):
        interval = interval_of(found[before])
        if interval is not None and after - before > interval[0]:
            raise ChainBroken(before + interval[0],
                              f"no signed checkpoint within {interval[0]} events of seq {before}")
    last = seqs[-1]
    limit = (interval_of(found[last]) or every)[0]
    if count >= last + limit:
        raise ChainBroken(last + limit, f"no signed checkpoint within {limit} events of seq {last}")
