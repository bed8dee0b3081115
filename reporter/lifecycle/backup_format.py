"""The backup file: an HPKE-sealed file key, then the dump as chunked AES-256-GCM.

Layout::

    header = b"RPBACKUP" | format (1) | suite length (2, big-endian) | suite | sealed length (4) | sealed key
    body   = the chunked stream of reporter.crypto.chunks under the file key (its own header, then
             chunks of 1 MiB whose associated data binds the file id, the chunk's index and whether it
             is the last one), file id = "backup:" + SHA-256(header) in hex

- The file key (256 random bits) is sealed ONCE with HPKE to the backup public key, in the same hybrid
  suite as case seals (ML-KEM-768 + X25519): whoever records a backup today cannot open it with a
  future quantum computer, and only the holder of the offline backup private key opens it at all.
- Every chunk is authenticated, bound to its place and to the header (through the file id): a byte
  changed anywhere, chunks reordered, or the file cut short at any point (even at a chunk boundary:
  the chunk read last was not sealed as final) is refused. The chunk stream pads the dump to a size
  bucket, so the file's size tells only roughly how large the installation is.

The plaintext inside is a sequence of records, each ``kind (1 byte) | length (4, big-endian) | payload``.
JSON payloads describe the dump (`MANIFEST`, `TABLE`, `ROWS`, `TABLE_END`, `FILE`, `FILE_END`,
`END`); `DATA` carries the bytes of a file. Values in rows are encoded losslessly (`encode_value`):
bytes, times and decimals as tagged objects, everything else as JSON natives.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from collections.abc import Callable, Iterator
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, BinaryIO

from reporter.crypto import CiphertextInvalid, chunks, seals

MAGIC = b"RPBACKUP"
FORMAT = 1
CHUNK_BYTES = chunks.MAX_CHUNK_BYTES
KEY_BYTES = 32
SEAL_INFO = b"reporter/backup/v1"
_LENGTHS = struct.Struct(">BH")
_SEALED = struct.Struct(">I")
_RECORD = struct.Struct(">cI")
#: The largest record a reader accepts (a batch of rows, or a piece of a file).
MAX_RECORD_BYTES = 64 * 1024 * 1024

MANIFEST, TABLE, ROWS, TABLE_END, FILE, DATA, FILE_END, END = (bytes([c]) for c in b"MTRtFDfZ")


class BackupInvalid(ValueError):
    """The backup file does not open or does not authenticate; the message says what to check."""


def encode_value(value: Any) -> Any:
    """Return a JSON-ready form of a column value from which `decode_value` gives back the exact value."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$b": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, datetime):
        return {"$t": value.isoformat()}
    if isinstance(value, date):
        return {"$d": value.isoformat()}
    if isinstance(value, time):
        return {"$h": value.isoformat()}
    if isinstance(value, Decimal):
        return {"$n": str(value)}
    if isinstance(value, (dict, list)):
        return {"$j": value}
    raise TypeError(f"cannot back up a value of type {type(value).__name__}")


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "$b": base64.b64decode, "$t": datetime.fromisoformat, "$d": date.fromisoformat, "$h": time.fromisoformat,
    "$n": Decimal, "$j": lambda value: value,
}


def decode_value(value: Any) -> Any:
    """Return the column value `encode_value` encoded."""
    if isinstance(value, dict):
        ((tag, inner),) = value.items()
        return _DECODERS[tag](inner)
    return value


def decode_row(row: list[Any]) -> tuple[Any, ...]:
    """Return a row's column values from their encoded forms."""
    return tuple(decode_value(value) if type(value) is dict else value for value in row)


def record(kind: bytes, payload: bytes) -> bytes:
    """Return one framed record."""
    return _RECORD.pack(kind, len(payload)) + payload


def json_record(kind: bytes, document: Any) -> bytes:
    """Return one framed record with a JSON payload."""
    return record(kind, json.dumps(document, separators=(",", ":"), ensure_ascii=True).encode())


def _file_id(header: bytes) -> str:
    return "backup:" + hashlib.sha256(header).hexdigest()


def open_writer(sink: BinaryIO, public: seals.KeyPair) -> chunks.EncryptingWriter:
    """Write the header sealed to the backup public key and return the writer of the encrypted body."""
    file_key = os.urandom(KEY_BYTES)
    sealed = seals.seal(file_key, public.public, info=SEAL_INFO, suite=public.suite)
    suite = public.suite.encode()
    header = MAGIC + _LENGTHS.pack(FORMAT, len(suite)) + suite + _SEALED.pack(len(sealed)) + sealed
    sink.write(header)
    return chunks.EncryptingWriter(sink, file_key, file_id=_file_id(header), chunk_size=CHUNK_BYTES)


def _read(source: BinaryIO, size: int) -> bytes:
    data = source.read(size)
    if len(data) != size:
        raise BackupInvalid("the backup file is cut short (its header is incomplete)")
    return data


def open_reader(source: BinaryIO, private: seals.KeyPair) -> Iterator[bytes]:
    """Open the header with the backup private key; return the decrypted body, piece by piece.

    The pieces are authenticated one by one; the iterator raises BackupInvalid at the first piece that
    fails, and at the end when the file was cut short: a consumer must treat the whole stream as
    failed when it raises.
    """
    start = _read(source, len(MAGIC) + _LENGTHS.size)
    if start[: len(MAGIC)] != MAGIC:
        raise BackupInvalid("this is not a reporter backup file")
    fmt, suite_length = _LENGTHS.unpack(start[len(MAGIC):])
    if fmt != FORMAT:
        raise BackupInvalid(f"unknown backup format {fmt}; use the release that made it")
    suite = _read(source, suite_length)
    (sealed_length,) = _SEALED.unpack(_read(source, _SEALED.size))
    if sealed_length > 64 * 1024:
        raise BackupInvalid("the backup header is damaged")
    sealed = _read(source, sealed_length)
    header = start + suite + _SEALED.pack(sealed_length) + sealed
    if suite.decode(errors="replace") != private.suite:
        raise BackupInvalid("the backup key does not fit this backup (another key suite)")
    try:
        file_key = seals.open_seal(sealed, private.private, info=SEAL_INFO, suite=private.suite)
    except CiphertextInvalid:
        raise BackupInvalid("the backup does not open with this backup key (a wrong key, or the file "
                            "was altered)") from None
    return _authenticated(source, file_key, _file_id(header))


def _authenticated(source: BinaryIO, file_key: bytes, file_id: str) -> Iterator[bytes]:
    try:
        yield from chunks.decrypt_chunks(source, file_key, file_id=file_id)
    except CiphertextInvalid:
        raise BackupInvalid("the backup file was altered or cut short: it does not authenticate") from None


class RecordReader:
    """Read framed records from the decrypted body."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._buffer = bytearray()

    def _take(self, size: int) -> bytes | None:
        while len(self._buffer) < size:
            piece = next(self._pieces, None)
            if piece is None:
                if self._buffer:
                    raise BackupInvalid("the backup ends inside a record")
                return None
            self._buffer += piece
        taken = bytes(self._buffer[:size])
        del self._buffer[:size]
        return taken

    def next(self) -> tuple[bytes, bytes] | None:
        """Return the next (kind, payload), or None after the last record."""
        head = self._take(_RECORD.size)
        if head is None:
            return None
        kind, length = _RECORD.unpack(head)
        if length > MAX_RECORD_BYTES:
            raise BackupInvalid("a record in the backup is larger than any backup writes")
        payload = self._take(length) if length else b""
        if payload is None:
            raise BackupInvalid("the backup ends inside a record")
        return kind, payload
