"""Where encrypted attachment files are kept: the `AttachmentStore` interface and its local folder.

The store is chosen by REPORTER_ATTACHMENTS_URL (`open_store`): empty for `<instance>/attachments/`,
`file:///path` for a folder elsewhere, `s3://bucket[/prefix]?endpoint=...` for an S3-compatible bucket
(reporter.evidence.bucket). Every store keeps the same promises:

- Names are ids the server made (`new_id`: 128 random bits in hex), never anything a reporter sent.
  Every id is checked against a strict pattern before a path or object name is built from it.
- The store holds ciphertext only: a file is accepted only if it starts with the header of the chunked
  format (`reporter.crypto.chunks`), which catches a caller that would hand it plaintext by mistake.
- A write is all or nothing and never replaces an existing attachment; a reader sees a whole file or
  none. `open` returns a seekable file: downloads read it twice (verify, then stream).
- `orphans` lists files without a database row and rows without a file for `reporter vault check`;
  `discard_stale` removes what interrupted writes left behind; `written_before` tells which files are
  old enough that no upload in progress can own them (reporter.evidence.attachments.discard_orphans).

The folder (`FolderStore`): the resolved path must stay inside the folder (`realpath` + `commonpath`),
so neither `../` nor a planted symbolic link can point it elsewhere. The data goes to a temporary file
in the same folder, is flushed to disk, then linked under its final name, which fails rather than
replace an existing attachment; the folder is flushed too. An interrupted upload leaves at most a
temporary file of ciphertext.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, Protocol
from urllib.parse import unquote, urlsplit

from reporter.config import ConfigError
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


class StoreUnavailable(RuntimeError):
    """The store could not be reached or answered with an error; nothing was read or written."""


def check_id(attachment_id: str) -> str:
    """Return `attachment_id` if it is a server-made id; raise AttachmentIdInvalid otherwise."""
    if not isinstance(attachment_id, str) or not ID_PATTERN.fullmatch(attachment_id):
        raise AttachmentIdInvalid("not an attachment id")
    return attachment_id


def is_ciphertext(source: BinaryIO) -> bool:
    """Tell whether a file written by a caller starts with the chunked format's header."""
    source.seek(0)
    return source.read(len(chunks.MAGIC)) == chunks.MAGIC


class AttachmentStore(Protocol):
    """What the application needs of a store of encrypted attachment files (see the module docstring)."""

    def create(self, attachment_id: str) -> AbstractContextManager[BinaryIO]:
        """Yield a file to write an encrypted attachment into; it appears under its id only when complete.

        Raises FileExistsError if the id is taken, ValueError if what was written is not ciphertext.
        """
        ...

    def open(self, attachment_id: str) -> BinaryIO:
        """Return an attachment's encrypted file, seekable; raise FileNotFoundError if it is missing."""
        ...

    def exists(self, attachment_id: str) -> bool:
        """Return whether an attachment's file is present."""
        ...

    def delete(self, attachment_id: str) -> bool:
        """Remove an attachment's file; return False if there was none."""
        ...

    def ids(self) -> set[str]:
        """Return the ids of every attachment file present."""
        ...

    def orphans(self, known_ids: Iterable[str]) -> Orphans:
        """Compare the files present with the ids the database knows; list what is missing on each side."""
        ...

    def discard_stale(self, *, older_than_seconds: float) -> int:
        """Remove what interrupted writes left older than the given age; return how many."""
        ...

    def written_before(self, moment: float) -> set[str]:
        """Return the ids of the attachment files written before `moment` (seconds since the epoch)."""
        ...

    def describe(self) -> str:
        """Name the store for an operator's message (a folder path or a bucket URL, never credentials)."""
        ...


def fsync_folder(path: Path) -> None:
    """Make a rename or unlink in `path` durable (fsync of the folder itself)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FolderStore:
    """The folder of encrypted attachment files; created on first use with owner-only permissions."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    @classmethod
    def in_instance(cls, instance_path: str | os.PathLike[str]) -> FolderStore:
        """Return the store in an instance folder."""
        return cls(Path(instance_path) / FOLDER)

    def _ensure_root(self) -> Path:
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self.root

    def path_of(self, attachment_id: str) -> Path:
        """Return the path of an attachment's file; raise AttachmentIdInvalid for anything but a server id."""
        root = os.path.realpath(self.root)
        path = os.path.realpath(os.path.join(root, check_id(attachment_id)))
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
                if not is_ciphertext(sink):
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

    def describe(self) -> str:
        """Name the folder for an operator's message."""
        return f"the attachment folder {self.root}"

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

    def written_before(self, moment: float) -> set[str]:
        """Return the ids of the files written before `moment`, by their change time.

        A file's modification time is fixed on purpose (FIXED_TIME), so it cannot tell; the change time
        is set by the kernel when the file is linked under its id, and only ever moves forward.
        """
        found: set[str] = set()
        for attachment_id in self.ids():
            with suppress(FileNotFoundError):
                if (self.root / attachment_id).stat().st_ctime < moment:
                    found.add(attachment_id)
        return found

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


class Credentials(NamedTuple):
    """An access key for a bucket, from REPORTER_S3_ACCESS_KEY_ID and REPORTER_S3_SECRET_ACCESS_KEY."""

    access_key_id: str
    secret_access_key: str


def open_store(url: str | None, instance_path: str | os.PathLike[str], *,
               credentials: Credentials | None = None) -> AttachmentStore:
    """Return the store REPORTER_ATTACHMENTS_URL names; raise ConfigError for a URL it cannot use.

    Without credentials a bucket store takes boto3's usual sources (AWS_ACCESS_KEY_ID, a profile, an
    instance role). Nothing is contacted here: an unreachable store shows on first use and in
    `reporter vault check`.
    """
    if not url:
        return FolderStore.in_instance(instance_path)
    if url.startswith("file:"):
        return FolderStore(folder_of(url))
    if url.startswith("s3:"):
        from reporter.evidence import bucket  # boto3 is loaded only by installations that use it

        return bucket.BucketStore(bucket.parse_url(url), credentials=credentials)
    raise ConfigError("REPORTER_ATTACHMENTS_URL must be empty (the instance folder), file:///absolute/path "
                      "or s3://bucket[/prefix]?endpoint=https://...")


def folder_of(url: str) -> Path:
    """Return the folder of a file:///absolute/path URL; raise ConfigError for any other form."""
    parts = urlsplit(url)
    if parts.netloc or parts.query or parts.fragment or not parts.path.startswith("/"):
        raise ConfigError("REPORTER_ATTACHMENTS_URL: a folder is given as file:///absolute/path "
                          "(three slashes, no host, no query)")
    return Path(unquote(parts.path))


def store_of(settings: Mapping[str, Any], instance_path: str | os.PathLike[str]) -> AttachmentStore:
    """Return the store the settings name, with their credentials if given (both halves, or neither)."""
    key_id, secret = settings.get("REPORTER_S3_ACCESS_KEY_ID"), settings.get("REPORTER_S3_SECRET_ACCESS_KEY")
    if bool(key_id) != bool(secret):
        raise ConfigError("set both REPORTER_S3_ACCESS_KEY_ID and REPORTER_S3_SECRET_ACCESS_KEY, or neither "
                          "(then the usual AWS_* environment variables or profile are used)")
    credentials = Credentials(str(key_id), str(secret)) if key_id and secret else None
    return open_store(settings.get("REPORTER_ATTACHMENTS_URL"), instance_path, credentials=credentials)
