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

import hashlib
import json
from datetime import datetime, timedelta
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select
from sqlalchemy.orm import Session

from reporter.audit.scan import NO_DEADLINE, ChainBroken
from reporter.models import AuditCheckpoint

#: (events, seconds): the interval when the session does not say otherwise.
DEFAULT_EVERY = (100, 3600)
Interval = tuple[int, int]
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


def checked(session: Session, public_key: Ed25519PublicKey | None) -> dict[int, AuditCheckpoint]:
    """Return the stored checkpoints by seq, each signature verified when the public key is given."""
    found = {c.seq: c for c in session.scalars(select(AuditCheckpoint))}
    if public_key is None:
        return found
    for seq in sorted(found):
        checkpoint = found[seq]
        try:
            public_key.verify(checkpoint.signature, checkpoint_message(seq, checkpoint.hash, checkpoint.at,
                                                                       interval_of(checkpoint)))
        except InvalidSignature:
            raise ChainBroken(seq, "checkpoint signature does not verify") from None
    return found


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
