"""Working on a case: open it, change status and risk, assess, note, message, refer, escalate.

Every action is one function that checks the person holds a seal of the case (and opens it: the
key is the proof, not only the check), changes the case, writes its audit event in the same
transaction and commits. A case the person holds no seal for is CaseNotFound, exactly as one that
does not exist. Concurrent changes are caught by the report's version column: the second writer gets
TriageError("conflict") instead of silently overwriting the first.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import wraps
from typing import Concatenate, ParamSpec, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from reporter import vault
from reporter.audit import chain
from reporter.cases import notifications, routing
from reporter.crypto import CiphertextInvalid
from reporter.evidence import attachments
from reporter.evidence.inspection import PreparedAttachment
from reporter.evidence.store import AttachmentStore
from reporter.intake.text import clean_text, text_problem
from reporter.models import AuditEvent, CaseEntry, Report, Seal, StaffMember
from reporter.models.base import new_id
from reporter.models.report import RISKS, STATUSES

P = ParamSpec("P")
R = TypeVar("R")

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

#: The questions of the structured risk assessment, in the order they are asked.
RISK_QUESTIONS = ("imminent_danger", "family_threatened", "location_exposed", "coordinated_campaign",
                  "state_actor", "repeat_incident")
_WEIGHTS = {"family_threatened": 2, "location_exposed": 2, "state_actor": 2, "coordinated_campaign": 1,
            "repeat_incident": 1}
REFERRAL_REASONS = ("expertise", "language", "region", "workload", "conflict_of_interest", "other")
BODY_LIMIT = 10000
#: Case actions shown as the case history (views are in the audit log, not in the history).
HISTORY_ACTIONS = ("report.submitted", "case.status_changed", "case.risk_changed", "case.assessed",
                   "case.note_added", "case.message_sent", "case.reporter_message", "case.referred",
                   "case.routed", "case.escalated", "report.needs_routing")


class CaseNotFound(Exception):
    """No such case, or the person holds no seal for it (the two are never told apart)."""


class IntegrityFailure(Exception):
    """A ciphertext of the case failed authentication: it was changed, moved or corrupted."""


class TriageError(Exception):
    """An action was refused; `reason` names why in a word the interface translates."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Entry:
    """A decrypted note, message or assessment."""

    id: str
    kind: str
    author_id: str | None
    created_at: datetime
    body: str


@dataclass(frozen=True)
class OpenedCase:
    """A case as its holder sees it: the report's fields, entries and history, decrypted."""

    report: Report
    fields: dict[str, str]
    entries: list[Entry]
    history: list[AuditEvent]
    holders: list[str]
    attachments: list[attachments.AttachmentView]


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


def deadline_for(risk: str, now: datetime, hours: Mapping[str, int]) -> datetime:
    """Return the response deadline of a case whose risk is `risk`, assessed at `now`."""
    return now + timedelta(hours=hours[risk])


# Opening ------------------------------------------------------------------------------------------

def _held(session: Session, report_id: str, person: StaffMember) -> tuple[Report, Seal]:
    if person.role not in routing.HOLDER_ROLES or person.state != "active":
        raise CaseNotFound()
    row = session.execute(
        select(Report, Seal).join(Seal, Seal.report_id == Report.id).where(
            Report.id == report_id, Seal.recipient_kind == "staff", Seal.recipient_id == person.id)
    ).first()
    if row is None:
        raise CaseNotFound()
    return row[0], row[1]


def _integrity_failure(session: Session, report_id: str, person: StaffMember, what: str) -> IntegrityFailure:
    session.rollback()
    chain.record(session, actor=chain.Actor.of(person), action="case.integrity_failure", object_type="report",
                 object_id=report_id, detail={"part": what})
    session.commit()
    return IntegrityFailure(what)


def _unseal(session: Session, report_id: str, person: StaffMember, private_key: bytes) -> tuple[Report,
                                                                                                bytes]:
    report, seal = _held(session, report_id, person)
    try:
        return report, vault.open_public_key_seal(seal, private_key)
    except CiphertextInvalid:
        raise _integrity_failure(session, report_id, person, "seal") from None


def open_case_key(session: Session, report_id: str, person: StaffMember,
                  private_key: bytes) -> tuple[Report, bytes]:
    """Return a case its holder holds and its data key; the caller writes the audit event of the action."""
    return _unseal(session, report_id, person, private_key)


