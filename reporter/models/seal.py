"""A seal: a report's data key, encrypted to one recipient. One row per recipient."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reporter.models.base import Base, utcnow

#: Who can open a seal: the escrow key (offline), the reporter (receipt), or a staff member (later).
RECIPIENT_KINDS = ("escrow", "reporter", "staff")
#: Suite of the reporter's seal: HKDF-SHA256(receipt, salt) as the key of AES-256-GCM.
RECEIPT_SUITE = "RECEIPT-HKDF_SHA256-AES_256_GCM"


class Seal(Base):
    """A data key sealed to a recipient: HPKE for key holders, receipt-derived AES-GCM for reporters."""

    __tablename__ = "seals"
    __table_args__ = (UniqueConstraint("report_id", "recipient_kind", "recipient_id"),
                      Index("ix_seals_recipient_report", "recipient_kind", "recipient_id", "report_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[str] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    recipient_kind: Mapped[str] = mapped_column(String(16))
    #: Staff id, the escrow key fingerprint, or "receipt" for the reporter.
    recipient_id: Mapped[str] = mapped_column(String(64), index=True)
    #: The suite that made this seal, so suites can change without touching old rows.
    suite: Mapped[str] = mapped_column(String(64))
    #: Version of the report data key inside this seal.
    key_version: Mapped[int] = mapped_column(Integer)
    #: Per-report salt of the reporter's seal (empty for HPKE seals).
    salt: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    sealed_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    report = relationship("Report", back_populates="seals")
