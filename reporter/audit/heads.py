"""Signed heads: the newest checkpoint as a small document kept outside the server.

A hash chain with enforced checkpoints stops someone who holds the database but not the audit key from
rewriting history, except at the very end: they can still cut the newest events back to a checkpoint.
A signed head saved off the server catches that (`verify_against`): its signature verifies with the
audit key and the stored event still has the same hash and time.

Heads leave the server by themselves: each checkpoint, once its transaction commits, is appended to
REPORTER_AUDIT_HEAD_LOG (a file outside the instance folder, or "syslog:" for the local syslog, which
can forward it elsewhere), and active auditors are e-mailed the newest head through the notification
outbox at most every REPORTER_AUDIT_HEAD_MAIL_HOURS. Auditors can also download one (/audit/head,
`reporter audit head`). `reporter audit verify --against` takes one saved head, or a folder of them.
"""

from __future__ import annotations

import base64
import fcntl
import json
import logging
import syslog
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from reporter.audit import checkpoints
from reporter.audit.chain import NEW_CHECKPOINTS, SYSTEM, Actor, ChainBroken, interval, lock_head, record
from reporter.database import HEAD_TARGET_INFO_KEY, SIGNER_INFO_KEY
from reporter.models import AuditCheckpoint, AuditEvent

log = logging.getLogger(__name__)
FORMAT = "reporter-audit-head/v1"
MAILED = "audit.head_mailed"


def head_document(checkpoint: AuditCheckpoint, public_key: Ed25519PublicKey) -> dict[str, Any]:
    """Return a checkpoint as the small signed document that is kept off the server."""
    document = {
        "format": FORMAT,
        "seq": checkpoint.seq,
        "hash": checkpoint.hash,
        "at": checkpoint.at.isoformat(),
        "key_id": checkpoint.key_id,
        "public_key": base64.b64encode(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode(),
        "signature": base64.b64encode(checkpoint.signature).decode(),
    }
    every = checkpoints.interval_of(checkpoint)
    if every is not None:
        document["every_events"], document["every_seconds"] = every
    return document


def signed_head(session: Session, public_key: Ed25519PublicKey) -> dict[str, Any] | None:
    """Return the newest signed checkpoint as a head document, or None before the first event."""
    newest = select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1)
    checkpoint = session.scalars(newest).first()
    return None if checkpoint is None else head_document(checkpoint, public_key)


def export_head(session: Session, signer: Ed25519PrivateKey, *, actor: Actor) -> dict[str, Any]:
    """Record the export, sign a checkpoint of that very event, and return it as a signed head."""
    event = record(session, actor=actor, action="audit.head_exported")
    if session.get(AuditCheckpoint, event.seq) is None:
        checkpoint = checkpoints.sign_checkpoint(signer, event, interval(session))
        session.add(checkpoint)
        session.flush()
        session.info.setdefault(NEW_CHECKPOINTS, []).append(checkpoint)
    head = signed_head(session, signer.public_key())
    assert head is not None
    return head


def verify_against(session: Session, saved: dict[str, Any], public_key: checkpoints.PublicKeys) -> None:
    """Prove the log still holds a saved signed head unchanged; raise ChainBroken otherwise.

    `public_key` may list every audit key the installation had: a head saved before a rotation is
    checked with the key it names, and only if that key is one of them (never the one the head carries).
    """
    try:
        seq, event_hash = int(saved["seq"]), str(saved["hash"])
        at = datetime.fromisoformat(str(saved["at"]))
        signature = base64.b64decode(str(saved["signature"]), validate=True)
        every = (int(saved["every_events"]), int(saved["every_seconds"])) if "every_events" in saved else None
    except (KeyError, TypeError, ValueError) as exc:
        raise ChainBroken(0, "the saved head is not a reporter audit head") from exc
    public_key = _named_key(public_key, saved.get("key_id"))
    if public_key is None:
        raise ChainBroken(seq, "the saved head is signed by a key this installation never had")
    try:
        public_key.verify(signature, checkpoints.checkpoint_message(seq, event_hash, at, every))
    except InvalidSignature:
        raise ChainBroken(seq, "the saved head's signature does not verify with this audit key") from None
    event = session.get(AuditEvent, seq)
    if event is None:
        raise ChainBroken(seq, "the event of the saved head is missing: the log was cut back")
    if event.hash != event_hash or event.at != at:
        raise ChainBroken(seq, "the log was rewritten: this event differs from the saved head")


