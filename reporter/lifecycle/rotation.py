"""`reporter keys rotate`: new instance keys, with the old ones kept for reading while anything needs them.

Each key is rotated in steps that can each be repeated (see reporter.lifecycle.keyfiles for the files):

1. *prepare*: the keys chosen are written to ``rotation.next``, then each new key to
   ``<stem>.next<suffix>``. While these files exist, a rerun takes up exactly those keys and never
   makes another new one.
2. *announce* (the audit key only): an ``audit.key_rotated`` event names the new public key, and a
   checkpoint of that event is signed with the OLD key, so a verifier follows the change and a change
   written without the old key breaks the chain (reporter.audit.checkpoints.key_schedule).
3. *promote*: the current key is copied to its retired file (for the audit key only its public half),
   then the new key replaces the current file. Both writes are atomic; a process killed between them
   leaves the retired copy beside an unchanged current key, which the loader reads as one version.
4. *carry over* what can be carried: directory records are verified and signed again under the new
   key, TOTP secrets are encrypted again (reporter.lifecycle.resign). Receipt lookups cannot be redone
   without the receipts: they move when reporters come back (reporter.lifecycle.receipt_keys), and
   sessions signed with a retired secret key end by themselves. ``reporter keys status`` counts them.
5. *finish*: ``keys.rotated`` is written to the audit log and the ``next`` file is removed.

The application must be stopped while keys rotate and started again afterwards: a running process
keeps the keys it loaded, and would go on signing audit checkpoints with the retired key. One started
while a rotation is unfinished answers 503 (reporter.web.maintenance) until it is finished.
Keys given in the environment are not rotated here (their files are not what the application reads);
the operator sets the new value and the retired ones (``..._RETIRED``) instead.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat
from sqlalchemy import select
from sqlalchemy.orm import Session

from reporter.audit import chain, checkpoints
from reporter.database import SIGNER_INFO_KEY
from reporter.keyring import (
    AUDIT,
    AUDIT_RETIRED_SUFFIX,
    DIRECTORY,
    LINKING,
    RECEIPT,
    SECRET,
    TOTP,
    Keyring,
    decode_key,
    encode_key,
)
from reporter.lifecycle import keyfiles, resign
from reporter.lifecycle.keyfiles import KeyName
from reporter.models import AuditCheckpoint, AuditEvent

#: The keys `reporter keys rotate` replaces, by the name the command takes.
ROTATABLE: dict[str, KeyName] = {"secret": SECRET, "receipt": RECEIPT, "audit": AUDIT, "totp": TOTP,
                                 "directory": DIRECTORY, "linking": LINKING}
#: The keys rotated when none is named: the linking key only on request, as its new indexes need every
#: case opened with the offline escrow key (reporter.lifecycle.link_index).
NEEDS_ESCROW = frozenset({"linking"})
BY_DEFAULT = tuple(sorted(set(ROTATABLE) - NEEDS_ESCROW))
ROTATED = "keys.rotated"
#: The keys an unfinished run rotates, written before anything else (reporter.web.maintenance).
PLAN_FILE = "rotation.next"


class RotationRefused(Exception):
    """Rotation cannot start; the message says why, for the console."""


@dataclass
class Rotation:
    """What a run did: the keys rotated with their new versions, whether it resumed, what was carried."""

    versions: dict[str, int] = field(default_factory=dict)
    resumed: bool = False
    carried: resign.Resigned = field(default_factory=resign.Resigned)


def plan(keys_path: Path, wanted: list[str], *, from_config: set[str],
         explicit: bool = True) -> tuple[list[str], bool]:
    """Return the keys to rotate and whether an interrupted rotation is being resumed.

    The choice is written first (``rotation.next``), so a rerun after an interruption rotates the same
    keys, however far the first run came. `from_config` names keys the application takes from its
    configuration rather than from the key folder: named explicitly they are refused, otherwise left
    out.
    """
    marker = keys_path / PLAN_FILE
    if marker.is_file():
        return [name for name in marker.read_text().split() if name in ROTATABLE], True
    unfinished = [name for name, key in ROTATABLE.items() if keyfiles.pending(keys_path, key) is not None]
    if unfinished:
        return unfinished, True
    outside = sorted(name for name in wanted if name in from_config or os.environ.get(ROTATABLE[name].env))
    if not explicit:  # "every key": the ones the folder holds
        wanted = [name for name in wanted if name not in outside]
        outside = []
    if not wanted:
        raise RotationRefused("every key comes from the environment or the configuration; nothing to rotate")
    if outside:
        raise RotationRefused(
            "these keys come from the environment or the configuration, not from the key folder: "
            + ", ".join(outside) + ". Set the new value there and list the old one in the matching "
            "..._RETIRED variable (<version>:<value>), or leave them out with --key.")
    keyfiles.write_atomic(marker, " ".join(wanted) + "\n")
    return wanted, False


def fresh_key_text(key: KeyName) -> str:
    """Return the file text of a new random key of the given kind."""
    if key is SECRET:
        return secrets.token_urlsafe(48) + "\n"
    if key is AUDIT:
        return encode_key(Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw,
                                                                     NoEncryption()))
    return encode_key(secrets.token_bytes(32))


def prepare(keys_path: Path, names: list[str]) -> None:
    """Write the new key of each named key, unless an unfinished one is already there."""
    for name in names:
        key = ROTATABLE[name]
        if keyfiles.pending(keys_path, key) is None:
            keyfiles.write_atomic(keys_path / key.next_file, fresh_key_text(key))


def _audit_private(text: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(decode_key(text, AUDIT.file))


def announce_audit_key(session: Session, keys_path: Path, old_signer: Ed25519PrivateKey) -> None:
    """Name the pending audit key in the chain, in a checkpoint signed by the current key; commit.

    Nothing is written when the change was announced already or the new key is already in place.
    """
    pending = keyfiles.pending(keys_path, AUDIT)
    if pending is None:
        return
    new_key = _audit_private(pending).public_key()
    if new_key.public_bytes(Encoding.Raw, PublicFormat.Raw) == old_signer.public_key().public_bytes(
            Encoding.Raw, PublicFormat.Raw):
        return
    detail = checkpoints.rotation_detail(new_key)
    announced = session.scalars(select(AuditEvent.detail).where(AuditEvent.action == checkpoints.KEY_ROTATED))
    if any(json.loads(text).get("key_id") == detail["key_id"] for text in announced):
        return
    session.info[SIGNER_INFO_KEY] = old_signer
    event = chain.record(session, actor=chain.CONSOLE, action=checkpoints.KEY_ROTATED, object_type="key",
                         object_id=AUDIT.stem, detail=detail)
    _sign_now(session, old_signer, event)
    session.commit()


def _sign_now(session: Session, signer: Ed25519PrivateKey, event: chain.Appended) -> None:
    """Sign a checkpoint of `event` now (unless it has one), to be pushed to the head log on commit."""
    if session.get(AuditCheckpoint, event.seq) is None:
        checkpoint = checkpoints.sign_checkpoint(signer, event, chain.interval(session))
        session.add(checkpoint)
        session.flush()
        session.info.setdefault(chain.NEW_CHECKPOINTS, []).append(checkpoint)


def _retired_text(key: KeyName, current_text: str) -> tuple[str, str | None]:
    if key is AUDIT:
        public = _audit_private(current_text).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        return encode_key(public), AUDIT_RETIRED_SUFFIX
    return current_text, None


def promote(keys_path: Path, key: KeyName) -> None:
    """Retire the current key and put the pending one in its place (nothing when already done)."""
    pending = keyfiles.pending(keys_path, key)
    current_text = (keys_path / key.file).read_text()
    if pending is None or pending.strip() == current_text.strip():
        return
    retired_text, suffix = _retired_text(key, current_text)
    retired = keyfiles.retired_versions(keys_path, key, suffix)
    same = bool(retired) and retired[max(retired)].strip() == retired_text.strip()
    version = keyfiles.current_version(retired, "", same=same)
    if not same:
        keyfiles.write_atomic(keys_path / key.retired_file(version, suffix), retired_text)
    keyfiles.write_atomic(keys_path / key.file, pending)


def carry_over(session: Session, names: list[str], keyring: Keyring) -> resign.Resigned:
    """Move what the new keys can take over now (directory records, TOTP secrets); commits in batches."""
    session.info[SIGNER_INFO_KEY] = keyring.audit_signing_key
    done = resign.Resigned()
    if "directory" in names:
        done.add(resign.resign_directory(session, keyring.record_keys()))
    if "totp" in names:
        done.add(resign.reencrypt_totp(session, keyring.totp_key, list(keyring.retired_totp_keys)))
    return done


def finish(session: Session, keys_path: Path, names: list[str], keyring: Keyring) -> dict[str, int]:
    """Write one ``keys.rotated`` event per key and remove the pending files; return the versions."""
    versions = {name: keyring.version(ROTATABLE[name]) for name in names}
    session.info[SIGNER_INFO_KEY] = keyring.audit_signing_key
    event = None
    for name, version in versions.items():
        event = chain.record(session, actor=chain.CONSOLE, action=ROTATED, object_type="key",
                             object_id=ROTATABLE[name].stem, detail={"version": version})
    if event is not None:  # the newest signed head is then the new key's, as auditors should download
        _sign_now(session, keyring.audit_signing_key, event)
    session.commit()
    for name in names:
        keyfiles.remove(keys_path / ROTATABLE[name].next_file)
    keyfiles.remove(keys_path / PLAN_FILE)
    return versions
