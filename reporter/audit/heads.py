"""Signed heads: the newest checkpoint as a small document an auditor keeps outside the server.

A hash chain alone does not stop someone who holds the database from rewriting the tail and
recomputing every hash. An auditor who saved a signed head earlier can prove the log still holds
that event unchanged (`verify_against`): its signature verifies with the audit key and the stored
event has the same hash and time. Rewriting history before a saved head then needs the audit key
as well as the database.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import select
from sqlalchemy.orm import Session

from reporter.audit.chain import Actor, ChainBroken, checkpoint_message, record, sign_checkpoint
from reporter.models import AuditCheckpoint, AuditEvent


def signed_head(session: Session, public_key: Ed25519PublicKey) -> dict[str, Any] | None:
    """Return the newest signed checkpoint as a small document an auditor keeps off the server."""
    newest = select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1)
    checkpoint = session.scalars(newest).first()
    if checkpoint is None:
        return None
    return {
        "format": "reporter-audit-head/v1",
        "seq": checkpoint.seq,
        "hash": checkpoint.hash,
        "at": checkpoint.at.isoformat(),
        "key_id": checkpoint.key_id,
        "public_key": base64.b64encode(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode(),
        "signature": base64.b64encode(checkpoint.signature).decode(),
    }


def export_head(session: Session, signer: Ed25519PrivateKey, *, actor: Actor) -> dict[str, Any]:
    """Record the export, sign a checkpoint of that very event, and return it as a signed head."""
    event = record(session, actor=actor, action="audit.head_exported")
    if session.get(AuditCheckpoint, event.seq) is None:
        session.add(sign_checkpoint(signer, event))
        session.flush()
    head = signed_head(session, signer.public_key())
    assert head is not None
    return head


def verify_against(session: Session, saved: dict[str, Any], public_key: Ed25519PublicKey) -> None:
    """Prove the log still holds a saved signed head unchanged; raise ChainBroken otherwise."""
    try:
        seq, event_hash = int(saved["seq"]), str(saved["hash"])
        at = datetime.fromisoformat(str(saved["at"]))
        signature = base64.b64decode(str(saved["signature"]), validate=True)
    except (KeyError, TypeError, ValueError) as exc:
        raise ChainBroken(0, "the saved head is not a reporter audit head") from exc
    try:
        public_key.verify(signature, checkpoint_message(seq, event_hash, at))
    except InvalidSignature:
        raise ChainBroken(seq, "the saved head's signature does not verify with this audit key") from None
    event = session.get(AuditEvent, seq)
    if event is None:
        raise ChainBroken(seq, "the event of the saved head is missing")
    if event.hash != event_hash or event.at != at:
        raise ChainBroken(seq, "the log was rewritten: this event differs from the saved head")