def _named_key(keys: checkpoints.PublicKeys, named: object) -> Ed25519PublicKey | None:
    if keys is None or isinstance(keys, Ed25519PublicKey):
        return keys
    matching = [key for key in keys if checkpoints.key_id(key) == named]
    return matching[0] if matching else (list(keys)[-1] if named is None else None)


def saved_heads(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (where, head) for a saved head file, or for every head in a folder of them.

    A file holds one JSON document, or one per line (what REPORTER_AUDIT_HEAD_LOG appends).
    """
    files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
    for file in files:
        text = file.read_text(errors="replace")
        try:
            documents = [json.loads(text)]
        except ValueError:
            documents = [json.loads(line) for line in text.splitlines() if line.strip().startswith("{")]
        for number, document in enumerate(documents, start=1):
            if isinstance(document, dict) and document.get("format") == FORMAT:
                yield f"{file.name}#{number}", document


# Pushing heads off the server ----------------------------------------------------------------------

def _append(target: str, line: str) -> None:
    if target == "syslog:":
        syslog.syslog(syslog.LOG_NOTICE, f"reporter audit head {line}")
        return
    with open(target, "a", encoding="ascii") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(line + "\n")


@sa_event.listens_for(Session, "after_commit")
def _push_committed_checkpoints(session: Session) -> None:
    """Append each checkpoint this transaction signed to the configured target, now that it exists."""
    signed: list[AuditCheckpoint] = session.info.pop(NEW_CHECKPOINTS, [])
    target = session.info.get(HEAD_TARGET_INFO_KEY)
    signer: Ed25519PrivateKey | None = session.info.get(SIGNER_INFO_KEY)
    if not signed or not target or signer is None:
        return
    for checkpoint in signed:
        try:
            _append(target, json.dumps(head_document(checkpoint, signer.public_key()), sort_keys=True))
        except OSError as exc:
            log.error("audit head could not be pushed to %s (%s)", target, type(exc).__name__)


@sa_event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back_checkpoints(session: Session, _previous: Any) -> None:
    session.info.pop(NEW_CHECKPOINTS, None)


def mail_due(session: Session, *, every_hours: int, now: datetime) -> list[str]:
    """Queue the newest head for every active auditor if it is new and the last mailing is old; commit.

    Return the ids of the auditors queued (the mail itself is built when sent, from the newest head).
    """
    from reporter import access, directory  # noqa: PLC0415 - directory imports the audit chain
    from reporter.cases import notifications  # noqa: PLC0415
    from reporter.models import StaffMember  # noqa: PLC0415

    lock_head(session)  # two senders (workers, hosts) never both decide to mail the same head
    newest = session.scalar(select(AuditCheckpoint.seq).order_by(AuditCheckpoint.seq.desc()).limit(1))
    last = session.scalars(select(AuditEvent).where(AuditEvent.action == MAILED)
                           .order_by(AuditEvent.seq.desc()).limit(1)).first()
    mailed_seq = json.loads(last.detail).get("head", 0) if last is not None else 0
    recent = last is not None and now - last.at < timedelta(hours=every_hours)
    if newest is None or newest <= mailed_seq or recent:
        return []
    auditors = session.scalars(select(StaffMember).where(
        StaffMember.role.in_(access.roles_with(access.READ_AUDIT)), StaffMember.state == "active"))
    ids = sorted(p.id for p in directory.verified_people(session, list(auditors)))
    notifications.enqueue(session, ids, reason="audit_head", now=now)
    record(session, actor=SYSTEM, action=MAILED, detail={"head": newest, "to": len(ids)}, at=now)
    session.commit()
    return ids
