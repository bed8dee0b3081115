"""Attachments as evidence: recognised by content, scrubbed of metadata, hashed, then sealed.

The path of one uploaded file, in order (`prepare_attachment`):

1. read it into memory, refusing it as soon as one byte more than the limit arrives, so a large upload
   is never read further; an empty file is refused;
2. record the SHA-256 of the original, before anything changes it (chain of custody);
3. recognise its kind from its first bytes (`sniff`), refusing every other kind with a message that
   lists what is accepted;
4. scrub it (`scrub`) in a confined child process (`scrub_confined`, `reporter.evidence.sandbox`):
   images encoded again from their pixels, PDFs rewritten without metadata or scripts, recordings
   without tags; what could not be removed is reported (`metadata_kept`). A file that makes the child
   reach a limit (memory, CPU, wall clock, recursion) is refused as `unsafe`;
5. encrypt the display-safe file name under the report's data key, bound to the attachment id.

`store_attachment` then writes the scrubbed copy, and the untouched original if the reporter chose to
keep it as sealed evidence, through the vault into the attachment store. Otherwise only the scrubbed
copy and the original's hash remain.

Scrubbing needs the whole file in memory (10 MiB by default), in the child; the worker holds the
upload and the cleaned copy. Nothing here writes plaintext to disk: the upload is read from the
request stream into memory and goes to the child through a pipe, and the store only ever receives
chunks already encrypted. The reporter's file name is used for display only, never as a path.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import time
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from reporter import vault
from reporter.crypto import chunks
from reporter.evidence.kinds import KINDS, SNIFF_BYTES, accepted_kinds, sniff, text_problem
from reporter.evidence.sandbox import SANDBOX, SandboxLimits, SandboxUnavailable
from reporter.evidence.scrubbing import Scrubbed, Unreadable
from reporter.evidence.scrubbing.documents import scrub_pdf
from reporter.evidence.scrubbing.images import MAX_IMAGE_PIXELS, scrub_image
from reporter.evidence.scrubbing.recordings import scrub_recording
from reporter.evidence.store import AttachmentStore
from reporter.models.base import new_id

__all__ = [
    "DEFAULT_LIMITS", "KINDS", "Inspected", "PreparedAttachment", "Scrubbed", "Upload", "UploadLimits",
    "UploadRejected", "UploadsRejected",
    "accepted_kinds", "display_name", "inspect_upload", "original_digest", "prepare_attachment",
    "prepare_attachments", "read_upload", "scrub", "scrub_confined", "sniff", "store_attachment",
]

log = logging.getLogger(__name__)

MiB = 1024 * 1024
DISPLAY_NAME_LIMIT = 100
_INVISIBLE = {"Cc", "Cf", "Cs", "Zl", "Zp"}  # controls, bidi overrides and other format characters


class UploadRejected(ValueError):
    """An uploaded file is refused; `reason` is a code the form can translate, the message says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class UploadsRejected(UploadRejected):
    """One or more files of a submission are refused; `problems` pairs each one's display name with why."""

    def __init__(self, problems: list[tuple[str, UploadRejected]]) -> None:
        super().__init__(problems[0][1].reason, "; ".join(f"{name}: {error}" for name, error in problems))
        self.problems = problems


@dataclass(frozen=True)
class UploadLimits:
    """How many files one submission or message may carry, and how large each may be."""

    max_files: int = 5
    max_bytes: int = 10 * MiB
    max_image_pixels: int = MAX_IMAGE_PIXELS
    sandbox: SandboxLimits = SandboxLimits()

    @property
    def max_output_bytes(self) -> int:
        """Return the largest cleaned copy accepted back (images re-encoded may grow, never 4-fold)."""
        return 4 * self.max_bytes

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> UploadLimits:
        """Return the limits set in the application's configuration."""
        return cls(
            max_files=int(config["REPORTER_ATTACHMENT_MAX_FILES"]),
            max_bytes=int(config["REPORTER_ATTACHMENT_MAX_BYTES"]),
        )


DEFAULT_LIMITS = UploadLimits()


class Upload(Protocol):
    """What the web layer hands over for one file: werkzeug's FileStorage fits."""

    @property
    def stream(self) -> IO[bytes]: ...

    @property
    def filename(self) -> str | None: ...


