"""The backup key pair: backups are sealed to its public half; its private half lives offline.

``reporter backup keygen`` writes the public half into the instance key folder (``backup.pub``,
mode 0600, the same layout as ``escrow.pub``: the seal suite on the first line, the raw key in
base64 on the second) and the private half to a separate file that the operator must move offline.
The server can therefore make backups but never open one: whoever steals the server, or a backup
from wherever it is stored, learns nothing without the offline key.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from reporter.crypto import CiphertextInvalid, seals

PUBLIC_FILE = "backup.pub"
PRIVATE_FILE = "backup-private.key.MOVE-OFFLINE"


class BackupKeyError(RuntimeError):
    """A backup key is missing or malformed; the message says which and what to do."""


def _encode(suite: str, raw: bytes) -> str:
    return f"{suite}\n{base64.b64encode(raw).decode()}\n"


def _decode(text: str, where: str) -> tuple[str, bytes]:
    suite, _, body = text.partition("\n")
    try:
        raw = base64.b64decode(body.strip(), validate=True)
    except ValueError:
        raise BackupKeyError(f"{where} is not a backup key file (the key is not valid base64)") from None
    if suite.strip() not in (seals.HYBRID, seals.CLASSIC) or not raw:
        raise BackupKeyError(f"{where} is not a backup key file")
    return suite.strip(), raw


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())


def create_backup_keys(keys_path: str | Path, private_path: str | Path) -> tuple[Path, Path]:
    """Write a new backup key pair: backup.pub into the key folder, the private half to `private_path`."""
    keys = Path(keys_path)
    public, private = keys / PUBLIC_FILE, Path(private_path)
    if public.exists():
        raise BackupKeyError(
            f"{public} exists already. Backups made so far open only with its private half; to start a new "
            "key pair, move that file away first.")
    if private.exists():
        raise BackupKeyError(f"{private} exists already; choose another place for the private key")
    keys.mkdir(mode=0o700, parents=True, exist_ok=True)
    pair = seals.generate_keypair()
    _write_private(private, _encode(pair.suite, pair.private))
    _write_private(public, _encode(pair.suite, pair.public))
    return public, private


def read_public_key(keys_path: str | Path) -> seals.KeyPair:
    """Return the instance's backup public key (private half empty); refuse clearly when there is none."""
    path = Path(keys_path) / PUBLIC_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise BackupKeyError(
            f"there is no backup public key ({path}). Run `reporter backup keygen` first, and move the "
            "private key it writes to offline storage.") from None
    suite, raw = _decode(text, str(path))
    return seals.KeyPair(suite, b"", raw)


def read_private_key(path: str | Path) -> seals.KeyPair:
    """Read an offline backup private key file; refuse a file that is not one."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError):
        raise BackupKeyError(f"cannot read the backup key {path}") from None
    suite, raw = _decode(text, str(path))
    try:
        return seals.KeyPair(suite, raw, seals.public_key_of(raw, suite))
    except CiphertextInvalid:
        raise BackupKeyError(f"{path} is not a backup private key (is it the public one?)") from None


def holds_private_key(path: Path) -> bool:
    """Tell whether a file holds a private seal key (an escrow or backup private key), whatever its name.

    A private key left in the instance key folder by hand, even renamed, must never travel in a
    backup: the escrow private key opens every case, the backup private key every backup. Only the
    hybrid suite can be told apart by content (its private and public keys differ in length); a
    classic X25519 key is recognised by its file name alone.
    """
    try:
        if path.stat().st_size > 16 * 1024:
            return False
        suite, raw = _decode(path.read_text(), str(path))
        if suite != seals.HYBRID:
            return False
        seals.public_key_of(raw, suite)
    except (BackupKeyError, CiphertextInvalid, OSError, UnicodeDecodeError, ValueError):
        return False
    return True
