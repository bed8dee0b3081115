"""Campaigns: cases staff link by hand as one coordinated attack, under a sealed name.

A campaign's name may name a perpetrator, so it is never stored in plaintext: it is encrypted under a
random key of the campaign's own, and that key is sealed (HPKE) to each person who may read the name
and to the escrow key, one `CampaignSeal` per recipient. Which cases belong to a campaign is plaintext
(`CampaignCase`), as is the region; both rows carry a MAC under the directory key, so a row an insider
copies or writes links nothing (reporter.cases.campaigns).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from reporter.models.base import Base


class Campaign(Base):
    """A named group of cases, made by a focal point or coordinator of a region."""

    __tablename__ = "campaigns"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: The country of the person who made it: its coordinators receive the name and list it.
    region: Mapped[str] = mapped_column(String(2), index=True)
    #: The name, AES-256-GCM under the campaign key, bound to ``campaigns.name_ct:<id>``.
    name_ct: Mapped[bytes] = mapped_column(LargeBinary)
    created_by: Mapped[str] = mapped_column(String(32))
    #: To the hour.
    created_at: Mapped[datetime] = mapped_column(DateTime)
    #: MAC under the directory key over id, region, creator and time (reporter.cases.campaigns).
    record_mac: Mapped[bytes] = mapped_column(LargeBinary)


class CampaignCase(Base):
    """One case in one campaign; counted only while its MAC binds the campaign and the case."""

    __tablename__ = "campaign_cases"
    __table_args__ = (Index("ix_campaign_cases_report", "report_id", "campaign_id"),)

    campaign_id: Mapped[str] = mapped_column(String(32), ForeignKey("campaigns.id", ondelete="CASCADE"),
                                             primary_key=True)
    report_id: Mapped[str] = mapped_column(String(32), ForeignKey("reports.id", ondelete="CASCADE"),
                                           primary_key=True)
    added_by: Mapped[str] = mapped_column(String(32))
    #: To the hour.
    added_at: Mapped[datetime] = mapped_column(DateTime)
    record_mac: Mapped[bytes] = mapped_column(LargeBinary)


class CampaignSeal(Base):
    """A campaign key sealed to one recipient: a staff member or the escrow key."""

    __tablename__ = "campaign_seals"
    __table_args__ = (Index("ix_campaign_seals_recipient", "recipient_kind", "recipient_id"),)

    campaign_id: Mapped[str] = mapped_column(String(32), ForeignKey("campaigns.id", ondelete="CASCADE"),
                                             primary_key=True)
    #: "staff" or "escrow", as for case seals.
    recipient_kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    recipient_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    suite: Mapped[str] = mapped_column(String(64))
    key_version: Mapped[int] = mapped_column(Integer)
    sealed_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime)
