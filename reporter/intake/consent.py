"""Consent per purpose: handling the case, anonymous statistics, referral to a partner organisation.

Sending the report form is consent to handling: the form says so and asks for it, and a report
cannot exist without it. Statistics consent is `Report.stats_consent`. Referral consent decides
whether a holder may export the case to a partner, so the database alone must not grant it: the
choice counts only with `consent_mac`, HMAC-SHA256 under the directory key (which the database
never holds) over the report id, handling, the choice and `consent_counter`. Only the intake and the
reporter's follow-up, where the reporter is the one acting, make that MAC. A flipped flag, a MAC
copied from another report or a forged counter is read as "no consent".

A limit: someone who writes to the database and kept an earlier (choice, counter, MAC) of the same
report can put it back, replaying a "yes" the reporter later withdrew. Every change is an audit event
(`followup.referral_consent_changed` with the counter), so an auditor can see the replay afterwards.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.orm import Session

from reporter import directory, unlock
from reporter.audit import chain
from reporter.crypto.records import RecordKeys
from reporter.intake import followup
from reporter.models import Report

_encode = json.JSONEncoder(ensure_ascii=True, separators=(",", ":")).encode


def message(report_id: str, referral: bool, counter: int) -> bytes:
    """Return the message a report's consent MAC covers."""
    return _encode(["reporter/consent/v1", report_id, {"handling": True, "referral": bool(referral)},
                    int(counter)]).encode()


def stamp(report: Report, keys: RecordKeys, *, referral: bool) -> None:
    """Record the reporter's referral choice on the report, with the next counter and its MAC."""
    report.referral_consent = bool(referral)
    report.consent_counter = (report.consent_counter or 0) + 1
    report.consent_mac = keys.mac(message(report.id, report.referral_consent, report.consent_counter))


def referral_allowed(session: Session, report: Report) -> bool:
    """Tell whether the reporter's authentic choice allows a referral; a forged one is noted, never used."""
    if report.consent_mac is None:
        return False  # submitted before consent was recorded: never asked
    recorded = message(report.id, report.referral_consent, report.consent_counter)
    if not directory.keys_of(session).verify(recorded, report.consent_mac):
        directory.note_failure(session, "consent", report.id)
        return False
    return bool(report.referral_consent)


def change_by_reporter(session: Session, report: Report, *, referral: bool) -> None:
    """Record the reporter's new referral choice at follow-up and its audit event; commit."""
    stamp(report, directory.keys_of(session), referral=referral)
    chain.record(session, actor=chain.REPORTER, action="followup.referral_consent_changed",
                 object_type="report", object_id=report.id,
                 detail={"referral": report.referral_consent, "counter": report.consent_counter})
    session.commit()


def change_at_followup(session: Session, ticket: unlock.Ticket, *, referral: bool, now: datetime) -> None:
    """Record the reporter's referral choice for the case their ticket opens; raise SessionExpired."""
    report_id, _data_key = unlock.read_session(session, ticket, kind=followup.KIND, now=now)
    report = session.get(Report, report_id)
    if report is None:
        raise unlock.SessionExpired()
    change_by_reporter(session, report, referral=referral)
