"""A report: plaintext metadata for routing and queues, every sensitive field as ciphertext."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, Integer, LargeBinary, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reporter.models.base import Base, new_id

STATUSES = ("new", "acknowledged", "assessing", "supporting", "referred", "closed")
RISKS = ("unknown", "low", "medium", "high", "critical")
INCIDENT_KINDS = ("online", "offline", "both")
CATEGORIES = (
    "threat",
    "hate_speech",
    "smear_campaign",
    "doxxing",
    "stalking",
    "sexual_harassment",
    "account_compromise",
    "surveillance",
    "physical_attack",
    "legal_harassment",
    "property_damage",
    "other",
)
#: Fields that exist only as ciphertext, each in its own column.
#: ``excluded`` names the focal point the reporter asked to keep away from the case (conflict of interest).
#: ``online_details`` holds the structured online-incident rows (platform, account, links, time) as JSON.
SEALED_FIELDS = ("description", "perpetrator", "contact", "occurred_on", "submitted_at", "excluded",
                 "online_details")


class Report(Base):
    """One report. Columns ending in ``_ct`` hold AES-256-GCM ciphertext under the report's data key."""

    __tablename__ = "reports"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    #: HMAC of the receipt under the instance receipt key; the receipt itself is never stored.
    receipt_lookup: Mapped[str] = mapped_column(String(64), unique=True)
    #: Version of the receipt lookup key that made receipt_lookup (see reporter.lifecycle.keyfiles).
    receipt_key_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1", index=True)
    #: Submission time rounded down to the hour; the exact time is sealed in submitted_at_ct.
    created_hour: Mapped[datetime] = mapped_column(DateTime, index=True)
    country: Mapped[str] = mapped_column(String(2), index=True)
    incident_kind: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32), index=True)
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="new", index=True)
    risk: Mapped[str] = mapped_column(String(16), default="unknown")
    deadline_at: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    #: When an overdue case was escalated to the coordinators (once per deadline).
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime)
    retention_until: Mapped[datetime | None] = mapped_column(DateTime, index=True)
    #: When a coordinator extended the retention date (once per case; the reason is a sealed note).
    retention_extended_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: The day the case's content was crypto-shredded (reporter.lifecycle.purge): a tombstone since then.
    purged_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: Version of the data key that encrypts the fields; it is part of every field's associated data.
    key_version: Mapped[int] = mapped_column(Integer, default=1)
    #: Set when the last staff member holding the case was offboarded: routing must find it a new one.
    needs_routing: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), index=True)
    #: Submitted beyond the per-client threshold of REPORTER_SUBMIT_FLOOD_LIMIT: kept, but with no deadline
    #: and no notification of its own, and marked in the queue, so a flood cannot bury real cases.
    possible_flood: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: Why the case is escalating from online to offline harm ("indicators" met at assessment, or a
    #: "new_incident" the reporter told at follow-up); NULL when it is not. Plaintext like risk, so
    #: queues filter on it; the answers and the reporter's words stay sealed.
    escalating: Mapped[str | None] = mapped_column(String(16), index=True)
    #: HMAC under the instance directory key over the case's entry chain (count and last link): a
    #: deleted, reordered, re-authored or back-dated note or message no longer matches it.
    entries_mac: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: The reporter ticked "my report may be counted in anonymous statistics" (off by default).
    stats_consent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: The reporter's choice that a partner organisation may receive the case (off by default), for
    #: display only: what counts is `consent_mac` (reporter.intake.consent), under the directory key
    #: over the report id, the choice and `consent_counter`, the number of times it was recorded.
    referral_consent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    consent_counter: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    consent_mac: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: Coarse plaintext for statistics (reporter.stats), set only for consenting reports, else NULL:
    #: the online platforms named (sorted codes, comma-separated), the risk level of the first
    #: assessment, and whole hours from the submission hour to the first acknowledgement and to the
    #: first assessment (both times rounded down to the hour first).
    stats_platforms: Mapped[str | None] = mapped_column(String(200))
    stats_first_risk: Mapped[str | None] = mapped_column(String(16))
    stats_ack_hours: Mapped[int | None] = mapped_column(Integer)
    stats_assess_hours: Mapped[int | None] = mapped_column(Integer)
    #: The staff member who entered the report for someone who called or came in person (NULL when the
    #: reporter sent it). Shown on the case and in the queue; it grants nothing (who may read a case is
    #: only ever its seals), and the audit event report.entered_by_staff records the same fact in the
    #: hash chain, so it is plaintext without a MAC.
    entered_by: Mapped[str | None] = mapped_column(String(32))
    #: Optimistic lock: an update that lost a race fails instead of overwriting.
    version: Mapped[int] = mapped_column(Integer, default=1)

    description_ct: Mapped[bytes] = mapped_column(LargeBinary)
    perpetrator_ct: Mapped[bytes] = mapped_column(LargeBinary)
    contact_ct: Mapped[bytes] = mapped_column(LargeBinary)
    occurred_on_ct: Mapped[bytes] = mapped_column(LargeBinary)
    submitted_at_ct: Mapped[bytes] = mapped_column(LargeBinary)
    excluded_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    online_details_ct: Mapped[bytes | None] = mapped_column(LargeBinary)

    seals = relationship("Seal", back_populates="report", cascade="all, delete-orphan", passive_deletes=True)

    __mapper_args__ = {"version_id_col": version}


#: The queue's order (most urgent deadline first, none last): walking this index and probing the
#: person's seals finds a first page without fetching and sorting every case they hold.
Index("ix_reports_queue_order", Report.deadline_at.is_(None), Report.deadline_at, Report.created_hour.desc(),
      Report.id)
#: Statistics (reporter.stats.aggregates) read a closed period's rows from this index alone: a range of
#: submission hours, and every column the aggregates group or count, without fetching the table's rows.
Index("ix_reports_statistics", Report.created_hour, Report.country, Report.category, Report.incident_kind,
      Report.status, Report.stats_consent, Report.possible_flood, Report.stats_first_risk,
      Report.stats_platforms, Report.stats_ack_hours, Report.stats_assess_hours)
#: A coordinator's most linked accounts (reporter.cases.linking.most_linked) find their region's live
#: reports in this index alone, without fetching the reports' rows.
Index("ix_reports_country_live", Report.country, Report.purged_at, Report.id)
