"""The only place that turns plaintext into stored ciphertext and back.

Every report has its own random data key. Its fields are encrypted with AES-256-GCM bound to
``reports.<column>:<report id>:<key version>``; the data key itself is stored only inside seals.
Attachment files are encrypted under the same data key in chunks bound to the attachment id
(`reporter.crypto.chunks`); an attachment's display name is a field bound to ``attachments.name_ct``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date, datetime
from typing import BinaryIO

from reporter.crypto import CiphertextInvalid, aead, chunks, receipts, seals
from reporter.evidence.store import AttachmentStore
from reporter.models import CaseEntry, Report, Seal
from reporter.models.report import SEALED_FIELDS
from reporter.models.seal import RECEIPT_SUITE

REPORT_TABLE = "reports"
ENTRY_TABLE, ENTRY_COLUMN = "case_entries", "body_ct"
#: Sealed fields added after the first release: absent (NULL) on older reports, read as empty.
OPTIONAL_SEALED_FIELDS = ("excluded", "online_details")
SALT_BYTES = 16


def new_data_key() -> bytes:
    """Return a fresh 256-bit data key for one report."""
    return aead.new_key()


def _encode(value: FieldValue) -> bytes:
    if value is None:
        return b""
    if isinstance(value, date | datetime):
        return value.isoformat().encode()
    return value.encode("utf-8")


FieldValue = str | date | datetime | None


def seal_report_fields(report: Report, data_key: bytes, fields: dict[str, FieldValue]) -> None:
    """Encrypt every sealed field of `report` from `fields` (missing ones as empty)."""
    unknown = set(fields) - set(SEALED_FIELDS)
    if unknown:
        raise ValueError(f"not a sealed field: {sorted(unknown)}")
    for name in SEALED_FIELDS:
        blob = aead.encrypt_field(
            data_key,
            _encode(fields.get(name)),
            table=REPORT_TABLE,
            column=f"{name}_ct",
            row_id=report.id,
            key_version=report.key_version,
        )
        setattr(report, f"{name}_ct", blob)


def open_report_fields(report: Report, data_key: bytes) -> dict[str, str]:
    """Decrypt every sealed field of `report`; raise CiphertextInvalid if any was tampered with."""
    opened: dict[str, str] = {}
    for name in SEALED_FIELDS:
        column = f"{name}_ct"
        blob = getattr(report, column)
        if blob is None and name in OPTIONAL_SEALED_FIELDS:  # reports stored before the field existed
            opened[name] = ""
            continue
        plaintext = aead.decrypt_field(data_key, blob, table=REPORT_TABLE, column=column, row_id=report.id)
        try:
            opened[name] = plaintext.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CiphertextInvalid("field is not UTF-8") from exc
    return opened


def seal_to_public_key(
    report: Report, data_key: bytes, *, kind: str, recipient_id: str, public_key: bytes, suite: str
) -> Seal:
    """Return a seal of the data key to a public key (escrow or staff), bound to report and recipient."""
    info = seals.seal_info(report.id, recipient_id, report.key_version)
    return Seal(
        report_id=report.id,
        recipient_kind=kind,
        recipient_id=recipient_id,
        suite=suite,
        key_version=report.key_version,
        salt=b"",
        sealed_key=seals.seal(data_key, public_key, info=info, suite=suite),
    )


def open_public_key_seal(seal: Seal, private_key: bytes) -> bytes:
    """Return the data key inside an HPKE seal, or raise CiphertextInvalid."""
    info = seals.seal_info(seal.report_id, seal.recipient_id, seal.key_version)
    return seals.open_seal(seal.sealed_key, private_key, info=info, suite=seal.suite)


_SEALS_TABLE, _SEALED_KEY = "seals", "sealed_key"


def seal_to_reporter(report: Report, data_key: bytes, receipt: str) -> Seal:
    """Return the reporter's seal: the data key under HKDF(receipt, fresh per-report salt)."""
    salt = os.urandom(SALT_BYTES)
    key = receipts.seal_key(receipt, salt=salt, report_id=report.id)
    return Seal(
        report_id=report.id,
        recipient_kind="reporter",
        recipient_id="receipt",
        suite=RECEIPT_SUITE,
        key_version=report.key_version,
        salt=salt,
        sealed_key=aead.encrypt_field(key, data_key, table=_SEALS_TABLE, column=_SEALED_KEY,
                                      row_id=f"receipt:{report.id}", key_version=report.key_version),
    )


def open_reporter_seal(seal: Seal, receipt: str) -> bytes:
    """Return the data key inside the reporter's seal, or raise CiphertextInvalid."""
    if seal.suite != RECEIPT_SUITE:
        raise CiphertextInvalid(f"unknown reporter seal suite {seal.suite!r}")
    key = receipts.seal_key(receipt, salt=seal.salt, report_id=seal.report_id)
    return aead.decrypt_field(key, seal.sealed_key, table=_SEALS_TABLE, column=_SEALED_KEY,
                              row_id=f"receipt:{seal.report_id}")


def _entry_row(entry: CaseEntry) -> str:
    """Return what an entry's ciphertext is bound to: its case, id and kind, and from format 2 its author,
    time and position too."""
    row = f"{entry.report_id}:{entry.id}:{entry.kind}"
    if entry.format == 1:
        return row
    return f"{row}:{entry.author_id or '-'}:{entry.created_at.isoformat()}:{entry.seq}"


def seal_entry(entry: CaseEntry, data_key: bytes, body: str) -> None:
    """Encrypt the body of a note, message or assessment under its case's data key."""
    entry.body_ct = aead.encrypt_field(data_key, body.encode("utf-8"), table=ENTRY_TABLE, column=ENTRY_COLUMN,
                                       row_id=_entry_row(entry), key_version=entry.key_version)