def integrity_failure(session: Session, report_id: str, person: StaffMember, what: str) -> IntegrityFailure:
    """Roll back, record a `case.integrity_failure` event naming the damaged part and commit; return it."""
    return _integrity_failure(session, report_id, person, what)


def record_denied(session: Session, report_id: str, person: StaffMember, action: str) -> None:
    """Write the audit event of a refused attempt to reach a case (not found or not held); commit."""
    chain.record(session, actor=chain.Actor.of(person), action="case.access_denied", object_type="report",
                 object_id=report_id, detail={"attempted": action})
    session.commit()


def _entries(session: Session, report: Report, data_key: bytes,
             kinds: Sequence[str] | None = None) -> list[Entry]:
    query = select(CaseEntry).where(CaseEntry.report_id == report.id)
    if kinds is not None:
        query = query.where(CaseEntry.kind.in_(kinds))
    opened = []
    for entry in session.scalars(query.order_by(CaseEntry.created_at, CaseEntry.id)):
        opened.append(Entry(entry.id, entry.kind, entry.author_id, entry.created_at, vault.open_entry(entry,
                                                                                                      data_key)))
    return opened


def open_case(session: Session, report_id: str, *, person: StaffMember, private_key: bytes) -> OpenedCase:
    """Decrypt a case for its holder and record the view; commit. IntegrityFailure is also audited."""
    report, data_key = _unseal(session, report_id, person, private_key)
    try:
        fields = vault.open_report_fields(report, data_key)
        entries = _entries(session, report, data_key)
        files = attachments.list_attachments(session, report.id, data_key)
    except CiphertextInvalid:
        raise _integrity_failure(session, report_id, person, "content") from None
    history = list(session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "report", AuditEvent.object_id == report.id,
        AuditEvent.action.in_(HISTORY_ACTIONS)).order_by(AuditEvent.seq)))
    holders = sorted(routing.holders(session, report.id))
    chain.record(session, actor=chain.Actor.of(person), action="case.viewed", object_type="report",
                 object_id=report.id)
    session.commit()
    return OpenedCase(report=report, fields=fields, entries=entries, history=history, holders=holders,
                      attachments=files)


# Changes ------------------------------------------------------------------------------------------

def _commit(session: Session) -> None:
    try:
        session.commit()
    except (StaleDataError, IntegrityError):
        session.rollback()
        raise TriageError("conflict") from None


Action = Callable[Concatenate[Session, P], R]


