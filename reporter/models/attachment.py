"""Files that came with a report or a follow-up message: a row here, the encrypted file in the store."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from reporter.models.base import Base, new_id, utcnow


class Attachment(Base):
    """One scrubbed file. Its content lives in the attachment store under `id`, encrypted with the case's
    data key; nothing in this row tells an outsider what the file shows."""

    __tablename__ = "attachments"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    report_id: Mapped[str] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    #: The reporter's follow-up message the file came with; None for files sent with the report.
    #: Indexed: deleting entries (a purge) looks up the files that point to each one.
    entry_id: Mapped[str | None] = mapped_column(ForeignKey("case_entries.id", ondelete="CASCADE"),
                                                 index=True)
    #: What sniffing recognised (`reporter.file_kinds.KINDS`): jpeg, png, pdf, text, mp3, ...
    kind: Mapped[str] = mapped_column(String(16))
    #: The size bucket the scrubbed copy is padded to (`chunks.padded_chunk_count`), never the exact size.
    size_bucket: Mapped[int] = mapped_column(Integer)
    #: SHA-256 of the untouched upload, AES-256-GCM under the data key bound to this row: in plaintext,
    #: someone holding the database and a candidate photo could confirm that it was reported.
    original_sha256_ct: Mapped[bytes] = mapped_column(LargeBinary)
    #: The display-safe file name the reporter's browser sent, sealed (never used as a path).
    name_ct: Mapped[bytes] = mapped_column(LargeBinary)
    #: What scrubbing removed, as a comma-separated list of codes (exif, gps, xmp, ...): no content.
    removed: Mapped[str] = mapped_column(Text, default="")
    #: True when some metadata could not be removed (the reporter was told).
    metadata_kept: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Store id of the untouched original, kept sealed only when the reporter chose so.
    original_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    key_version: Mapped[int] = mapped_column(Integer, default=1)
