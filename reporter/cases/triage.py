"""Triage: the status and risk of a case, the structured risk assessment, deadlines and escalation.

Every status change of a case, wherever it comes from (an officer's triage, a referral), goes through
`set_status` and the transition table below, so one rule decides what may follow what. Each action
opens the case with the person's key first (`holding.unseal`), changes it, writes its audit event in
the same transaction and commits through `holding.changing`. Concurrent changes are caught by the
report's version column: the second writer gets ActionRefused("conflict") instead of silently
overwriting the first.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from reporter.audit import chain
from reporter.cases import entries, holding, notifications, recipients
from reporter.cases.holding import ActionRefused
from reporter.lifecycle import retention
from reporter.models import Report, StaffMember
from reporter.models.report import RISKS, STATUSES
from reporter.stats import recording

#: Allowed status changes. Closing is possible from every open state; a closed case can be reopened
#: for assessment only.
TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"acknowledged", "assessing", "referred", "closed"}),
    "acknowledged": frozenset({"assessing", "supporting", "referred", "closed"}),
    "assessing": frozenset({"supporting", "referred", "closed"}),
    "supporting": frozenset({"assessing", "referred", "closed"}),
    "referred": frozenset({"assessing", "supporting", "closed"}),
    "closed": frozenset({"assessing"}),
}
assert set(TRANSITIONS) == set(STATUSES)
#: In these states the case has its response; the deadline is met.
RESPONDED = frozenset({"supporting", "closed"})
#: A referral moves an open case to "referred"; a closed or already referred case keeps its status.
REFERRAL_KEEPS = frozenset({"closed", "referred"})

#: The questions of the structured risk assessment, in the order they are asked. The last five, with
#: "family_threatened" and "location_exposed", are the indicators of online violence moving offline.
RISK_QUESTIONS = ("imminent_danger", "family_threatened", "location_exposed", "coordinated_campaign",
                  "state_actor", "repeat_incident", "calls_to_act", "followed_offline", "doxxing",
                  "cross_platform", "volume_surge")
#: Each of these alone makes a case escalating: a threat naming the home, location or family, calls on
#: others to act against the person, surveillance or following offline.
STRONG_INDICATORS = frozenset({"family_threatened", "location_exposed", "calls_to_act", "followed_offline"})
#: Two of these together make a case escalating: personal data published, the same attacker on several
#: platforms, a sudden rise in volume.
OTHER_INDICATORS = frozenset({"doxxing", "cross_platform", "volume_surge"})
#: Why a case is escalating: its assessment met the indicators, or the reporter told of a new incident.
ESCALATION_REASONS = ("indicators", "new_incident")
#: The lowest risk an escalating case has.
ESCALATED_RISK = "high"
#: Why staff mark a case no longer escalating: a code, never free text, so the audit detail holds no content.
CLEAR_REASONS = ("threat_passed", "reassessed", "flagged_by_mistake")
_WEIGHTS = {"family_threatened": 2, "location_exposed": 2, "state_actor": 2, "coordinated_campaign": 1,
            "repeat_incident": 1}


def risk_level(answers: Mapping[str, bool]) -> str:
    """Return the risk level the assessment answers give.

    Imminent physical danger is always critical. Otherwise threats to family, an exposed home address
    or location and state involvement weigh 2, a coordinated campaign and a repeat incident 1:
    4 or more is high, 2 or 3 medium, less low.
    """
    if answers.get("imminent_danger"):
        return "critical"
    score = sum(weight for name, weight in _WEIGHTS.items() if answers.get(name))
    return "high" if score >= 4 else "medium" if score >= 2 else "low"


def escalation_indicated(answers: Mapping[str, bool]) -> bool:
    """Return whether the answers meet the escalation indicators of online-to-offline harm.

    The indicators follow published monitoring guidance for online violence. The rule: any one of
    STRONG_INDICATORS (each names a way the harm reaches the person offline), or two or more of
    OTHER_INDICATORS (each alone is common online; together they mark a campaign growing).
    """
    strong = any(answers.get(name) for name in STRONG_INDICATORS)
    return strong or sum(bool(answers.get(name)) for name in OTHER_INDICATORS) >= 2


def deadline_for(risk: str, now: datetime, hours: Mapping[str, int]) -> datetime:
    """Return the response deadline of a case whose risk is `risk`, assessed at `now`."""
    return now + timedelta(hours=hours[risk])


def _coordinators_holding(session: Session, report: Report) -> list[str]:
    """Return the coordinators of the case's region who hold it, or every holder when none does."""
    coordinators = [p.id for p in recipients.coordinators_for(session, report.country)]
    held = holding.holders(session, report.id)
    return [c for c in coordinators if c in held] or list(held)


def flag_escalating(session: Session, report: Report, reason: str, *, actor: chain.Actor, now: datetime,
                    hours: Mapping[str, int]) -> None:
    """Mark the case escalating, in the caller's transaction: audited, and the coordinators are told.

    The risk is raised to at least ESCALATED_RISK (never lowered), the deadline counts again from `now`
    with that risk (an answered case keeps having none), and the notification says only "a case is
    waiting", like every other.
    """
    if reason not in ESCALATION_REASONS:
        raise ValueError(f"unknown escalation reason {reason!r}")
    before = report.risk
    if RISKS.index(report.risk) < RISKS.index(ESCALATED_RISK):
        report.risk = ESCALATED_RISK
    report.escalating = reason
    if report.status not in RESPONDED:
        report.deadline_at, report.escalated_at = deadline_for(report.risk, now, hours), None
    notifications.enqueue(session, _coordinators_holding(session, report), reason="escalating", now=now)
    chain.record(session, actor=actor, action="case.escalating", object_type="report", object_id=report.id,
                 detail={"reason": reason, "from": before, "to": report.risk}, at=now)


