"""The instance folder on disk: who may read it, and whether its secrets are secrets.

Checked at every start (`reporter.config.load`, before any key is read), so a mistake made by hand
(a copy with `cp -r`, an archive unpacked with the wrong umask, a key pasted into an environment
variable) is caught before the site serves anyone:

- The instance folder and the key folder are made 0700, the SQLite database and its `-wal`/`-shm`
  files 0600, and a warning names what was tightened. These are the application's own files; a
  looser mode only lets other local users read ciphertext and metadata.
- A key file that anyone but its owner may read or write **refuses the start** instead of being
  fixed quietly: another local user may already have copied it (then the keys must be rotated) or
  replaced it (a swapped escrow public key would seal every new report to someone else). The
  operator decides, then runs `chmod 600`.
- While the escrow private key is still inside the instance folder, every start warns: that key
  re-seals every case to anyone, and belongs offline. (The running application never reads it.)
- A secret given by hand that repeats a few characters or a short pattern (`aaaa...`,
  `abcabc...`) is refused like a missing one; a random key never looks like that.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)
#: Fewer distinct characters than this in a secret of 32 or more is no random secret.
MIN_DISTINCT = 8
ESCROW_PRIVATE_PREFIX = "escrow-private"


class UnsafeFiles(RuntimeError):
    """A key file is open to other users; the message says which and what to do."""


def _loose(path: Path) -> int | None:
    """Return the group and other permission bits of `path`, or None when it cannot be examined."""
    try:
        return stat.S_IMODE(path.stat().st_mode) & 0o077
    except OSError:
        return None


def _tighten(path: Path, mode: int) -> None:
    loose = _loose(path)
    if not loose:
        return
    try:
        os.chmod(path, mode)
    except OSError:
        log.warning("cannot restrict %s to mode %o: make it private to the service's user", path, mode)
        return
    log.warning("restricted %s to mode %o (others could read it)", path, mode)


def sqlite_files(database_url: str) -> list[Path]:
    """Return the files of a SQLite database URL (none for another database or an in-memory one)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return []
    main = Path(url.database)
    return [main, main.with_name(main.name + "-wal"), main.with_name(main.name + "-shm")]


def restrict_database(database_url: str) -> None:
    """Make the files of a SQLite database readable by their owner only."""
    for path in sqlite_files(database_url):
        if path.exists():
            _tighten(path, 0o600)


def check(instance: Path, *, keys: Path, database_url: str) -> None:
    """Tighten the modes of the instance's own files; refuse key files others may read; warn about escrow."""
    for folder in (instance, keys):
        if folder.is_dir():
            _tighten(folder, 0o700)
    if (instance / "config.py").is_file():
        _tighten(instance / "config.py", 0o600)  # may hold the SMTP or database password
    restrict_database(database_url)
    if keys.is_dir():
        exposed = sorted(str(path) for path in keys.iterdir() if path.is_file() and _loose(path))
        if exposed:
            raise UnsafeFiles(
                "key files that other users may read or change: " + ", ".join(exposed) + ". If someone "
                "else could have copied them, rotate the keys; then `chmod 600` them and start again.")
    for path in escrow_private_keys(instance, keys):
        log.warning("the escrow private key %s is still on this server: move it to offline storage "
                    "(it opens every report; the application never needs it)", path)


def escrow_private_keys(instance: Path, keys: Path) -> list[Path]:
    """Return escrow private key files left in the instance folder or the key folder."""
    found: set[Path] = set()
    for folder in (instance, keys, keys.parent):
        if folder.is_dir():
            found.update(path for path in folder.iterdir()
                         if path.is_file() and path.name.startswith(ESCROW_PRIVATE_PREFIX))
    return sorted(found)


def weak_secret(text: str | bytes) -> bool:
    """Tell whether a secret repeats a few characters or a short pattern (`aaaa...`, `abcabc...`)."""
    core = text.strip()
    if len(set(core)) < MIN_DISTINCT:
        return True
    return any(core == (core[:period] * (len(core) // period + 1))[: len(core)]
               for period in range(1, len(core) // 2 + 1))
