"""Partner organisations a case may be referred to, and the record of each referral (an export)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from reporter.models.base import Base, new_id

PARTNER_STATES = ("active", "retired")


class Partner(Base):
    """A partner organisation and its public key (reporter.cases.partners).

    Usable only when confirmed by a second coordinator, active, and when `record_mac` (directory key,
    over every column here) verifies: a key swapped in the database is never sealed to.
    """

    __tablename__ = "partners"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    #: The name reporters are shown when their case is referred to the organisation.
    public_name: Mapped[str] = mapped_column(String(120))
    suite: Mapped[str] = mapped_column(String(64))
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    fingerprint: Mapped[str] = mapped_column(String(64))
    registered_by: Mapped[str] = mapped_column(String(32))
    registered_at: Mapped[datetime] = mapped_column(DateTime)
    confirmed_by: Mapped[str | None] = mapped_column(String(32))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime)
    state: Mapped[str] = mapped_column(String(16), default="active")
    record_mac: Mapped[bytes] = mapped_column(LargeBinary)


class PartnerReferral(Base):
    """One export of a case to a partner; `id` is the export id written in the file's header."""

    __tablename__ = "partner_referrals"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    report_id: Mapped[str] = mapped_column(String(32), ForeignKey("reports.id", ondelete="CASCADE"),
                                           index=True)
    partner_id: Mapped[str] = mapped_column(String(32), ForeignKey("partners.id"))
    #: To the hour: the reporter is told the day, and no stored time is finer.
    created_hour: Mapped[datetime] = mapped_column(DateTime)
    created_by: Mapped[str] = mapped_column(String(32))
    record_mac: Mapped[bytes] = mapped_column(LargeBinary)
