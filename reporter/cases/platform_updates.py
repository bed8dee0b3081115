"""Recording what a platform did about one online detail of a case, by a holder or by the reporter.

The response is sealed inside the report's `online_details` field, so a change opens the report's
fields with the case's data key, replaces the one row's response and seals every field again (fresh
nonces, same key). The statistics rows of a consenting report are written again in the same
transaction (reporter.stats.responses). The audit event names the row, never what was said.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy.orm import Session

from reporter import unlock, vault
from reporter.audit import chain
from reporter.cases import holding
from reporter.cases.holding import ActionRefused
from reporter.crypto import CiphertextInvalid
from reporter.intake import followup, online_details
from reporter.intake.platform_reports import PlatformResponse
from reporter.models import Report, StaffMember
from reporter.models.report import SEALED_FIELDS
from reporter.stats import responses

STAFF_ACTION = "case.platform_response_recorded"
REPORTER_ACTION = "followup.platform_response_recorded"


def apply(session: Session, report: Report, data_key: bytes, fields: dict[str, str], position: int,
          response: PlatformResponse) -> None:
    """Replace the response of row `position` and seal the report's fields again; no commit.

    A row that does not exist (the form was made from another version of the case) is
    ActionRefused("version").
    """
    details = online_details.from_json(fields.get("online_details", ""))
    if not 0 <= position < len(details):
        raise ActionRefused("version")
    details[position] = dataclasses.replace(details[position], response=response)
    sealed = {name: value for name, value in fields.items() if name in SEALED_FIELDS}
    vault.seal_report_fields(report, data_key, {**sealed, "online_details": online_details.to_json(details)})
    responses.replace(session, report, details)


def record_by_holder(
    session: Session, report_id: str, *, person: StaffMember, private_key: bytes, position: int,
    response: PlatformResponse, now: datetime,
) -> None:
    """Record the platform's response for one online detail of a held case; audit it; commit."""
    with holding.changing(session):
        report, data_key = holding.unseal(session, report_id, person, private_key)
        fields = holding.open_fields(session, report, data_key, person=person)
        apply(session, report, data_key, fields, position, response)
        chain.record(session, actor=chain.Actor.of(person), action=STAFF_ACTION, object_type="report",
                     object_id=report.id, detail={"row": position}, at=now)


def record_by_reporter(session: Session, ticket: unlock.Ticket, *, position: int, response: PlatformResponse,
                       now: datetime) -> None:
    """Record the platform's response the reporter gives at follow-up; audit it; commit.

    Raises unlock.SessionExpired when the reporter's unlocked session is over.
    """
    report, data_key = followup._unlocked(ticket, session, now)
    try:
        fields = vault.open_report_fields(report, data_key)
    except CiphertextInvalid:
        raise holding.integrity_failure(session, report.id, None, "content") from None
    with holding.changing(session):
        apply(session, report, data_key, fields, position, response)
        chain.record(session, actor=chain.REPORTER, action=REPORTER_ACTION, object_type="report",
                     object_id=report.id, detail={"row": position})
