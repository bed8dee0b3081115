"""Staff downloads of attachments: only for a holder of the case, verified before a byte is sent, audited.

Why the file is decrypted twice: the chunked format authenticates each chunk, but a file cut short
at a chunk boundary is only detected at its end. Streaming chunks as they are verified could send the
start of a damaged file before failing. So `open_attachment` first decrypts the whole file and throws
the plaintext away (memory stays at one chunk), and only a file that verified completely is
recorded as downloaded and streamed, decrypted a second time from the same open file. A failure in
that second pass (the file changed on disk in between) aborts the response; the server logs it.
A damaged or missing file fails closed: no byte is sent, an error page is shown and a
`case.integrity_failure` event is written.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from sqlalchemy.orm import Session

from reporter import vault
from reporter.audit import chain
from reporter.cases import holding
from reporter.crypto import CiphertextInvalid
from reporter.evidence import attachments
from reporter.evidence.kinds import KINDS
from reporter.evidence.store import AttachmentIdInvalid, AttachmentStore
from reporter.models import Attachment, StaffMember

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Download:
    """A verified attachment ready to be sent: its server-chosen name, type, size and plaintext stream."""

    filename: str
    media_type: str
    size: int
    stream: Callable[[], Iterator[bytes]]


def _verified_size(source: BinaryIO, file_id: str, data_key: bytes) -> int:
    return vault.verify_attachment(source, file_id, data_key)


def _send(source: BinaryIO, file_id: str, data_key: bytes) -> Iterator[bytes]:
    try:
        yield from vault.read_attachment(source, file_id, data_key)
    except CiphertextInvalid:
        log.error("attachment %s changed on disk during a download; response aborted", file_id)
        raise
    finally:
        source.close()


def open_attachment(
    session: Session, report_id: str, attachment_id: str, *, person: StaffMember, private_key: bytes,
    store: AttachmentStore, original: bool = False,
) -> Download:
    """Verify an attachment of a held case, record the download and commit; return it to stream.

    Raises CaseNotFound for a case not held or an attachment not of this case (or without a kept
    original), IntegrityFailure (audited) for a damaged or missing file.
    """
    report, data_key = holding.unseal(session, report_id, person, private_key)
    row = session.get(Attachment, attachment_id) if isinstance(attachment_id, str) else None
    if row is None or row.report_id != report.id or (original and row.original_id is None):
        raise holding.CaseNotFound()
    file_id = row.original_id if original and row.original_id else row.id
    try:
        source = store.open(file_id)
    except (FileNotFoundError, AttachmentIdInvalid):
        raise holding.integrity_failure(session, report.id, person, "attachment") from None
    try:
        size = _verified_size(source, file_id, data_key)
    except CiphertextInvalid:
        source.close()
        raise holding.integrity_failure(session, report.id, person, "attachment") from None
    number = attachments.number_of(session, report.id, row.id)
    chain.record(session, actor=chain.Actor.of(person), action="attachment.downloaded", object_type="report",
                 object_id=report.id,
                 detail={"attachment": row.id, "copy": "original" if original else "scrubbed"})
    try:
        session.commit()
    except BaseException:
        source.close()
        raise
    return Download(
        filename=attachments.download_name(report.id, number, row.kind, original=original),
        media_type=KINDS[row.kind].media_type if not original else "application/octet-stream",
        size=size,
        stream=lambda: _send(source, file_id, data_key),
    )
