"""Blind indexes of the accounts and links a report names: how cases are linked without decryption."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from reporter.models.base import Base


class AccountLink(Base):
    """One account handle or profile URL of one report, as a keyed blind index (reporter.cases.linking).

    No handle is stored: `blind_index` is an HMAC-SHA256 under the instance linking key, which the
    database never holds, so rows with the same index name the same account on the same platform and
    nothing else. `record_mac` binds the row to its report under the directory key, so a row copied to
    another report by someone writing to the database links nothing.
    """

    __tablename__ = "account_links"
    #: The second index lets a region's rows of a quarter be grouped by index without fetching the rows.
    __table_args__ = (Index("ix_account_links_blind_index", "blind_index", "report_id"),
                      Index("ix_account_links_report_created", "report_id", "created_at", "blind_index"))

    report_id: Mapped[str] = mapped_column(String(32), ForeignKey("reports.id", ondelete="CASCADE"),
                                           primary_key=True)
    platform: Mapped[str] = mapped_column(String(16), primary_key=True)
    #: "account" (a handle or profile address typed as the account) or "url" (a link to a post).
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    blind_index: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: The version of the linking key that made the index (indexes of different versions never match).
    key_version: Mapped[int] = mapped_column(Integer)
    #: To the hour, like every stored time of a reporter's action.
    created_at: Mapped[datetime] = mapped_column(DateTime)
    record_mac: Mapped[bytes] = mapped_column(LargeBinary)
