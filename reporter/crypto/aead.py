"""AES-256-GCM field encryption, bound to the exact place where the ciphertext is stored.

Format of a stored field: ``b"\\x01" | key_version (2 bytes, big-endian) | nonce (12) | ciphertext+tag``.

The associated data is ``"<table>.<column>:<row id>:<key version>"``: a ciphertext copied into another
row or column, or relabelled with another key version, fails authentication instead of decrypting
into the wrong record. Before encryption the plaintext is padded to a size bucket (a power of two, at
least 256 bytes) so the stored length does not reveal the exact length of what a reporter wrote.
"""

from __future__ import annotations

import os
import struct

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from reporter.crypto import CiphertextInvalid

FORMAT = 1
KEY_BYTES = 32
NONCE_BYTES = 12
_HEADER = struct.Struct(">BH")
MIN_BUCKET = 256


def new_key() -> bytes:
    """Return a fresh random 256-bit key."""
    return AESGCM.generate_key(bit_length=256)


def associated_data(table: str, column: str, row_id: str, key_version: int) -> bytes:
    """Return the associated data that binds a ciphertext to its table, column, row and key version."""
    return f"{table}.{column}:{row_id}:{key_version}".encode()


def pad(plaintext: bytes) -> bytes:
    """Prefix the length and pad with zeros to the next power-of-two bucket (at least 256 bytes)."""
    needed = len(plaintext) + 4
    bucket = MIN_BUCKET
    while bucket < needed:
        bucket *= 2
    return struct.pack(">I", len(plaintext)) + plaintext + bytes(bucket - needed)


def unpad(padded: bytes) -> bytes:
    """Undo `pad`; raise CiphertextInvalid when the length prefix does not fit."""
    if len(padded) < 4:
        raise CiphertextInvalid("padding too short")
    (length,) = struct.unpack(">I", padded[:4])
    if length > len(padded) - 4:
        raise CiphertextInvalid("padding length out of range")
    return padded[4 : 4 + length]


def encrypt_field(
    key: bytes, plaintext: bytes, *, table: str, column: str, row_id: str, key_version: int = 1
) -> bytes:
    """Encrypt a field value for one table, column and row under `key`."""
    nonce = os.urandom(NONCE_BYTES)
    aad = associated_data(table, column, row_id, key_version)
    header = _HEADER.pack(FORMAT, key_version)
    return header + nonce + AESGCM(key).encrypt(nonce, pad(plaintext), header + aad)


def field_key_version(blob: bytes) -> int:
    """Return the key version written in a field ciphertext's header."""
    if len(blob) < _HEADER.size + NONCE_BYTES + 16:
        raise CiphertextInvalid("ciphertext too short")
    fmt, version = _HEADER.unpack(blob[: _HEADER.size])
    if fmt != FORMAT:
        raise CiphertextInvalid(f"unknown ciphertext format {fmt}")
    return int(version)


def decrypt_field(key: bytes, blob: bytes, *, table: str, column: str, row_id: str) -> bytes:
    """Decrypt a field stored at table.column of row_id; raise CiphertextInvalid on any mismatch."""
    version = field_key_version(blob)
    header = blob[: _HEADER.size]
    nonce = blob[_HEADER.size : _HEADER.size + NONCE_BYTES]
    aad = associated_data(table, column, row_id, version)
    try:
        padded = AESGCM(key).decrypt(nonce, blob[_HEADER.size + NONCE_BYTES :], header + aad)
    except (InvalidTag, ValueError) as exc:
        raise CiphertextInvalid("field failed authentication") from exc
    return unpad(padded)