def _lost_race_is_conflict(action: Action[P, R]) -> Action[P, R]:
    """Turn a lost race into TriageError("conflict") wherever it surfaces.

    The stale UPDATE of the case (version check) or a duplicate seal is not only found at commit: the
    audit chain's head query autoflushes the session first, and on PostgreSQL that flush is where the
    second of two simultaneous writers learns it lost.
    """
    @wraps(action)
    def guarded(session: Session, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return action(session, *args, **kwargs)
        except (StaleDataError, IntegrityError):
            session.rollback()
            raise TriageError("conflict") from None

    return guarded


def _check_version(report: Report, expected_version: int | None) -> None:
    if expected_version is not None and report.version != expected_version:
        raise TriageError("conflict")


def _apply_status(session: Session, report: Report, status: str, *, person: StaffMember, now: datetime,
                  hours: Mapping[str, int]) -> None:
    if status not in STATUSES:
        raise TriageError("status")
    if status == report.status:
        return
    if status not in TRANSITIONS[report.status]:
        raise TriageError("transition")
    before, report.status = report.status, status
    if status in RESPONDED:
        report.deadline_at = None
    elif report.deadline_at is None:
        report.deadline_at = deadline_for(report.risk, now, hours)
    report.closed_at = now if status == "closed" else None
    report.escalated_at = None if status in RESPONDED else report.escalated_at
    chain.record(session, actor=chain.Actor.of(person), action="case.status_changed", object_type="report",
                 object_id=report.id, detail={"from": before, "to": status}, at=now)


def _apply_risk(session: Session, report: Report, risk: str, *, person: StaffMember, now: datetime,
                hours: Mapping[str, int], action: str = "case.risk_changed") -> None:
    if risk not in RISKS:
        raise TriageError("risk")
    if risk == report.risk and action == "case.risk_changed":
        return
    before, report.risk = report.risk, risk
    if report.status not in RESPONDED:
        report.deadline_at, report.escalated_at = deadline_for(risk, now, hours), None
    chain.record(session, actor=chain.Actor.of(person), action=action, object_type="report",
                 object_id=report.id, detail={"from": before, "to": risk}, at=now)


@_lost_race_is_conflict
def triage(
    session: Session, report_id: str, *, person: StaffMember, private_key: bytes, status: str | None,
    risk: str | None, expected_version: int | None, now: datetime, hours: Mapping[str, int],
) -> Report:
    """Change the status and/or the risk level of a case in one transaction; commit."""
    report, _ = _unseal(session, report_id, person, private_key)
    _check_version(report, expected_version)
    if status is not None and status not in STATUSES:
        raise TriageError("status")
    if risk is not None and risk not in RISKS:
        raise TriageError("risk")
    if status is not None:
        _apply_status(session, report, status, person=person, now=now, hours=hours)
    if risk is not None:
        _apply_risk(session, report, risk, person=person, now=now, hours=hours)
    _commit(session)
    return report


def _add_entry(session: Session, report: Report, data_key: bytes, kind: str, body: str, author_id: str | None,
               now: datetime) -> CaseEntry:
    entry = CaseEntry(id=new_id(), report_id=report.id, kind=kind, author_id=author_id, created_at=now,
                      key_version=report.key_version)
    vault.seal_entry(entry, data_key, body)
    session.add(entry)
    return entry


def _clean_body(body: str) -> str:
    text = clean_text(body or "")
    if not text:
        raise TriageError("empty")
    problem = text_problem(text, BODY_LIMIT)
    if problem:
        raise TriageError(problem)
    return text


@_lost_race_is_conflict
def assess(
    session: Session, report_id: str, *, person: StaffMember, private_key: bytes, answers: Mapping[str, bool],
    expected_version: int | None, now: datetime, hours: Mapping[str, int],
) -> str:
    """Record a structured risk assessment (answers sealed as an entry) and set the level it gives."""
    report, data_key = _unseal(session, report_id, person, private_key)
    _check_version(report, expected_version)
    given = {name: bool(answers.get(name)) for name in RISK_QUESTIONS}
    level = risk_level(given)
    _add_entry(session, report, data_key, "assessment", json.dumps(given, sort_keys=True), person.id, now)
    _apply_risk(session, report, level, person=person, now=now, hours=hours, action="case.assessed")
    _commit(session)
    return level


def add_note(
    session: Session, report_id: str, *, person: StaffMember, private_key: bytes, body: str, now: datetime,
) -> None:
    """Add an internal note (never shown to the reporter); commit."""
    text = _clean_body(body)
    report, data_key = _unseal(session, report_id, person, private_key)
    entry = _add_entry(session, report, data_key, "note", text, person.id, now)
    chain.record(session, actor=chain.Actor.of(person), action="case.note_added", object_type="report",
                 object_id=report.id, detail={"entry": entry.id}, at=now)
    _commit(session)


def send_message(
    session: Session, report_id: str, *, person: StaffMember, private_key: bytes, body: str, now: datetime,
) -> None:
    """Send a message the reporter reads on follow-up (signed "protection team"); commit."""
    text = _clean_body(body)
    report, data_key = _unseal(session, report_id, person, private_key)
    entry = _add_entry(session, report, data_key, "staff_message", text, person.id, now)
    chain.record(session, actor=chain.Actor.of(person), action="case.message_sent", object_type="report",
                 object_id=report.id, detail={"entry": entry.id}, at=now)
    _commit(session)


def reporter_message(
    session: Session, report: Report, data_key: bytes, *, body: str, now: datetime,
    files: Sequence[PreparedAttachment] = (), store: AttachmentStore | None = None,
) -> None:
    """Add the reporter's reply (from an unlocked follow-up session) with its files; holders are notified.

    The files are written encrypted before the commit and deleted again if it fails.
    """
    text = _clean_body(body)
    with attachments.files_written(files, store=store, data_key=data_key, key_version=report.key_version):
        entry = _add_entry(session, report, data_key, "reporter_message", text, None, now)
        if files:
            session.flush()  # the entry before the rows that point to it (no ORM relationship orders them)
        session.add_all(attachments.rows_for(files, report_id=report.id, data_key=data_key, entry_id=entry.id,
                                             key_version=report.key_version))
        chain.record(session, actor=chain.REPORTER, action="case.reporter_message", object_type="report",
                     object_id=report.id, detail={"entry": entry.id, "files": len(files)}, at=now)
        notifications.enqueue(session, routing.holders(session, report.id), reason="message", now=now)
        _commit(session)


def reporter_entries(session: Session, report: Report, data_key: bytes) -> list[Entry]:
    """Return the message thread the reporter sees: messages only, never notes or assessments."""
    from reporter.models.case import REPORTER_VISIBLE

    return _entries(session, report, data_key, REPORTER_VISIBLE)


def referral_candidates(session: Session, report_id: str, *, person: StaffMember) -> list[StaffMember]:
    """Return the active focal points and coordinators (any region) a holder may refer a case to."""
    held = routing.holders(session, report_id)
    query = select(StaffMember).where(StaffMember.state == "active",
                                      StaffMember.role.in_(routing.HOLDER_ROLES),
                                      StaffMember.public_key.is_not(None))
    people = session.scalars(query.order_by(StaffMember.region, StaffMember.display_name, StaffMember.email))
    return [p for p in people if p.id not in held and p.id != person.id]


@_lost_race_is_conflict
def refer(
    session: Session, report_id: str, *, person: StaffMember, private_key: bytes, to: str, reason: str,
    now: datetime,
) -> StaffMember:
    """Seal a case to another active focal point or coordinator, with a reason code; commit."""
    if reason not in REFERRAL_REASONS:
        raise TriageError("reason")
    report, data_key = _unseal(session, report_id, person, private_key)
    target = session.get(StaffMember, to) if isinstance(to, str) and len(to) <= 64 else None
    if target is None or target.id == person.id:
        raise TriageError("target")
    if target.state != "active" or target.role not in routing.HOLDER_ROLES or target.public_key is None:
        raise TriageError("target_inactive")
    if target.id in routing.holders(session, report.id):
        raise TriageError("already_holds")
    try:
        excluded = vault.open_report_fields(report, data_key)["excluded"]
    except CiphertextInvalid:
        raise _integrity_failure(session, report_id, person, "content") from None
    if excluded and excluded == target.id:
        raise TriageError("excluded")
    recipient = routing.Recipient(id=target.id, role=target.role, public_key=target.public_key,
                                  suite=target.key_suite or "")
    session.add_all(routing.seals_for(report, data_key, [recipient]))
    # The case changes before the first audit event: its row is locked before the audit chain, in the
    # order every other action takes them (the other order deadlocks with a concurrent triage).
    before = report.status
    if before not in ("closed", "referred"):
        report.status = "referred"
    chain.record(session, actor=chain.Actor.of(person), action="case.referred", object_type="report",
                 object_id=report.id, detail={"to": target.id, "reason": reason}, at=now)
    if report.status != before:
        chain.record(session, actor=chain.Actor.of(person), action="case.status_changed",
                     object_type="report", object_id=report.id, detail={"from": before, "to": "referred"},
                     at=now)
    notifications.enqueue(session, [target.id], reason="referred", now=now)
    _commit(session)
    return target


@_lost_race_is_conflict
def route_again(session: Session, report_id: str, *, person: StaffMember, private_key: bytes) -> list[str]:
    """Send a case that waits for routing (its holder left) through routing again; commit."""
    report, data_key = _unseal(session, report_id, person, private_key)
    if not report.needs_routing:
        raise TriageError("not_waiting")
    try:
        excluded = vault.open_report_fields(report, data_key)["excluded"] or None
    except CiphertextInvalid:
        raise _integrity_failure(session, report_id, person, "content") from None
    added = routing.route_again(session, report, data_key, excluded=excluded, actor=chain.Actor.of(person))
    _commit(session)
    return added


def escalate_overdue(session: Session, *, now: datetime) -> list[str]:
    """Escalate every open case past its deadline, once per deadline: the coordinators are notified.

    The overdue cases are locked up front (PostgreSQL): the audit chain's head is locked by the first
    escalation, and locking each case only when it is flushed would deadlock with an officer who
    changed a later case and now waits for the chain.
    """
    overdue = list(session.scalars(select(Report).where(
        Report.deadline_at < now, Report.escalated_at.is_(None), Report.status.not_in(tuple(RESPONDED)))
        .order_by(Report.id).with_for_update()))
    for report in overdue:
        report.escalated_at = now
        coordinators = [p.id for p in routing.coordinators_for(session, report.country)]
        held = routing.holders(session, report.id)
        notifications.enqueue(session, [c for c in coordinators if c in held] or held, reason="overdue",
                              now=now)
        chain.record(session, actor=chain.SYSTEM, action="case.escalated", object_type="report",
                     object_id=report.id,
                     detail={"deadline": report.deadline_at.isoformat() if report.deadline_at else None},
                     at=now)
    _commit(session)
    return [r.id for r in overdue]
