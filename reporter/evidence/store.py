"""Encrypted attachment files on disk: one file per attachment under `<instance>/attachments/`.

- File names are ids the server made (`new_id`: 128 random bits in hex), never anything a reporter
  sent. Every id is checked against a strict pattern before a path is built from it, and the resolved
  path must stay inside the folder (`realpath` + `commonpath`), so neither `../` nor a planted symbolic
  link can point the store elsewhere.
- The store holds ciphertext only: a file is accepted only if it starts with the header of the chunked
  format (`reporter.crypto.chunks`), which catches a caller that would hand it plaintext by mistake.
- Writes are atomic and durable: the data (already ciphertext) goes to a temporary file in the same
  folder, is flushed to disk, then linked under its final name, which fails rather than replace an
  existing attachment; the folder is flushed too. A reader sees a whole file or none.
- An interrupted upload leaves at most a temporary file of ciphertext; `discard_stale` removes those,
  and `orphans` lists files without a database row and rows without a file for `reporter vault check`.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO, NamedTuple

from reporter.crypto import chunks

ID_PATTERN = re.compile(r"[0-9a-f]{32}")
#: The access and modification time of every stored file and of the store folder (2000-01-01 UTC).
FIXED_TIME = 946_684_800
TEMPORARY_PREFIX = ".partial-"
FOLDER = "attachments"


class AttachmentIdInvalid(ValueError):
    """An attachment id does not match the pattern of ids the server makes."""


class Orphans(NamedTuple):
    """What `orphans` found: ids known to the database without a file, and files no id accounts for."""

    ids_without_files: list[str]
    files_without_ids: list[str]


def fsync_folder(path: Path) -> None:
    """Make a rename or unlink in `path` durable (fsync of the folder itself)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class AttachmentStore:
    """The folder of encrypted attachment files; created on first use with owner-only permissions."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    @classmethod
    def in_instance(cls, instance_path: str | os.PathLike[str]) -> AttachmentStore:
        """Return the store in an instance folder."""
        return cls(Path(instance_path) / FOLDER)

    def _ensure_root(self) -> Path:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self.root

    def path_of(self, attachment_id: str) -> Path:
        """Return the path of an attachment's file; raise AttachmentIdInvalid for anything but a server id."""
        if not isinstance(attachment_id, str) or not ID_PATTERN.fullmatch(attachment_id):
            raise AttachmentIdInvalid("not an attachment id")
        root = os.path.realpath(self.root)
        path = os.path.realpath(os.path.join(root, attachment_id))
        if os.path.commonpath([root, path]) != root:
            raise AttachmentIdInvalid("attachment path leaves the store")
        return Path(path)

    @contextmanager
    def create(self, attachment_id: str) -> Iterator[BinaryIO]:
        """Yield a file to write an encrypted attachment into; it appears under its id only when complete."""
        final = self.path_of(attachment_id)
        root = self._ensure_root()
        if final.exists():
            raise FileExistsError(f"attachment {attachment_id} already exists")
        fd, temporary = tempfile.mkstemp(prefix=TEMPORARY_PREFIX, dir=root)
        try:
            with os.fdopen(fd, "w+b") as sink:
                yield sink
                sink.flush()
                # A constant time instead of the moment of writing: the file does not time the
                # submission (the change time, which no process can set, still does; see SECURITY.md).
                os.utime(sink.fileno(), times=(FIXED_TIME, FIXED_TIME))
                os.fsync(sink.fileno())
                sink.seek(0)
                if sink.read(len(chunks.MAGIC)) != chunks.MAGIC:
                    raise ValueError("the attachment store accepts encrypted attachments only")
            os.link(temporary, final)
        finally:
            with suppress(FileNotFoundError):
                os.unlink(temporary)
        os.utime(root, times=(FIXED_TIME, FIXED_TIME))
        fsync_folder(root)

    def open(self, attachment_id: str) -> BinaryIO:
        """Open an attachment's encrypted file for reading; raise FileNotFoundError if it is missing."""
        return open(self.path_of(attachment_id), "rb")  # noqa: SIM115 - the caller closes it

    def exists(self, attachment_id: str) -> bool:
        """Return whether an attachment's file is present."""
        return self.path_of(attachment_id).is_file()

    def delete(self, attachment_id: str) -> bool:
        """Remove an attachment's file; return False if there was none."""
        try:
            self.path_of(attachment_id).unlink()
        except FileNotFoundError:
            return False
        fsync_folder(self.root)
        return True

    def _names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(entry.name for entry in os.scandir(self.root))

    def ids(self) -> set[str]:
        """Return the ids of every attachment file present."""
        return {name for name in self._names() if ID_PATTERN.fullmatch(name)}

    def orphans(self, known_ids: Iterable[str]) -> Orphans:
        """Compare the files present with the ids the database knows; list what is missing on each side."""
        known = set(known_ids)
        names = self._names()
        present = {name for name in names if ID_PATTERN.fullmatch(name)}
        return Orphans(
            ids_without_files=sorted(known - present),
            files_without_ids=[name for name in names if name not in known],
        )

    def discard_stale(self, *, older_than_seconds: float) -> int:
        """Remove temporary files left by interrupted writes older than the given age; return how many."""
        cutoff = time.time() - older_than_seconds
        removed = 0
        for name in self._names():
            if not name.startswith(TEMPORARY_PREFIX):
                continue
            path = self.root / name
            with suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
        return removed
