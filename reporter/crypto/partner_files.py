"""A partner organisation's key files and the one-file export of a case sealed to its key.

Pure: bytes in, bytes out; no Flask, no database, no files. Built only from primitives used elsewhere
here: HPKE (`seals`, the same suite as staff keys), AES-256-GCM (`cryptography`), argon2id
(`wrapping.password_key`).

An export file is a plaintext header line (JSON: format, version, export id, the partner key's
fingerprint, suite, creation date), a newline, then: the length of the HPKE seal (4 bytes), the seal
of a fresh 256-bit key to the partner (its info binds the export id and the fingerprint), a 12-byte
nonce and the AES-256-GCM ciphertext of the payload, with the whole header line as associated data.
A changed header byte, a changed body byte or another partner's key: the file does not open.

The payload is a JSON manifest (the chosen fields, and each file's name, type and size) followed by
the files' bytes in manifest order.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import struct
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from reporter.crypto import CiphertextInvalid, aead, seals, wrapping

FORMAT = "reporter/partner-export"
VERSION = 1
PUBLIC_TAG = "reporter partner public key v1"
PRIVATE_TAG = "reporter partner private key v1"
#: The longest public key file text accepted (a hybrid key is about 1,600 base64 characters).
MAX_PUBLIC_TEXT = 4096
_LENGTH = struct.Struct(">I")
_NONCE = 12
_TABLE, _COLUMN = "partner_keys", "private_key"


class PartnerFileInvalid(ValueError):
    """A key file or an export file is malformed, damaged, for another key, or the passphrase is wrong."""


def fingerprint(public_key: bytes, suite: str) -> str:
    """Return the SHA-256 fingerprint (hex) of a public key and its suite, as staff keys are printed."""
    return hashlib.sha256(suite.encode() + b"\x00" + bytes(public_key)).hexdigest()


def export_info(export_id: str, partner_fingerprint: str) -> bytes:
    """Return the HPKE info that binds an export's key seal to the export and the partner's key."""
    return f"reporter/partner-export/v1|export:{export_id}|partner:{partner_fingerprint}".encode()


# Key files --------------------------------------------------------------------------------------------

def _lines(text: str, tag: str) -> dict[str, str]:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines or lines[0] != tag:
        raise PartnerFileInvalid("not a partner key file of this kind")
    values: dict[str, str] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon:
            raise PartnerFileInvalid("a line of the key file is not 'name: value'")
        values[name.strip()] = value.strip()
    return values


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise PartnerFileInvalid("the key is not valid base64") from None


def public_key_text(public_key: bytes, suite: str) -> str:
    """Return the public key file a partner sends to the coordinators."""
    return f"{PUBLIC_TAG}\nsuite: {suite}\nkey: {base64.b64encode(public_key).decode()}\n"


def read_public_key(text: str) -> tuple[bytes, str]:
    """Return (public key, suite) of a public key file's text; raise PartnerFileInvalid for anything else."""
    if len(text) > MAX_PUBLIC_TEXT:
        raise PartnerFileInvalid("the key file is too long")
    values = _lines(text, PUBLIC_TAG)
    suite, public = values.get("suite", ""), _b64(values.get("key", ""))
    try:  # a seal to the key proves that it is a key of the suite
        seals.seal(b"check", public, info=b"reporter/partner-key-check", suite=suite)
    except CiphertextInvalid:
        raise PartnerFileInvalid("the key does not fit its suite") from None
    return public, suite


def private_key_text(pair: seals.KeyPair, passphrase: str, params: wrapping.KdfParams) -> str:
    """Return the private key file: the raw key wrapped under an argon2id key of the passphrase."""
    salt = wrapping.new_salt()
    key = wrapping.password_key(passphrase, salt=salt, params=params)
    wrapped = aead.encrypt_field(key, pair.private, row_id=fingerprint(pair.public, pair.suite),
                                 table=_TABLE, column=_COLUMN)
    return (f"{PRIVATE_TAG}\nsuite: {pair.suite}\nfingerprint: {fingerprint(pair.public, pair.suite)}\n"
            f"kdf: {params.encode()}\nsalt: {base64.b64encode(salt).decode()}\n"
            f"key: {base64.b64encode(wrapped).decode()}\n")