@dataclass(frozen=True)
class PreparedAttachment:
    """A scrubbed attachment ready to be stored. `original_sha256` is evidence too: store it encrypted.

    (An adversary holding the database and a candidate photo could otherwise confirm it was reported.)
    """

    id: str
    kind: str
    content: bytes = field(repr=False)
    size_bucket: int
    original_sha256: str
    name_ct: bytes = field(repr=False)
    removed: list[str]
    metadata_kept: bool
    #: The untouched upload and the id it is stored under, only when the reporter chose to keep it.
    original: bytes | None = field(default=None, repr=False)
    original_id: str | None = None


def original_digest(data: bytes) -> str:
    """Return the SHA-256 of a file as hex, as recorded before it is scrubbed."""
    return hashlib.sha256(data).hexdigest()


def display_name(name: str | None, *, limit: int = DISPLAY_NAME_LIMIT) -> str:
    """Return a file name safe to show: last path part, no controls or bidi overrides, at most `limit`."""
    text = unicodedata.normalize("NFC", name or "")
    text = re.split(r"[/\\]", text)[-1]  # old browsers send whole paths, which may hold a user name
    text = "".join(ch for ch in text if unicodedata.category(ch) not in _INVISIBLE)
    text = " ".join(text.split()).strip(" .")
    if len(text) > limit:
        stem, dot, extension = text.rpartition(".")
        if dot and 0 < len(extension) <= 10 and stem:
            text = stem[: limit - len(extension) - 2].rstrip() + "…." + extension
        else:
            text = text[: limit - 1].rstrip() + "…"
    return text or "attachment"


def scrub(kind: str, data: bytes, *, max_image_pixels: int = MAX_IMAGE_PIXELS) -> Scrubbed:
    """Return `data` without metadata; raise UploadRejected if it is not a readable file of `kind`."""
    try:
        if kind in {"jpeg", "png", "webp", "gif"}:
            return scrub_image(kind, data, max_pixels=max_image_pixels)
        if kind == "pdf":
            return scrub_pdf(data)
        if kind in {"mp3", "ogg", "m4a", "mp4"}:
            return scrub_recording(kind, data)
        if kind == "text":
            problem = text_problem(data)
            if problem:
                raise Unreadable(problem, "the file is not plain UTF-8 text" if problem == "not_text"
                                 else "the file contains markup (HTML, SVG or XML)")
            return Scrubbed(data)
    except Unreadable as exc:
        raise UploadRejected(exc.reason, f"{KINDS[kind].label} refused: {exc}") from exc
    raise ValueError(f"unknown kind {kind!r}")


def scrub_confined(kind: str, data: bytes, *, limits: UploadLimits = DEFAULT_LIMITS,
                   deadline: float | None = None) -> Scrubbed:
    """Scrub `data` in the sandbox (by the monotonic `deadline` at the latest); raise UploadRejected."""
    wall = limits.sandbox.wall_seconds
    if deadline is not None:
        wall = min(wall, deadline - time.monotonic())
    if wall <= 0:
        raise UploadRejected("unsafe", "the files of this submission took too long to process")
    try:
        return SANDBOX.scrub(kind, data, max_pixels=limits.max_image_pixels, limits=limits.sandbox,
                             max_output=limits.max_output_bytes, wall_seconds=wall)
    except Unreadable as exc:
        raise UploadRejected(exc.reason, f"{KINDS[kind].label} refused: {exc}") from exc
    except SandboxUnavailable as exc:
        log.error("uploads cannot be inspected: %s", exc)
        raise UploadRejected("unsafe", "the file could not be inspected") from exc


def read_upload(stream: IO[bytes], max_bytes: int) -> bytes:
    """Return the whole upload; refuse it once max_bytes + 1 bytes have arrived, reading no further.

    An upload held in memory (`reporter.web.formdata`) is taken as it is: BytesIO.getvalue() hands
    over its buffer without copying it, so a 10 MiB file is not held twice. Any other stream is read
    until the limit.
    """
    if isinstance(stream, io.BytesIO) and stream.tell() == 0:
        data = stream.getvalue()
    else:
        data = stream.read(max_bytes + 1)
        while len(data) <= max_bytes and (more := stream.read(max_bytes + 1 - len(data))):
            data += more
    if len(data) > max_bytes:
        raise UploadRejected("too_large", f"the file is larger than {max_bytes / MiB:g} MiB")
    if not data:
        raise UploadRejected("empty", "the file is empty")
    return data


