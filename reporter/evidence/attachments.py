"""The attachments of a case: rows written with a report or a message, listed for staff, checked
against the store.

A submission writes its files before its database transaction and its rows inside it
(`files_written`). If the transaction fails, the files written for it are deleted again, so a failed
submission leaves neither rows nor files. A process killed between the two leaves at most files
without rows, which `check_store` (``reporter vault check``) lists and `discard_orphans`
(``reporter vault check --discard-stale``) removes once they are old enough.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import CompoundSelect, select, union
from sqlalchemy.orm import Session

from reporter import vault
from reporter.evidence.inspection import PreparedAttachment, store_attachment
from reporter.evidence.kinds import KINDS
from reporter.evidence.store import AttachmentStore, Orphans
from reporter.models import Attachment, PurgedFile
from reporter.models.base import to_the_hour, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AttachmentView:
    """An attachment as its case's holder sees it in the list: decrypted name and original hash."""

    id: str
    number: int
    kind: str
    name: str
    original_sha256: str
    removed: list[str]
    metadata_kept: bool
    has_original: bool
    entry_id: str | None


def rows_for(
    prepared: Sequence[PreparedAttachment], *, report_id: str, data_key: bytes, entry_id: str | None = None,
    key_version: int = 1,
) -> list[Attachment]:
    """Return the database rows of prepared attachments, the original's hash sealed under the data key.

    Attachments come from reporters: their rows keep the hour only, like everything a reporter does.
    """
    hour = to_the_hour(utcnow())
    return [
        Attachment(
            id=item.id, report_id=report_id, entry_id=entry_id, kind=item.kind, size_bucket=item.size_bucket,
            original_sha256_ct=vault.seal_attachment_digest(data_key, item.id, item.original_sha256,
                                                             key_version=key_version),
            name_ct=item.name_ct, removed=json.dumps(item.removed), metadata_kept=item.metadata_kept,
            original_id=item.original_id, key_version=key_version, created_at=hour,
        )
        for item in prepared
    ]


@contextmanager
def files_written(
    prepared: Sequence[PreparedAttachment], *, store: AttachmentStore | None, data_key: bytes,
    key_version: int = 1,
) -> Iterator[None]:
    """Write the encrypted files, then run the block (the transaction); if it fails, delete them again."""
    if prepared and store is None:
        raise ValueError("attachments need a store")
    written: list[PreparedAttachment] = []
    try:
        for item in prepared:
            assert store is not None
            store_attachment(item, store=store, data_key=data_key, key_version=key_version)
            written.append(item)
        yield
    except BaseException:
        for item in written:
            assert store is not None
            store.delete(item.id)
            if item.original_id:
                store.delete(item.original_id)
        if written:
            log.info("deleted %d attachment files of a failed transaction", len(written))
        raise


def _ordered(session: Session, report_id: str) -> list[Attachment]:
    query = select(Attachment).where(Attachment.report_id == report_id)
    return list(session.scalars(query.order_by(Attachment.created_at, Attachment.id)))


def number_of(session: Session, report_id: str, attachment_id: str) -> int:
    """Return the position (from 1) of an attachment among its case's attachments, oldest first."""
    ids = [row.id for row in _ordered(session, report_id)]
    return ids.index(attachment_id) + 1


def list_attachments(session: Session, report_id: str, data_key: bytes) -> list[AttachmentView]:
    """Return a case's attachments decrypted for the list; raise CiphertextInvalid on tampering."""
    views = []
    for number, row in enumerate(_ordered(session, report_id), start=1):
        views.append(AttachmentView(
            id=row.id, number=number, kind=row.kind,
            name=vault.open_attachment_name(data_key, row.id, row.name_ct),
            original_sha256=vault.open_attachment_digest(data_key, row.id, row.original_sha256_ct),
            removed=list(json.loads(row.removed or "[]")), metadata_kept=row.metadata_kept,
            has_original=row.original_id is not None, entry_id=row.entry_id,
        ))
    return views


def download_name(report_id: str, number: int, kind: str, *, original: bool = False) -> str:
    """Return the server-chosen name a download is saved under: case-<8>-<n>[-original].<ext>."""
    suffix = "-original" if original else ""
    return f"case-{report_id[:8]}-{number}{suffix}{KINDS[kind].extension}"


def known_file_ids(session: Session) -> list[str]:
    """Return the store ids every attachment row accounts for (scrubbed copies and kept originals)."""
    ids: list[str] = []
    for attachment_id, original_id in session.execute(select(Attachment.id, Attachment.original_id)):
        ids.append(attachment_id)
        if original_id:
            ids.append(original_id)
    return ids


def check_store(session: Session, store: AttachmentStore) -> Orphans:
    """Compare rows and files: rows whose file is missing, and files (or leftovers) no row accounts for."""
    return store.orphans(known_file_ids(session))


def _accounted_ids(session: Session) -> set[str]:
    """Return every store id a row accounts for: attachments, kept originals and the purge's list.

    One statement, so one snapshot even under READ COMMITTED: a purge moves an id from the attachment
    rows to its list in one transaction, and two queries could fall on either side of its commit.
    """
    originals = select(Attachment.original_id).where(Attachment.original_id.is_not(None))
    query: CompoundSelect[tuple[str]] = union(select(Attachment.id), originals, select(PurgedFile.store_id))
    return {str(store_id) for store_id in session.scalars(query)}


def discard_orphans(session: Session, store: AttachmentStore, *, written_before: float) -> list[str]:
    """Remove the files no row accounts for that were written before `written_before`; return their ids.

    Such a file belongs to a submission killed between writing its files and committing: its data key
    was never committed, so nothing can ever read it. A younger file may belong to an upload whose
    transaction has not committed yet, and is left alone. A file on the purge's list is left to the
    purge, which removes it and counts it. The store is listed before the rows are read, so a row
    committed before that read always protects its file.
    """
    old = store.written_before(written_before)
    orphans = sorted(old - _accounted_ids(session))
    session.rollback()
    removed = [store_id for store_id in orphans if store.delete(store_id)]
    if removed:
        log.info("removed %d attachment files without rows", len(removed))
    return removed
