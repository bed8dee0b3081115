"""Versioned instance key files: the current key, retired versions kept for reading, and a pending next one.

The layout stays what ``reporter init`` writes, so an installation that never rotated reads as before:

- ``instance/keys/<name>`` is the current key, in the format it always had (for example
  ``receipt_lookup.key``, ``secret_key``);
- ``instance/keys/<stem>.<n><suffix>`` is retired version *n* (``receipt_lookup.1.key``,
  ``secret_key.1``; for the audit key only the public half is kept, ``audit_signing.1.pub``), still used
  to read what was made under it until ``reporter keys status`` shows nothing depends on it;
- ``instance/keys/<stem>.next<suffix>`` is a key ``reporter keys rotate`` has generated and not finished
  putting in place. It is the marker of unfinished work: a rerun takes it up, never generates another.

The current key's version is one more than the highest retired version, unless that retired file holds
the current key itself (a rotation stopped between retiring and replacing): then it is that version.
With keys in the environment (``REPORTER_RECEIPT_KEY`` ...), retired versions come from
``REPORTER_RECEIPT_KEY_RETIRED`` and the like: ``<n>:<value>`` entries separated by spaces.

Every file is written whole or not at all: a temporary file in the same folder, mode 0600, written and
fsynced, then renamed over the target and the folder fsynced. A process killed at any point leaves
either the old file or the new one, never a part.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

NEXT = "next"


@dataclass(frozen=True)
class KeyName:
    """How one instance key is named: its file, its environment variable, and its retired files."""

    file: str
    env: str

    @property
    def stem(self) -> str:
        """Return the file name without its suffix."""
        return self.file.split(".", 1)[0]

    @property
    def suffix(self) -> str:
        """Return the file's suffix with its dot ("" for none)."""
        return "." + self.file.split(".", 1)[1] if "." in self.file else ""

    def retired_file(self, version: int, suffix: str | None = None) -> str:
        """Return the file name of retired version `version`."""
        return f"{self.stem}.{version}{self.suffix if suffix is None else suffix}"

    @property
    def next_file(self) -> str:
        """Return the file name of the pending next key."""
        return f"{self.stem}.{NEXT}{self.suffix}"


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` as one step (temporary file, fsync, rename, folder fsync), mode 0600."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    sync_folder(path.parent)


def sync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename or an unlink) to disk."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove(path: Path) -> None:
    """Remove a file if it is there, durably."""
    if path.exists():
        path.unlink()
        sync_folder(path.parent)


def retired_versions(keys: Path, name: KeyName, suffix: str | None = None) -> dict[int, str]:
    """Return {version: file text} of the retired files of a key in the folder."""
    wanted = name.suffix if suffix is None else suffix
    pattern = re.compile(re.escape(name.stem) + r"\.([1-9][0-9]{0,5})" + re.escape(wanted) + r"\Z")
    found: dict[int, str] = {}
    if not keys.is_dir():
        return found
    for path in keys.iterdir():
        match = pattern.match(path.name)
        if match and path.is_file():
            found[int(match.group(1))] = path.read_text()
    return found


def retired_from_env(name: KeyName) -> dict[int, str] | None:
    """Return {version: value} from ``<ENV>_RETIRED``, or None when that variable is not set."""
    text = os.environ.get(name.env + "_RETIRED")
    if text is None:
        return None
    found: dict[int, str] = {}
    for entry in text.split():
        version, sep, value = entry.partition(":")
        if not sep or not version.isdigit() or int(version) < 1 or not value:
            raise ValueError(f"{name.env}_RETIRED: each entry is <version>:<value>")
        found[int(version)] = value
    return found


def retired(keys: Path, name: KeyName, suffix: str | None = None) -> dict[int, str]:
    """Return {version: text} of a key's retired versions: from ``<ENV>_RETIRED`` if set, else files."""
    from_env = retired_from_env(name)
    return from_env if from_env is not None else retired_versions(keys, name, suffix)


def versioned(keys: Path, name: KeyName, current_text: str) -> tuple[int, list[tuple[int, str]]]:
    """Return the current version of a key and its other retired versions (version, text), newest first."""
    found = retired(keys, name)
    version = current_version(found, current_text)
    return version, sorted(((v, t) for v, t in found.items() if v != version), reverse=True)


def current_version(retired: dict[int, str], current_text: str, same: bool | None = None) -> int:
    """Return the current key's version given the retired versions (see the module's rule)."""
    if not retired:
        return 1
    highest = max(retired)
    duplicate = same if same is not None else retired[highest].strip() == current_text.strip()
    return highest if duplicate else highest + 1


def pending(keys: Path, name: KeyName) -> str | None:
    """Return the text of the pending next key, or None."""
    path = keys / name.next_file
    return path.read_text() if path.is_file() else None
