"""Streaming encryption of attachment files: AES-256-GCM over fixed-size chunks.

A file is a header followed by equal-sized encrypted chunks::

    header = b"RPAT" | format (1) | key_version (2, big-endian) | chunk_size (4, big-endian) | salt (32)
    chunk  = AES-256-GCM(file_key, nonce = index as 12 bytes big-endian,
                         plaintext = content length (4, big-endian) | content | zero fill to chunk_size,
                         associated data = header | "attachments:<file id>:<key version>:<index>:<final>")

Why each part is there:

- The file key is HKDF-SHA256(data key, salt, info) with a fresh random salt per file. The report's data
  key also encrypts fields under random nonces; a key of its own per file keeps the two nonce spaces
  apart, so the chunk index can serve as the nonce without any risk of reuse. (This is the construction
  of Tink's AES-GCM-HKDF streaming AEAD, built only from the `cryptography` library's primitives.)
- The associated data binds each chunk to its file id (a chunk or whole file moved to another
  attachment fails), to the key version, to its position (chunks cannot be reordered or duplicated) and
  to whether it is the last chunk (a file cut short at a chunk boundary, or extended, fails: the chunk
  read last was not sealed as final). The header is part of the associated data, so it cannot be
  altered either.
- Every chunk holds the same number of plaintext bytes, its real content length inside the ciphertext,
  and the writer appends empty chunks up to a bucket of chunk counts (`padded_chunk_count`, the Padmé
  rule). The size on disk therefore shows the size bucket only, never the exact size of what a reporter
  uploaded.

Memory stays bounded: the writer holds at most one chunk of plaintext, the reader one chunk of
plaintext and two of ciphertext (it looks one chunk ahead to know which chunk is the last). A reader
yields each chunk once it is authenticated; a file cut short is detected at its end, so a consumer must
treat the whole stream as failed when the reader raises.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from types import TracebackType
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from reporter.crypto import CiphertextInvalid

MAGIC = b"RPAT"
FORMAT = 1
CHUNK_BYTES = 64 * 1024
#: Bounds a reader accepts from a header before it is authenticated, so a forged header cannot make it
#: allocate much memory.
MIN_CHUNK_BYTES, MAX_CHUNK_BYTES = 16, 1024 * 1024
SALT_BYTES = 32
TAG_BYTES = 16
_HEADER = struct.Struct(">4sBHI")
HEADER_BYTES = _HEADER.size + SALT_BYTES
_LENGTH = struct.Struct(">I")
_INFO = b"reporter attachment chunks v1"


def _file_key(data_key: bytes, salt: bytes) -> AESGCM:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_INFO)
    return AESGCM(hkdf.derive(data_key))


def _nonce(index: int) -> bytes:
    return index.to_bytes(12, "big")


def chunk_associated_data(header: bytes, file_id: str, key_version: int, index: int, final: bool) -> bytes:
    """Return the associated data of one chunk: the header and its file, key version, place and finality."""
    return header + f"attachments:{file_id}:{key_version}:{index}:{int(final)}".encode()


def padded_chunk_count(content_bytes: int, chunk_size: int = CHUNK_BYTES) -> int:
    """Return how many chunks a file of `content_bytes` occupies: its bucket of chunk counts.

    The Padmé rule (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and Communication
    with PURBs", PETS 2019): a count of n chunks, with 2^e <= n < 2^(e+1), is rounded up so that only its
    top floor(log2 e) + 1 bits may be non-zero. Up to 8 chunks every count is its own bucket (a file of
    512 KiB or less shows its size to 64 KiB); from there the buckets widen with the size, and padding
    never adds more than 1/8 of the file (a power-of-two rule adds up to all of it: a 5 MiB photo would
    be written, synced, read and authenticated as 8 MiB). Sizes of similar files fall into the same
    bucket, and the number of buckets up to n grows like log(n) * log(log(n)).
    """
    needed = max(1, -(-content_bytes // chunk_size))
    exponent = needed.bit_length() - 1
    if exponent < 2:
        return needed
    low_bits = exponent - exponent.bit_length()
    mask = (1 << low_bits) - 1
    return (needed + mask) & ~mask


def padded_size(content_bytes: int, chunk_size: int = CHUNK_BYTES) -> int:
    """Return the size bucket (plaintext bytes, padding included) a file of `content_bytes` is stored in."""
    return padded_chunk_count(content_bytes, chunk_size) * chunk_size


def stored_size(content_bytes: int, chunk_size: int = CHUNK_BYTES) -> int:
    """Return the size on disk of an encrypted file of `content_bytes`."""
    frame = _LENGTH.size + chunk_size + TAG_BYTES
    return HEADER_BYTES + padded_chunk_count(content_bytes, chunk_size) * frame


class EncryptingWriter:
    """Encrypt plaintext pieces into chunks written to `sink`; `close()` writes the padding and last chunk.

    Use as a context manager: leaving the block normally closes the writer; leaving it with an exception
    writes nothing more, so an unfinished file never carries a final chunk and never decrypts.
    """

    def __init__(
        self, sink: BinaryIO, data_key: bytes, *, file_id: str, key_version: int = 1,
        chunk_size: int = CHUNK_BYTES,
    ) -> None:
        if not MIN_CHUNK_BYTES <= chunk_size <= MAX_CHUNK_BYTES:
            raise ValueError(f"chunk size must be between {MIN_CHUNK_BYTES} and {MAX_CHUNK_BYTES}")
        salt = os.urandom(SALT_BYTES)
        self._sink = sink
        self._aead = _file_key(data_key, salt)
        self._header = _HEADER.pack(MAGIC, FORMAT, key_version, chunk_size) + salt
        self._file_id = file_id
        self._key_version = key_version
        self._chunk_size = chunk_size
        self._buffer = bytearray()
        self._index = 0
        self._content_bytes = 0
        self._closed = False
        sink.write(self._header)

    @property
    def content_bytes(self) -> int:
        """Return how many plaintext bytes have been written so far."""
        return self._content_bytes

    def write(self, data: bytes) -> None:
        """Add plaintext; every full chunk is encrypted and written once more data follows it."""
        if self._closed:
            raise ValueError("write to a closed EncryptingWriter")
        view = memoryview(data)
        self._content_bytes += len(view)
        size = self._chunk_size
        while view:
            if len(self._buffer) == size:
                # A full chunk goes out only now that more data follows, so it is not the last one.
                self._emit(self._buffer, final=False)
                self._buffer.clear()
            if not self._buffer and len(view) > size:
                # A whole chunk with more after it: encrypted straight from the caller's bytes, no copy.
                self._emit(view[:size], final=False)
                view = view[size:]
                continue
            room = size - len(self._buffer)
            self._buffer += view[:room]
            view = view[room:]

    def close(self) -> None:
        """Write the remaining content and the padding chunks; the very last chunk is marked final."""
        if self._closed:
            return
        self._closed = True
        total = padded_chunk_count(self._content_bytes, self._chunk_size)
        self._emit(self._buffer, final=self._index + 1 == total)
        self._buffer.clear()
        while self._index < total:
            self._emit(b"", final=self._index + 1 == total)

    def _emit(self, content: bytes | bytearray | memoryview, *, final: bool) -> None:
        frame = b"".join((_LENGTH.pack(len(content)), content, bytes(self._chunk_size - len(content))))
        aad = chunk_associated_data(self._header, self._file_id, self._key_version, self._index, final)
        self._sink.write(self._aead.encrypt(_nonce(self._index), frame, aad))
        self._index += 1

    def __enter__(self) -> EncryptingWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if kind is None:
            self.close()
        else:
            self._closed = True


def _read_exactly(source: BinaryIO, size: int) -> bytes:
    parts: list[bytes] = []
    remaining = size
    while remaining:
        part = source.read(remaining)
        if not part:
            break
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def _read_into(source: BinaryIO, buffer: bytearray) -> int:
    view, filled = memoryview(buffer), 0
    while filled < len(buffer):
        # Binary files (io.BufferedReader, BytesIO) all have readinto; typing.BinaryIO does not declare it.
        got = source.readinto(view[filled:])  # type: ignore[attr-defined]
        if not got:
            break
        filled += got
    return filled


def read_header(source: BinaryIO) -> tuple[bytes, int, int]:
    """Read and check a header; return (header bytes, key version, chunk size). It is authenticated later."""
    header = _read_exactly(source, HEADER_BYTES)
    if len(header) < HEADER_BYTES:
        raise CiphertextInvalid("attachment header is cut short")
    magic, fmt, key_version, chunk_size = _HEADER.unpack(header[: _HEADER.size])
    if magic != MAGIC:
        raise CiphertextInvalid("not an encrypted attachment")
    if fmt != FORMAT:
        raise CiphertextInvalid(f"unknown attachment format {fmt}")
    if not MIN_CHUNK_BYTES <= chunk_size <= MAX_CHUNK_BYTES:
        raise CiphertextInvalid("attachment chunk size out of range")
    return header, key_version, chunk_size


def _opened_chunks(source: BinaryIO, data_key: bytes, file_id: str) -> Iterator[memoryview]:
    """Yield each chunk's content once it is authenticated, as a view of a buffer the next chunk reuses.

    Ciphertext is read into two buffers (the chunk and the one after it, to know which is last) and
    decrypted into a third: a pass over a file allocates nothing per chunk. A chunk that fails
    authentication is never yielded, and its unauthenticated output is wiped from the buffer.
    """
    header, key_version, chunk_size = read_header(source)
    aead = _file_key(data_key, header[_HEADER.size :])
    frame_bytes = _LENGTH.size + chunk_size + TAG_BYTES
    current, following = bytearray(frame_bytes), bytearray(frame_bytes)
    plain = bytearray(_LENGTH.size + chunk_size)
    content = memoryview(plain)
    got = _read_into(source, current)
    if not got:
        raise CiphertextInvalid("attachment has no chunks")
    index = 0
    while got:
        if got != frame_bytes:
            raise CiphertextInvalid("attachment ends inside a chunk")
        got_next = _read_into(source, following)
        aad = chunk_associated_data(header, file_id, key_version, index, not got_next)
        try:
            aead.decrypt_into(_nonce(index), current, aad, plain)
        except InvalidTag as exc:
            plain[:] = bytes(len(plain))
            raise CiphertextInvalid(f"attachment chunk {index} failed authentication") from exc
        (length,) = _LENGTH.unpack_from(plain)
        if length > chunk_size:
            raise CiphertextInvalid("attachment chunk length out of range")
        if length:
            yield content[_LENGTH.size : _LENGTH.size + length]
        current, following = following, current
        got = got_next
        index += 1


def decrypt_chunks(source: BinaryIO, data_key: bytes, *, file_id: str) -> Iterator[bytes]:
    """Yield the plaintext of an encrypted file chunk by chunk; raise CiphertextInvalid on any tampering."""
    for content in _opened_chunks(source, data_key, file_id):
        yield bytes(content)


def verified_length(source: BinaryIO, data_key: bytes, *, file_id: str) -> int:
    """Authenticate every chunk of an encrypted file, keeping none of it; return its content length.

    Raises CiphertextInvalid on any tampering, like decrypt_chunks.
    """
    return sum(len(content) for content in _opened_chunks(source, data_key, file_id))
