"""`reporter keys status`: each instance key's versions, and what still depends on each one.

A retired version can be removed (its file deleted, or its entry taken out of ``..._RETIRED``) once
nothing counted here depends on it. The audit key is the exception: its retired public halves verify
the checkpoints they signed for as long as the log exists, so they are never removable (they are public
and sign nothing).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from reporter.audit import checkpoints
from reporter.crypto import CiphertextInvalid
from reporter.crypto.records import key_id as record_key_id
from reporter.keyring import (
    AUDIT,
    DIRECTORY,
    ESCROW,
    LINKING,
    RECEIPT,
    SECRET,
    TOTP,
    Keyring,
    decode_key,
    escrow_key_id,
)
from reporter.lifecycle import keyfiles, receipt_keys, resign
from reporter.lifecycle.rotation import ROTATED
from reporter.models import AccountLink, AuditCheckpoint, AuditEvent, Seal, StaffMember, UnlockedSession
from reporter.staff import totp


@dataclass
class Version:
    """One version of a key: what depends on it (name -> count), and whether it may be removed."""

    version: int
    current: bool
    dependents: dict[str, int] = field(default_factory=dict)
    removable: bool = False
    note: str = ""


@dataclass
class KeyStatus:
    """One instance key: its file, its versions (the current last), and an unfinished rotation."""

    name: str
    file: str
    versions: list[Version]
    unfinished: bool = False


def _rotated_at(session: Session, stem: str) -> datetime | None:
    query = (select(AuditEvent.at).where(AuditEvent.action == ROTATED, AuditEvent.object_id == stem)
             .order_by(AuditEvent.seq.desc()).limit(1))
    return session.scalar(query)


def _secret(session: Session, keyring: Keyring, now: datetime) -> list[Version]:
    version = keyring.version(SECRET)
    since = _rotated_at(session, SECRET.stem)
    older = 0
    if since is not None:
        older = int(session.scalar(select(func.count()).select_from(UnlockedSession).where(
            UnlockedSession.created_at < since, UnlockedSession.expires_at > now)) or 0)
    retired = [Version(version - 1 - i, False, {"open sessions started before the rotation": older},
                       removable=older == 0,
                       note="remembered staff devices signed with it will ask for a code again")
               for i in range(len(keyring.secret_key_fallbacks))]
    return [*sorted(retired, key=lambda v: v.version), Version(version, True)]


def _receipt(session: Session, keyring: Keyring) -> list[Version]:
    counts = receipt_keys.lookups_by_version(session)
    known = [v for v, _ in keyring.retired_receipt_keys]
    retired = [Version(v, False, {"reports with receipt lookups": counts.get(v, 0)},
                       removable=counts.get(v, 0) == 0,
                       note="lookups move to the current key when each reporter comes back")
               for v in sorted(known)]
    current = Version(keyring.receipt_key_version, True,
                      {"reports with receipt lookups": counts.get(keyring.receipt_key_version, 0)})
    return [*retired, current]


def _audit(session: Session, keyring: Keyring) -> list[Version]:
    query = select(AuditCheckpoint.key_id, func.count()).group_by(AuditCheckpoint.key_id)
    signed = {str(k): int(v) for k, v in session.execute(query)}
    result = []
    for version, key in keyring.audit_public_keys():
        count = int(signed.get(checkpoints.key_id(key), 0))
        current = version == keyring.version(AUDIT)
        result.append(Version(version, current, {"checkpoints signed": count},
                              note="" if current else "public half only; keep it: it verifies the log"))
    return result


def _totp(session: Session, keyring: Keyring) -> list[Version]:
    counts: dict[int, int] = defaultdict(int)
    keys = list(enumerate(keyring.totp_keys()))
    for person_id, blob in session.execute(select(StaffMember.id, StaffMember.totp_secret_ct)
                                           .where(StaffMember.totp_secret_ct.is_not(None))):
        for index, key in keys:
            try:
                totp.decrypt_secret(key, bytes(blob or b""), staff_id=person_id)
            except CiphertextInvalid:
                continue
            counts[index] += 1
            break
    current = keyring.version(TOTP)
    retired = [Version(current - i, False, {"TOTP secrets": counts[i]}, removable=counts[i] == 0)
               for i in range(1, len(keys))]
    return [*sorted(retired, key=lambda v: v.version), Version(current, True, {"TOTP secrets": counts[0]})]


def _directory(session: Session, keyring: Keyring) -> list[Version]:
    tallies = resign.count_directory(session, keyring.record_keys())
    current = keyring.version(DIRECTORY)
    keys = [keyring.directory_key, *keyring.retired_directory_keys]
    result = []
    for index, key in enumerate(keys):
        wanted = record_key_id(key).hex()
        dependents = {kind: counts.get(wanted, 0) for kind, counts in tallies.items()}
        removable = index > 0 and not any(dependents.values())
        result.append(Version(current - index, index == 0, dependents, removable=removable,
                              note="" if index == 0 else "run `reporter keys rotate --key directory` "
                              "again to sign what is left; what still fails was changed outside the app"))
    return sorted(result, key=lambda v: v.version)


def _escrow(session: Session, keys_path: Path, keyring: Keyring) -> list[Version]:
    query = (select(Seal.recipient_id, func.count()).where(Seal.recipient_kind == "escrow")
             .group_by(Seal.recipient_id))
    counts = {str(k): int(v) for k, v in session.execute(query)}
    retired = keyfiles.retired_versions(keys_path, ESCROW)
    result = []
    for version, text in sorted(retired.items()):
        if version == keyring.version(ESCROW):
            continue
        public = _escrow_public(text)
        count = int(counts.get(escrow_key_id(public), 0))
        result.append(Version(version, False, {f"escrow seals ({escrow_key_id(public)})": count},
                              removable=count == 0))
    current = int(counts.get(keyring.escrow_key_id, 0))
    seals_now = {f"escrow seals ({keyring.escrow_key_id})": current}
    return [*result, Version(keyring.version(ESCROW), True, seals_now)]


def _linking(session: Session, keyring: Keyring) -> list[Version]:
    query = select(AccountLink.key_version, func.count()).group_by(AccountLink.key_version)
    counts = {int(v): int(n) for v, n in session.execute(query)}
    current = keyring.version(LINKING)
    # Rows of an older version link nothing: `reporter keys reindex-links` makes them again.
    older = [Version(v, False, {"account link rows": n}, removable=n == 0) for v, n in sorted(counts.items())
             if v != current]
    return [*older, Version(current, True, {"account link rows": counts.get(current, 0)})]


def _escrow_public(text: str) -> bytes:
    return decode_key(text.partition("\n")[2], ESCROW.file)


def status(session: Session, keys_path: Path, keyring: Keyring, *, now: datetime) -> list[KeyStatus]:
    """Return the status of every instance key."""
    found = [
        KeyStatus("secret", SECRET.file, _secret(session, keyring, now)),
        KeyStatus("receipt", RECEIPT.file, _receipt(session, keyring)),
        KeyStatus("audit", AUDIT.file, _audit(session, keyring)),
        KeyStatus("totp", TOTP.file, _totp(session, keyring)),
        KeyStatus("directory", DIRECTORY.file, _directory(session, keyring)),
        KeyStatus("linking", LINKING.file, _linking(session, keyring)),
        KeyStatus("escrow", ESCROW.file, _escrow(session, keys_path, keyring)),
    ]
    for entry, key in zip(found, (SECRET, RECEIPT, AUDIT, TOTP, DIRECTORY, LINKING, ESCROW), strict=True):
        entry.unfinished = keyfiles.pending(keys_path, key) is not None
    return found


def as_json(found: list[KeyStatus]) -> str:
    """Return the status as JSON (for monitoring)."""
    return json.dumps([{"key": k.name, "file": k.file, "unfinished_rotation": k.unfinished,
                        "versions": [v.__dict__ for v in k.versions]} for k in found], indent=2)