def read_private_key(text: str, passphrase: str) -> seals.KeyPair:
    """Unwrap a private key file; raise PartnerFileInvalid for a wrong passphrase or a damaged file."""
    values = _lines(text, PRIVATE_TAG)
    suite, expected = values.get("suite", ""), values.get("fingerprint", "")
    try:
        params = wrapping.KdfParams.decode(values.get("kdf", ""))
        key = wrapping.password_key(passphrase, salt=_b64(values.get("salt", "")), params=params)
        private = aead.decrypt_field(key, _b64(values.get("key", "")), row_id=expected, table=_TABLE,
                                      column=_COLUMN)
        public = seals.public_key_of(private, suite)
    except CiphertextInvalid:
        raise PartnerFileInvalid("wrong passphrase, or the key file is damaged") from None
    if fingerprint(public, suite) != expected:
        raise PartnerFileInvalid("the key file is damaged")
    return seals.KeyPair(suite, private, public)


# Export files -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExportFile:
    """A case as a partner reads it: the fields chosen and the files, each (manifest entry, bytes)."""

    header: dict[str, Any]
    fields: dict[str, Any]
    files: list[tuple[dict[str, Any], bytes]]


def _payload(fields: dict[str, Any], files: list[tuple[dict[str, Any], bytes]]) -> bytes:
    manifest = json.dumps({"fields": fields, "files": [{**meta, "size": len(body)} for meta, body in files]},
                          ensure_ascii=False, sort_keys=True).encode()
    return _LENGTH.pack(len(manifest)) + manifest + b"".join(body for _, body in files)


def seal_export(*, export_id: str, partner_public: bytes, suite: str, created: str, fields: dict[str, Any],
                files: list[tuple[dict[str, Any], bytes]]) -> bytes:
    """Return the export file of the chosen fields and files, sealed to one partner's public key."""
    print_ = fingerprint(partner_public, suite)
    header = json.dumps({"format": FORMAT, "version": VERSION, "export": export_id, "partner": print_,
                         "suite": suite, "created": created}, sort_keys=True).encode()
    key = aead.new_key()
    sealed = seals.seal(key, partner_public, info=export_info(export_id, print_), suite=suite)
    nonce = os.urandom(_NONCE)
    body = AESGCM(key).encrypt(nonce, _payload(fields, files), header)
    return header + b"\n" + _LENGTH.pack(len(sealed)) + sealed + nonce + body


def read_header(data: bytes) -> tuple[dict[str, Any], bytes, bytes]:
    """Return (header, header bytes, rest) of an export file; raise PartnerFileInvalid if it is not one."""
    raw, newline, rest = data.partition(b"\n")
    try:
        header = json.loads(raw.decode("ascii")) if newline else None
    except (UnicodeDecodeError, ValueError):
        header = None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise PartnerFileInvalid("this is not a partner export file")
    if header.get("version") != VERSION:
        raise PartnerFileInvalid("this export file has a version this program does not read")
    return header, raw, rest


def open_export(data: bytes, pair: seals.KeyPair) -> ExportFile:
    """Verify and decrypt an export file with the partner's key pair; raise PartnerFileInvalid."""
    header, raw, rest = read_header(data)
    mine = fingerprint(pair.public, pair.suite)
    if header.get("partner") != mine or header.get("suite") != pair.suite:
        raise PartnerFileInvalid("this file was sealed to another key")
    if len(rest) < _LENGTH.size:
        raise PartnerFileInvalid("the file is cut short")
    (length,) = _LENGTH.unpack(rest[:_LENGTH.size])
    sealed = rest[_LENGTH.size:_LENGTH.size + length]
    nonce = rest[_LENGTH.size + length:_LENGTH.size + length + _NONCE]
    try:
        key = seals.open_seal(sealed, pair.private, info=export_info(str(header.get("export")), mine),
                              suite=pair.suite)
        payload = AESGCM(key).decrypt(nonce, rest[_LENGTH.size + length + _NONCE:], raw)
    except (CiphertextInvalid, InvalidTag, ValueError):
        raise PartnerFileInvalid("the file does not open: it was changed, or sealed to another key") from None
    return _unpack(header, payload)


def _unpack(header: dict[str, Any], payload: bytes) -> ExportFile:
    (length,) = _LENGTH.unpack(payload[:_LENGTH.size])
    manifest = json.loads(payload[_LENGTH.size:_LENGTH.size + length])
    files, offset = [], _LENGTH.size + length
    for meta in manifest["files"]:
        files.append((meta, payload[offset:offset + int(meta["size"])]))
        offset += int(meta["size"])
    return ExportFile(header=header, fields=manifest["fields"], files=files)