def clear_escalating(
    session: Session, report_id: str, *, person: StaffMember, private_key: bytes, reason: str,
    expected_version: int | None, now: datetime,
) -> None:
    """Mark a case no longer escalating, for one of CLEAR_REASONS; audited; commit.

    The risk and deadline stay as they are: lowering them is a triage decision of its own.
    """
    with holding.changing(session):
        report, _ = holding.unseal(session, report_id, person, private_key)
        _check_version(report, expected_version)
        if reason not in CLEAR_REASONS:
            raise ActionRefused("clear_reason")
        if report.escalating is None:
            raise ActionRefused("not_escalating")
        report.escalating = None
        chain.record(session, actor=chain.Actor.of(person), action="case.escalation_cleared",
                     object_type="report", object_id=report.id, detail={"reason": reason}, at=now)


def _check_version(report: Report, expected_version: int | None) -> None:
    if expected_version is not None and report.version != expected_version:
        raise ActionRefused("conflict")


def set_status(session: Session, report: Report, status: str, *, person: StaffMember, now: datetime,
               hours: Mapping[str, int] | None = None) -> None:
    """Move a case to `status` if the transition table allows it; audited. Deadlines follow the status.

    Without `hours` the deadline is left as it is (a referral does not restart the clock).
    """
    if status not in STATUSES:
        raise ActionRefused("status")
    if status == report.status:
        return
    if status not in TRANSITIONS[report.status]:
        raise ActionRefused("transition")
    before, report.status = report.status, status
    recording.note_acknowledged(report, now)
    if hours is not None:
        if status in RESPONDED:
            report.deadline_at = None
        elif report.deadline_at is None:
            report.deadline_at = deadline_for(report.risk, now, hours)
        report.closed_at = now if status == "closed" else None
        if status == "closed":  # closing starts the retention clock; reopening stops it
            retention.start_clock(session, report, now)
        else:
            retention.stop_clock(report)
        report.escalated_at = None if status in RESPONDED else report.escalated_at
    chain.record(session, actor=chain.Actor.of(person), action="case.status_changed", object_type="report",
                 object_id=report.id, detail={"from": before, "to": status}, at=now)


def _set_risk(session: Session, report: Report, risk: str, *, person: StaffMember, now: datetime,
              hours: Mapping[str, int], action: str = "case.risk_changed") -> None:
    if risk not in RISKS:
        raise ActionRefused("risk")
    if risk == report.risk and action == "case.risk_changed":
        return
    before, report.risk = report.risk, risk
    recording.note_assessed(report, risk, now)
    if report.status not in RESPONDED:
        report.deadline_at, report.escalated_at = deadline_for(risk, now, hours), None
    chain.record(session, actor=chain.Actor.of(person), action=action, object_type="report",
                 object_id=report.id, detail={"from": before, "to": risk}, at=now)


def triage(
    session: Session, report_id: str, *, person: StaffMember, private_key: bytes, status: str | None,
    risk: str | None, expected_version: int | None, now: datetime, hours: Mapping[str, int],
) -> Report:
    """Change the status and/or the risk level of a case in one transaction; commit."""
    with holding.changing(session):
        report, _ = holding.unseal(session, report_id, person, private_key)
        _check_version(report, expected_version)
        if status is not None and status not in STATUSES:
            raise ActionRefused("status")
        if risk is not None and risk not in RISKS:
            raise ActionRefused("risk")
        if status is not None:
            set_status(session, report, status, person=person, now=now, hours=hours)
        if risk is not None:
            _set_risk(session, report, risk, person=person, now=now, hours=hours)
    return report


def assess(
    session: Session, report_id: str, *, person: StaffMember, private_key: bytes, answers: Mapping[str, bool],
    expected_version: int | None, now: datetime, hours: Mapping[str, int],
) -> str:
    """Record a structured risk assessment (answers sealed as an entry) and set the level it gives.

    Answers that meet the escalation indicators also flag the case escalating (flag_escalating), which
    may raise the level further; the level the case ends with is returned.
    """
    with holding.changing(session):
        report, data_key = holding.unseal(session, report_id, person, private_key)
        _check_version(report, expected_version)
        given = {name: bool(answers.get(name)) for name in RISK_QUESTIONS}
        level = risk_level(given)
        answered = json.dumps(given, sort_keys=True)
        entries.add_entry(session, report, data_key, "assessment", answered, person, now)
        _set_risk(session, report, level, person=person, now=now, hours=hours, action="case.assessed")
        if escalation_indicated(given):
            flag_escalating(session, report, "indicators", actor=chain.Actor.of(person), now=now, hours=hours)
        final = report.risk
    return final


def escalate_overdue(session: Session, *, now: datetime) -> list[str]:
    """Escalate every open case past its deadline, once per deadline: the coordinators are notified.

    The overdue cases are locked up front (PostgreSQL): the audit chain's head is locked by the first
    escalation, and locking each case only when it is flushed would deadlock with an officer who
    changed a later case and now waits for the chain.
    """
    with holding.changing(session):
        overdue = list(session.scalars(select(Report).where(
            Report.deadline_at < now, Report.escalated_at.is_(None), Report.status.not_in(tuple(RESPONDED)))
            .order_by(Report.id).with_for_update()))
        for report in overdue:
            report.escalated_at = now
            notifications.enqueue(session, _coordinators_holding(session, report), reason="overdue", now=now)
            chain.record(session, actor=chain.SYSTEM, action="case.escalated", object_type="report",
                         object_id=report.id,
                         detail={"deadline": report.deadline_at.isoformat() if report.deadline_at else None},
                         at=now)
    return [r.id for r in overdue]