@dataclass(frozen=True)
class Inspected:
    """An upload read, hashed, recognised and scrubbed: everything before encryption."""

    original: bytes = field(repr=False)
    original_sha256: str
    kind: str
    scrubbed: Scrubbed = field(repr=False)


def inspect_upload(upload: Upload, *, limits: UploadLimits = DEFAULT_LIMITS,
                   deadline: float | None = None) -> Inspected:
    """Read, hash, recognise and scrub (confined) one upload; raise UploadRejected saying why."""
    data = read_upload(upload.stream, limits.max_bytes)
    digest = original_digest(data)
    kind = sniff(data[:SNIFF_BYTES])
    if kind is None:
        raise UploadRejected("type", f"this kind of file is not accepted. Accepted: {accepted_kinds()}")
    return Inspected(data, digest, kind, scrub_confined(kind, data, limits=limits, deadline=deadline))


def prepare_attachment(
    upload: Upload, *, data_key: bytes, key_version: int = 1, limits: UploadLimits = DEFAULT_LIMITS,
    keep_original: bool = False, deadline: float | None = None,
) -> PreparedAttachment:
    """Inspect one upload (`inspect_upload`) and seal its display name; raise UploadRejected if refused."""
    inspected = inspect_upload(upload, limits=limits, deadline=deadline)
    kind, scrubbed, data = inspected.kind, inspected.scrubbed, inspected.original
    attachment_id = new_id()
    name_ct = vault.seal_attachment_name(
        data_key, attachment_id, display_name(upload.filename), key_version=key_version
    )
    log.info("attachment %s prepared: %s, metadata kept: %s", attachment_id, kind, scrubbed.metadata_kept)
    return PreparedAttachment(
        id=attachment_id,
        kind=kind,
        content=scrubbed.data,
        size_bucket=chunks.padded_size(len(scrubbed.data)),
        original_sha256=inspected.original_sha256,
        name_ct=name_ct,
        removed=scrubbed.removed,
        metadata_kept=scrubbed.metadata_kept,
        original=data if keep_original else None,
        original_id=new_id() if keep_original else None,
    )


def prepare_attachments(
    uploads: Sequence[Upload], *, data_key: bytes, key_version: int = 1,
    limits: UploadLimits = DEFAULT_LIMITS, keep_originals: bool = False,
) -> list[PreparedAttachment]:
    """Prepare every upload of one submission or message; refuse too many before reading any.

    Every file is tried, so UploadsRejected names each refused one, not only the first. All of them
    share one time budget in the sandbox (`SandboxLimits.submission_seconds`).
    """
    if len(uploads) > limits.max_files:
        raise UploadRejected("too_many_files", f"at most {limits.max_files} files can be attached at once")
    prepared: list[PreparedAttachment] = []
    problems: list[tuple[str, UploadRejected]] = []
    deadline = time.monotonic() + limits.sandbox.submission_seconds
    for upload in uploads:
        try:
            prepared.append(prepare_attachment(upload, data_key=data_key, key_version=key_version,
                                               limits=limits, keep_original=keep_originals,
                                               deadline=deadline))
        except UploadRejected as refused:
            problems.append((display_name(upload.filename), refused))
    if problems:
        raise UploadsRejected(problems)
    return prepared


def store_attachment(
    prepared: PreparedAttachment, *, store: AttachmentStore, data_key: bytes, key_version: int = 1
) -> None:
    """Write the scrubbed copy, and the original if kept, encrypted into the store."""
    vault.store_attachment_file(store, prepared.id, prepared.content, data_key, key_version=key_version)
    if prepared.original is None or prepared.original_id is None:
        return
    try:
        vault.store_attachment_file(
            store, prepared.original_id, prepared.original, data_key, key_version=key_version
        )
    except BaseException:
        store.delete(prepared.id)
        raise
