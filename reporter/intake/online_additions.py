"""The reporter adds one online detail at follow-up: sealed with the report, indexed for linking.

The new row joins the report's sealed `online_details` field: the report's fields are opened with the
data key of the reporter's unlocked session, the row appended, and every field sealed again under the
same key (fresh nonces). The report's version column makes a concurrent change lose cleanly
(ActionRefused("conflict")). In the same transaction the account and links of the row that the report
did not name yet get their keyed blind indexes (reporter.cases.linking), the statistics rows of a
consenting report are written again, the holders are notified as for a message, and a content-free
audit event names only the new row's position.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from reporter import directory, unlock, vault
from reporter.audit import chain
from reporter.cases import holding, linking, notifications
from reporter.cases.holding import ActionRefused
from reporter.crypto import CiphertextInvalid
from reporter.intake import followup
from reporter.intake.online_details import MAX_ROWS, OnlineDetail, from_json, to_json
from reporter.keyring import LINKING, Keyring
from reporter.lifecycle import retention
from reporter.models import Report
from reporter.models.base import to_the_hour
from reporter.models.report import SEALED_FIELDS
from reporter.stats import recording, responses

ACTION = "followup.online_detail_added"


def new_only(known: list[OnlineDetail], detail: OnlineDetail) -> OnlineDetail:
    """Return the row with the account and links the report already names left out (indexed before)."""
    seen = linking.entries_of(known)

    def fresh(value: str) -> bool:
        return (detail.platform, linking.kind_of(value), value) not in seen

    account = detail.account if detail.account and fresh(detail.account) else ""
    return OnlineDetail(detail.platform, account, tuple(link for link in detail.links if fresh(link)))


def _merge(session: Session, report: Report, data_key: bytes, fields: dict[str, str], detail: OnlineDetail,
           keyring: Keyring, now: datetime) -> int:
    """Append the row, seal the fields again and index what is new; return the row's position. No commit."""
    details = from_json(fields.get("online_details", ""))
    if len(details) >= MAX_ROWS:
        raise ActionRefused("too_many")
    merged = [*details, detail]
    sealed = {name: value for name, value in fields.items() if name in SEALED_FIELDS}
    vault.seal_report_fields(report, data_key, {**sealed, "online_details": to_json(merged)})
    report.stats_platforms = recording.platforms_column((d.platform for d in merged),
                                                        consent=bool(report.stats_consent))
    responses.replace(session, report, merged)
    linking.record(session, report.id, [new_only(details, detail)], linking_key=keyring.linking_key,
                   key_version=keyring.version(LINKING), keys=directory.keys_of(session),
                   created_at=to_the_hour(now))
    return len(details)


def add_by_reporter(session: Session, ticket: unlock.Ticket, detail: OnlineDetail, *, keyring: Keyring,
                    now: datetime) -> int:
    """Add one online detail the reporter gives at follow-up; index, notify, audit; commit.

    Returns the new row's position. Raises unlock.SessionExpired when the reporter's unlocked session is
    over, ActionRefused("too_many") when the report already has MAX_ROWS details and
    ActionRefused("conflict") when another change of the case won the race (nothing is stored then).
    """
    report, data_key = followup._unlocked(ticket, session, now)
    try:
        fields = vault.open_report_fields(report, data_key)
    except CiphertextInvalid:
        raise holding.integrity_failure(session, report.id, None, "content") from None
    with holding.changing(session):
        position = _merge(session, report, data_key, fields, detail, keyring, now)
        retention.restart_on_reporter_activity(session, report, now)  # a closed case is kept longer
        chain.record(session, actor=chain.REPORTER, action=ACTION, object_type="report", object_id=report.id,
                     detail={"row": position}, at=now)
        notifications.enqueue(session, holding.holders(session, report.id), reason="message", now=now)
    return position