def open_entry(entry: CaseEntry, data_key: bytes) -> str:
    """Decrypt the body of a case entry; raise CiphertextInvalid if it was tampered with or moved."""
    plaintext = aead.decrypt_field(data_key, entry.body_ct, table=ENTRY_TABLE, column=ENTRY_COLUMN,
                                   row_id=_entry_row(entry))
    try:
        return plaintext.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CiphertextInvalid("entry is not UTF-8") from exc


_ATTACHMENTS_TABLE, _ATTACHMENT_NAME = "attachments", "name_ct"


def seal_attachment_name(data_key: bytes, attachment_id: str, name: str, *, key_version: int = 1) -> bytes:
    """Encrypt an attachment's display name, bound to the attachment."""
    return aead.encrypt_field(data_key, name.encode("utf-8"), table=_ATTACHMENTS_TABLE,
                              column=_ATTACHMENT_NAME, row_id=attachment_id, key_version=key_version)


def open_attachment_name(data_key: bytes, attachment_id: str, blob: bytes) -> str:
    """Decrypt an attachment's display name; raise CiphertextInvalid if it was tampered with or moved."""
    plaintext = aead.decrypt_field(data_key, blob, table=_ATTACHMENTS_TABLE, column=_ATTACHMENT_NAME,
                                   row_id=attachment_id)
    try:
        return plaintext.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CiphertextInvalid("attachment name is not UTF-8") from exc


_ATTACHMENT_DIGEST = "original_sha256_ct"


def seal_attachment_digest(
    data_key: bytes, attachment_id: str, digest: str, *, key_version: int = 1
) -> bytes:
    """Encrypt the SHA-256 of an attachment's original, bound to the attachment."""
    return aead.encrypt_field(data_key, digest.encode("ascii"), table=_ATTACHMENTS_TABLE,
                              column=_ATTACHMENT_DIGEST, row_id=attachment_id, key_version=key_version)


def open_attachment_digest(data_key: bytes, attachment_id: str, blob: bytes) -> str:
    """Decrypt the SHA-256 of an attachment's original; raise CiphertextInvalid if it was tampered with."""
    plaintext = aead.decrypt_field(data_key, blob, table=_ATTACHMENTS_TABLE, column=_ATTACHMENT_DIGEST,
                                   row_id=attachment_id)
    try:
        return plaintext.decode("ascii")
    except UnicodeDecodeError as exc:
        raise CiphertextInvalid("attachment digest is not ASCII") from exc


def store_attachment_file(
    store: AttachmentStore, attachment_id: str, content: bytes, data_key: bytes, *, key_version: int = 1
) -> None:
    """Encrypt a file under the report's data key, bound to its id, and write it into the store."""
    with store.create(attachment_id) as sink, chunks.EncryptingWriter(
        sink, data_key, file_id=attachment_id, key_version=key_version
    ) as writer:
        writer.write(content)


def open_attachment_file(store: AttachmentStore, attachment_id: str, data_key: bytes) -> Iterator[bytes]:
    """Yield an attachment's plaintext chunk by chunk; raise CiphertextInvalid on any tampering."""
    with store.open(attachment_id) as source:
        yield from chunks.decrypt_chunks(source, data_key, file_id=attachment_id)


def verify_attachment(source: BinaryIO, attachment_id: str, data_key: bytes) -> int:
    """Authenticate a whole opened attachment file, keeping no plaintext; return its size.

    Raises CiphertextInvalid on any tampering.
    """
    source.seek(0)
    return chunks.verified_length(source, data_key, file_id=attachment_id)


def read_attachment(source: BinaryIO, attachment_id: str, data_key: bytes) -> Iterator[bytes]:
    """Yield the plaintext of an already opened attachment file chunk by chunk; raise CiphertextInvalid."""
    source.seek(0)
    yield from chunks.decrypt_chunks(source, data_key, file_id=attachment_id)


_CAMPAIGNS_TABLE, _CAMPAIGN_NAME = "campaigns", "name_ct"


def seal_campaign_name(campaign_key: bytes, campaign_id: str, name: str) -> bytes:
    """Encrypt a campaign's name under its campaign key, bound to the campaign."""
    return aead.encrypt_field(campaign_key, name.encode("utf-8"), table=_CAMPAIGNS_TABLE,
                              column=_CAMPAIGN_NAME, row_id=campaign_id)


def open_campaign_name(campaign_key: bytes, campaign_id: str, blob: bytes) -> str:
    """Decrypt a campaign's name; raise CiphertextInvalid if it was tampered with or moved."""
    plaintext = aead.decrypt_field(campaign_key, blob, table=_CAMPAIGNS_TABLE, column=_CAMPAIGN_NAME,
                                   row_id=campaign_id)
    try:
        return plaintext.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CiphertextInvalid("campaign name is not UTF-8") from exc


def seal_campaign_key(campaign_key: bytes, campaign_id: str, *, recipient_id: str, public_key: bytes,
                      suite: str, key_version: int = 1) -> bytes:
    """Return a campaign key sealed (HPKE) to a public key, bound to the campaign and the recipient."""
    info = seals.campaign_seal_info(campaign_id, recipient_id, key_version)
    return seals.seal(campaign_key, public_key, info=info, suite=suite)


def open_campaign_key(sealed_key: bytes, campaign_id: str, *, recipient_id: str, private_key: bytes,
                      suite: str, key_version: int = 1) -> bytes:
    """Return the campaign key inside a seal, or raise CiphertextInvalid."""
    info = seals.campaign_seal_info(campaign_id, recipient_id, key_version)
    return seals.open_seal(sealed_key, private_key, info=info, suite=suite)
