"""Triage: status, risk and deadlines, notes and messages, referral, routing again, escalation,
integrity failures and concurrent changes. Domain functions are called directly where the web adds
nothing; the web is used where the person's browser is the point (conflicts, integrity page)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import product
from typing import Any

import pytest
from sqlalchemy import select, update

from reporter.audit import chain
from reporter.cases import casefile, entries, holding, routing, triage
from reporter.extensions import db
from reporter.models import CaseEntry, Report, StaffMember
from reporter.models.base import utcnow
from reporter.models.report import STATUSES
from tests import casework
from tests.casework import add_rule, events, holders_of, private_key_of, report_row, submit, writing
from tests.conftest import Reporter, csrf_token_of
from tests.staffing import StaffAccount, csrf_of

NOW = datetime(2026, 6, 1, 12, 0)
HOURS = {"critical": 1, "high": 5, "medium": 10, "low": 20, "unknown": 30}


#: Every action on a case, by the name these tests call it.
ACTIONS: dict[str, Any] = {
    "open_case": casefile.open_case, "triage": triage.triage, "assess": triage.assess,
    "add_note": entries.add_note, "send_message": entries.send_message, "refer": routing.refer,
    "route_again": routing.route_again,
}


@dataclass
class Case:
    """A routed case: its id, the focal point and coordinator who hold it, and their keys."""

    app: Any
    report_id: str
    focal_point: StaffAccount
    coordinator: StaffAccount
    keys: dict[str, bytes]
    receipt: str

    def key(self, account: StaffAccount) -> bytes:
        """Return (and cache) a person's private key."""
        if account.id not in self.keys:
            self.keys[account.id] = private_key_of(self.app, account)
        return self.keys[account.id]

    def act(self, action: str, account: StaffAccount | None = None, report_id: str | None = None,
            **kwargs: Any) -> Any:
        """Call the domain function `action` on this case as `account` (the focal point by default)."""
        account = account or self.focal_point
        key = self.key(account)  # before the session below: SQLite has one writer at a time
        with writing(self.app) as session:
            person = session.get(StaffMember, account.id)
            return ACTIONS[action](session, report_id or self.report_id, person=person,
                                           private_key=key, **kwargs)

    def triage(self, account: StaffAccount | None = None, *, status: str | None = None,
               risk: str | None = None, version: int | None = None, now: datetime = NOW) -> Report:
        """Change status and/or risk as `account`."""
        return self.act("triage", account, status=status, risk=risk, expected_version=version, now=now,
                        hours=HOURS)

    def row(self) -> Report:
        """Return the stored report."""
        return report_row(self.app, self.report_id)


@pytest.fixture
def case(app, reporter, make_staff, staff_directory) -> Case:
    """A Georgian report routed to one focal point and the Georgian coordinator."""
    focal_point = make_staff()
    add_rule(app, "GE", [focal_point])
    receipt, report_id = submit(reporter, description="Case canary: they published my address.")
    return Case(app, report_id, focal_point, staff_directory.coordinator, {}, receipt)


def detached(app, account: StaffAccount) -> StaffMember:
    """Return a person's row, detached (for a thread that has no session of its own yet)."""
    with writing(app) as session:
        person = session.get(StaffMember, account.id)
        assert person is not None
        session.expunge(person)
        return person


def _set_status(app, report_id: str, status: str) -> None:
    with writing(app) as session:
        session.execute(update(Report).where(Report.id == report_id).values(
            status=status, version=Report.version + 1, deadline_at=None))
        session.commit()


# Status transitions ------------------------------------------------------------------------------

def test_transition_table_allows_exactly_the_listed_changes(case):
    wrong = []
    for before, after in product(STATUSES, STATUSES):
        _set_status(case.app, case.report_id, before)
        changes = len(events(case.app, "case.status_changed", case.report_id))
        try:
            case.triage(status=after)
            outcome = "changed"
        except holding.ActionRefused as refused:
            outcome = refused.reason
        stored = case.row().status
        logged = len(events(case.app, "case.status_changed", case.report_id)) - changes
        if before == after:
            expected = ("changed", before, 0)
        elif after in triage.TRANSITIONS[before]:
            expected = ("changed", after, 1)
        else:
            expected = ("transition", before, 0)
        if (outcome, stored, logged) != expected:
            wrong.append((before, after, (outcome, stored, logged), expected))
    assert wrong == []


def test_transition_table_names_only_known_statuses_and_everything_can_close():
    assert set(triage.TRANSITIONS) == set(STATUSES)
    for before, targets in triage.TRANSITIONS.items():
        assert targets <= set(STATUSES) and before not in targets
        assert before == "closed" or "closed" in targets
    assert triage.TRANSITIONS["closed"] == {"assessing"}


@pytest.mark.parametrize(("status", "risk", "reason"), [
    ("archived", None, "status"), (None, "extreme", "risk"), ("x" * 10_000, None, "status"), (None, "", None),
])
def test_unknown_status_or_risk_is_refused_without_change(case, status, risk, reason):
    before = case.row()
    if reason is None:
        case.triage(status=status, risk=risk or None)
    else:
        with pytest.raises(holding.ActionRefused) as refused:
            case.triage(status=status, risk=risk)
        assert refused.value.reason == reason
    after = case.row()
    assert (after.status, after.risk, after.version) == (before.status, before.risk, before.version)


# Risk, assessment and deadlines ------------------------------------------------------------------

@pytest.mark.parametrize(("answers", "level"), [
    ({}, "low"),
    ({"coordinated_campaign": True}, "low"),
    ({"repeat_incident": True, "coordinated_campaign": True}, "medium"),
    ({"state_actor": True}, "medium"),
    ({"family_threatened": True, "repeat_incident": True}, "medium"),
    ({"family_threatened": True, "location_exposed": True}, "high"),
    ({"state_actor": True, "coordinated_campaign": True, "repeat_incident": True}, "high"),
    ({"imminent_danger": True}, "critical"),
    (dict.fromkeys(triage.RISK_QUESTIONS, False) | {"imminent_danger": True}, "critical"),
    (dict.fromkeys(triage.RISK_QUESTIONS, True), "critical"),
])
def test_assessment_answers_give_the_risk_level(answers, level):
    assert triage.risk_level(answers) == level


def test_deadline_of_a_new_report_comes_from_the_configured_unknown_hours(app_factory):
    app = app_factory(REPORTER_DEADLINE_HOURS="critical=1,high=5,medium=10,low=20,unknown=30")
    visitor = Reporter(app.test_client())
    before = utcnow()
    _, report_id = submit(visitor)
    deadline = report_row(app, report_id).deadline_at
    # Counted from the submission hour (the stored hour of everything a reporter does).
    hours = {moment.replace(minute=0, second=0, microsecond=0) for moment in (before, utcnow())}
    assert deadline in {hour + timedelta(hours=30) for hour in hours}


def test_each_risk_level_sets_its_configured_deadline(case):
    for minutes, risk in enumerate(["low", "critical", "medium", "high", "unknown"]):
        now = NOW + timedelta(minutes=minutes)
        case.triage(risk=risk, now=now)
        stored = case.row()
        assert (stored.risk, stored.deadline_at) == (risk, now + timedelta(hours=HOURS[risk]))
    assert [e.detail for e in events(case.app, "case.risk_changed", case.report_id)][-1] == \
        '{"from":"high","to":"unknown"}'


def test_assessment_is_sealed_sets_level_and_deadline_and_is_audited(case, backend, instance_path,
                                                                     database_url):
    answers = {"family_threatened": True, "location_exposed": True, "imminent_danger": False}
    level = case.act("assess", answers=answers, expected_version=None, now=NOW, hours=HOURS)
    assert level == "high"
    stored = case.row()
    assert (stored.risk, stored.deadline_at) == ("high", NOW + timedelta(hours=5))
    (assessed,) = events(case.app, "case.assessed", case.report_id)
    assert assessed.detail == '{"from":"unknown","to":"high"}' and assessed.actor_id == case.focal_point.id
    opened = case.act("open_case")
    (entry,) = [e for e in opened.entries if e.kind == "assessment"]
    assert '"family_threatened": true' in entry.body
    assert b"family_threatened" not in casework.raw_storage(backend, instance_path, database_url)


def test_same_assessment_twice_is_recorded_twice(case):
    for _ in range(2):
        case.act("assess", answers={}, expected_version=None, now=NOW, hours=HOURS)
    assert len(events(case.app, "case.assessed", case.report_id)) == 2


@pytest.mark.parametrize("done", ["supporting", "closed"])
def test_deadline_is_cleared_when_the_case_is_answered_and_comes_back_on_reopening(case, done):
    case.triage(status="assessing", risk="high")
    assert case.row().deadline_at == NOW + timedelta(hours=5)
    case.triage(status=done)
    answered = case.row()
    assert answered.deadline_at is None
    assert (answered.closed_at is not None) == (done == "closed")
    case.triage(risk="critical")  # a risk change on an answered case sets no deadline
    assert case.row().deadline_at is None
    later = NOW + timedelta(hours=3)
    case.triage(status="assessing", now=later)
    reopened = case.row()
    assert reopened.deadline_at == later + timedelta(hours=HOURS["critical"]) and reopened.closed_at is None


# Notes and messages ------------------------------------------------------------------------------

def test_notes_and_assessments_never_reach_the_reporter(case, reporter):
    case.act("add_note", body="NOTE-CANARY internal only", now=NOW)
    case.act("assess", answers={"state_actor": True}, expected_version=None, now=NOW, hours=HOURS)
    case.act("send_message", body="MESSAGE-CANARY we are on it", now=NOW)
    assert reporter.follow_up(case.receipt).status_code == 302
    page = reporter.client.get("/followup/case").get_data(as_text=True)
    assert "MESSAGE-CANARY we are on it" in page
    assert "NOTE-CANARY" not in page and "state_actor" not in page and "Is a state actor" not in page


@pytest.mark.parametrize(("body", "reason"), [("", "empty"), ("   \n ", "empty"), ("x" * 10_001, "too_long"),
                                              ("bad\x00byte", "nul"), ("bell\x07", "control")])
def test_bad_note_or_message_bodies_are_refused(case, body, reason):
    for action in ("add_note", "send_message"):
        with pytest.raises(holding.ActionRefused) as refused:
            case.act(action, body=body, now=NOW)
        assert refused.value.reason == reason
    assert casework.count(case.app, CaseEntry) == 0


def test_messages_both_ways_are_stored_only_encrypted(case, reporter, backend, instance_path, database_url):
    case.act("send_message", body="STAFF-SAYS-7c1e please call us", now=NOW)
    assert reporter.follow_up(case.receipt).status_code == 302
    token = csrf_of(reporter.client, "/followup/case")
    response = reporter.client.post("/followup/case/message", data={"body": "REPORTER-SAYS-93fd thank you",
                                                                    "csrf_token": token})
    assert response.status_code == 302
    page = reporter.client.get("/followup/case").get_data(as_text=True)
    assert "STAFF-SAYS-7c1e" in page and "REPORTER-SAYS-93fd" in page
    opened = case.act("open_case")
    assert [e.body for e in opened.entries] == ["STAFF-SAYS-7c1e please call us",
                                                "REPORTER-SAYS-93fd thank you"]
    (reply,) = events(case.app, "case.reporter_message", case.report_id)
    assert reply.actor_role == "reporter" and reply.actor_id is None
    stored = casework.raw_storage(backend, instance_path, database_url)
    for text in ("STAFF-SAYS-7c1e", "REPORTER-SAYS-93fd", "please call us", "Case canary"):
        assert text.encode() not in stored and text.encode("utf-16-le") not in stored


# Referral ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("target", "reason"), [
    ("offboarded", "target_inactive"), ("unvetted", "target_inactive"), ("suspended", "target_inactive"),
    ("auditor", "target_inactive"), ("nonexistent", "target"), ("oversized", "target"), ("self", "target"),
    ("holder", "already_holds"), ("excluded", "excluded"), ("bad_reason", "reason"),
])
def test_referral_is_refused_with_its_reason(app, reporter, make_staff, staff_directory, target, reason):
    focal_point, excluded = make_staff(), make_staff()
    add_rule(app, "GE", [focal_point])
    _, report_id = submit(reporter, exclude=excluded.id)
    case = Case(app, report_id, focal_point, staff_directory.coordinator, {}, "")
    to = {"nonexistent": "f" * 32, "oversized": "x" * 10_000, "self": focal_point.id,
          "holder": staff_directory.coordinator.id, "excluded": excluded.id}.get(target)
    if to is None:
        person = make_staff(role="auditor" if target == "auditor" else "focal_point",
                            state="enrolled" if target == "unvetted" else "active")
        if target == "offboarded":
            staff_directory.deactivate(person)
        elif target == "suspended":
            casework.set_state(app, person, "suspended")
        to = person.id
    before = (case.row().version, holders_of(app, report_id))
    with pytest.raises(holding.ActionRefused) as refused:
        case.act("refer", to=to, reason="because" if target == "bad_reason" else "expertise", now=NOW)
    assert refused.value.reason == reason
    assert (case.row().version, holders_of(app, report_id)) == before
    assert not events(app, "case.referred")


def test_referral_seals_the_case_to_the_target_and_audits_the_reason(case, make_staff, login):
    colleague = make_staff(region="AM")
    target = case.act("refer", to=colleague.id, reason="language", now=NOW)
    assert target.id == colleague.id
    assert colleague.id in holders_of(case.app, case.report_id)
    assert casework.open_fields(case.app, case.report_id, colleague, case.key(colleague))["description"] \
        .startswith("Case canary")
    (referred,) = events(case.app, "case.referred", case.report_id)
    assert referred.actor_id == case.focal_point.id
    assert json.loads(referred.detail) == {"reason": "language", "to": colleague.id}
    assert case.row().status == "referred"
    changed = events(case.app, "case.status_changed", case.report_id)
    assert changed[-1].detail == '{"from":"new","to":"referred"}'
    browser = case.app.test_client()
    login(browser, colleague)
    assert "Case canary" in browser.get(f"/staff/cases/{case.report_id}").get_data(as_text=True)


def test_referring_a_closed_case_keeps_it_closed(case, make_staff):
    _set_status(case.app, case.report_id, "closed")
    case.act("refer", to=make_staff().id, reason="workload", now=NOW)
    assert case.row().status == "closed"
    assert not events(case.app, "case.status_changed", case.report_id)


# Routing again and escalation --------------------------------------------------------------------

def test_route_again_after_offboarding_seals_to_the_focal_points_routing_now_chooses(
        app, reporter, make_staff, staff_directory):
    leaving, successor = make_staff(), make_staff()
    rule_id = add_rule(app, "GE", [leaving])
    _, report_id = submit(reporter)
    # Confirmed by a coordinator who does not hold the case: it waits for its own coordinator.
    staff_directory.deactivate(leaving, by=make_staff(role="coordinator", region="AM"))
    assert report_row(app, report_id).needs_routing is True
    assert holders_of(app, report_id) == {staff_directory.coordinator.id}
    casework.add_member(app, rule_id, successor)
    case = Case(app, report_id, successor, staff_directory.coordinator, {}, "")
    added = case.act("route_again", staff_directory.coordinator)
    assert added == [successor.id]
    assert holders_of(app, report_id) == {staff_directory.coordinator.id, successor.id}
    assert report_row(app, report_id).needs_routing is False
    (routed,) = events(app, "case.routed", report_id)
    assert json.loads(routed.detail) == {"added": [successor.id]}
    assert casework.open_fields(app, report_id, successor, case.key(successor))["description"]
    with pytest.raises(holding.ActionRefused) as refused:
        case.act("route_again", staff_directory.coordinator)
    assert refused.value.reason == "not_waiting"


def test_route_again_never_reaches_the_excluded_person(app, reporter, make_staff, staff_directory):
    leaving, excluded = make_staff(), make_staff()
    rule_id = add_rule(app, "GE", [leaving])
    _, report_id = submit(reporter, exclude=excluded.id)
    staff_directory.deactivate(leaving, by=make_staff(role="coordinator", region="AM"))
    casework.add_member(app, rule_id, excluded)
    case = Case(app, report_id, staff_directory.coordinator, staff_directory.coordinator, {}, "")
    assert case.act("route_again") == []
    assert excluded.id not in holders_of(app, report_id)


def test_overdue_case_is_escalated_once_per_deadline(case):
    deadline = case.row().deadline_at
    assert deadline is not None
    with writing(case.app) as session:
        assert triage.escalate_overdue(session, now=deadline - timedelta(minutes=1)) == []
        assert triage.escalate_overdue(session, now=deadline + timedelta(minutes=1)) == [case.report_id]
        assert triage.escalate_overdue(session, now=deadline + timedelta(hours=5)) == []
    (escalated,) = events(case.app, "case.escalated", case.report_id)
    assert escalated.actor_role == "system" and deadline.isoformat() in escalated.detail
    later = deadline + timedelta(hours=6)
    case.triage(risk="critical", now=later)  # a new deadline: it may be escalated again
    with writing(case.app) as session:
        assert triage.escalate_overdue(session, now=later + timedelta(hours=2)) == [case.report_id]
    assert len(events(case.app, "case.escalated", case.report_id)) == 2


def test_answered_cases_are_never_escalated(case):
    case.triage(status="acknowledged")
    case.triage(status="supporting")
    with writing(case.app) as session:
        assert triage.escalate_overdue(session, now=NOW + timedelta(days=365)) == []


def test_escalation_and_a_triage_at_the_same_moment_neither_deadlock_nor_crash(case, reporter, monkeypatch):
    """Escalation holds the audit chain while it walks several cases; an officer saving one of the
    later cases at that moment must not deadlock with it (PostgreSQL aborts one side of a deadlock)."""
    _, second = submit(reporter)
    overdue = utcnow() + timedelta(days=2)
    person, key = detached(case.app, case.focal_point), case.key(case.focal_point)
    record, first_escalated, officer_waiting = chain.record, threading.Event(), threading.Event()
    outcomes: dict[str, Any] = {}

    def record_then_let_the_officer_in(session: Any, **kwargs: Any) -> Any:
        event = record(session, **kwargs)
        if kwargs.get("action") == "case.escalated" and not first_escalated.is_set():
            outcomes["first"] = kwargs["object_id"]
            first_escalated.set()
            officer_waiting.wait(10)
        return event

    def officer() -> None:
        first_escalated.wait(10)
        other = case.report_id if outcomes["first"] == second else second
        session = db.new_session(write=True)
        try:
            triage.triage(session, other, person=person, private_key=key, status="acknowledged", risk=None,
                          expected_version=None, now=overdue, hours=HOURS)
            outcomes["officer"] = "ok"
        except holding.ActionRefused as refused:
            outcomes["officer"] = refused.reason
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            outcomes["officer"] = f"crashed: {type(error).__name__}"
        finally:
            session.close()

    def escalation() -> None:
        session = db.new_session(write=True)
        try:
            outcomes["escalated"] = sorted(triage.escalate_overdue(session, now=overdue))
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            outcomes["escalated"] = f"crashed: {type(error).__name__}"
        finally:
            session.close()

    monkeypatch.setattr(chain, "record", record_then_let_the_officer_in)
    with case.app.app_context():
        threads = [threading.Thread(target=escalation), threading.Thread(target=officer)]
        for thread in threads:
            thread.start()
        first_escalated.wait(10)
        threads[1].join(1.5)  # the officer is now blocked behind the escalation (or done)
        officer_waiting.set()
        for thread in threads:
            thread.join(60)
    assert outcomes["officer"] in ("ok", "conflict"), outcomes
    assert outcomes["escalated"] in (sorted([case.report_id, second]), [outcomes["first"]]), outcomes


def test_referral_and_a_triage_at_the_same_moment_neither_deadlock_nor_crash(case, make_staff, monkeypatch):
    """A referral that holds the audit chain while it moves the case to "referred" must not deadlock
    with an officer saving the same case (PostgreSQL aborts one side of a deadlock)."""
    colleague = make_staff(region="AM")
    people = {a.id: (detached(case.app, a), case.key(a)) for a in (case.focal_point, case.coordinator)}
    record, referring, officer_waiting = chain.record, threading.Event(), threading.Event()
    outcomes: dict[str, str] = {}

    def record_then_let_the_officer_in(session: Any, **kwargs: Any) -> Any:
        event = record(session, **kwargs)
        if kwargs.get("action") == "case.referred":
            referring.set()
            officer_waiting.wait(10)
        return event

    def attempt(name: str, account: StaffAccount, **kwargs: Any) -> None:
        person, key = people[account.id]
        session = db.new_session(write=True)
        try:
            ACTIONS[name](session, case.report_id, person=person, private_key=key, now=NOW, **kwargs)
            outcomes[name] = "ok"
        except holding.ActionRefused as refused:
            outcomes[name] = refused.reason
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            outcomes[name] = f"crashed: {type(error).__name__}"
        finally:
            session.close()

    def officer() -> None:
        referring.wait(10)
        attempt("triage", case.coordinator, status="acknowledged", risk="high", expected_version=None,
                hours=HOURS)

    monkeypatch.setattr(chain, "record", record_then_let_the_officer_in)
    with case.app.app_context():
        threads = [threading.Thread(target=attempt, args=("refer", case.focal_point),
                                    kwargs={"to": colleague.id, "reason": "region"}),
                   threading.Thread(target=officer)]
        for thread in threads:
            thread.start()
        referring.wait(10)
        threads[1].join(1.5)  # the officer is now blocked behind the referral (or done)
        officer_waiting.set()
        for thread in threads:
            thread.join(60)
    assert outcomes["refer"] == "ok", outcomes
    assert outcomes["triage"] in ("ok", "conflict", "transition"), outcomes
    assert colleague.id in holders_of(case.app, case.report_id)


# Access ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("action", "kwargs"), [
    ("open_case", {}),
    ("triage", {"status": "closed", "risk": None, "expected_version": None, "now": NOW, "hours": HOURS}),
    ("assess", {"answers": {}, "expected_version": None, "now": NOW, "hours": HOURS}),
    ("add_note", {"body": "x", "now": NOW}),
    ("send_message", {"body": "x", "now": NOW}),
    ("refer", {"to": "f" * 32, "reason": "other", "now": NOW}),
    ("route_again", {}),
])
def test_a_case_not_held_is_not_found_for_every_action(case, make_staff, action, kwargs):
    outsider = make_staff()
    before = case.row().version
    with pytest.raises(holding.CaseNotFound):
        case.act(action, outsider, **kwargs)
    with pytest.raises(holding.CaseNotFound):
        case.act(action, outsider, report_id="0" * 32, **kwargs)
    assert case.row().version == before


# Integrity (C02) ---------------------------------------------------------------------------------

def test_moved_description_ciphertext_shows_the_integrity_page_and_is_audited(app, reporter, make_staff,
                                                                              login):
    focal_point = make_staff()
    add_rule(app, "GE", [focal_point])
    _, first = submit(reporter, description="FIRST-REPORT-e31b")
    _, second = submit(reporter, description="SECOND-REPORT-4a0c")
    table = Report.__table__
    with writing(app) as session:
        moved = session.scalars(select(table.c.description_ct).where(table.c.id == first)).one()
        session.execute(table.update().where(table.c.id == second).values(description_ct=moved))
        session.commit()
    browser = app.test_client()
    login(browser, focal_point)
    response = browser.get(f"/staff/cases/{second}")
    page = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "failed its integrity check" in page
    assert "FIRST-REPORT" not in page and "SECOND-REPORT" not in page and "Traceback" not in page
    (failure,) = events(app, "case.integrity_failure", second)
    assert failure.actor_id == focal_point.id and failure.detail == '{"part":"content"}'
    assert not events(app, "case.viewed", second)
    assert "FIRST-REPORT-e31b" in browser.get(f"/staff/cases/{first}").get_data(as_text=True)


def test_moved_note_ciphertext_is_an_integrity_failure(case, app, reporter, backend):
    _, other = submit(reporter)
    case.act("add_note", body="NOTE-OF-FIRST", now=NOW)
    other_case = Case(app, other, case.focal_point, case.coordinator, case.keys, "")
    other_case.act("add_note", body="NOTE-OF-SECOND", now=NOW)
    with writing(app) as session:
        mine = session.scalars(select(CaseEntry).where(CaseEntry.report_id == case.report_id)).one()
        theirs = session.scalars(select(CaseEntry).where(CaseEntry.report_id == other)).one()
        theirs.body_ct = mine.body_ct
        session.commit()
    with pytest.raises(holding.IntegrityFailure):
        other_case.act("open_case")
    # The entry chain, which hashes each ciphertext, sees the change before decryption would.
    assert [e.detail for e in events(app, "case.integrity_failure", other)] == ['{"part":"entries"}']


def test_note_relabelled_as_a_message_is_never_shown_to_the_reporter(case, reporter):
    case.act("add_note", body="NOTE-RELABEL-CANARY", now=NOW)
    with writing(case.app) as session:
        session.execute(update(CaseEntry).values(kind="staff_message"))
        session.commit()
    assert reporter.follow_up(case.receipt).status_code == 302
    response = reporter.client.get("/followup/case")
    page = response.get_data(as_text=True)
    assert response.status_code >= 400
    assert "NOTE-RELABEL-CANARY" not in page and "Traceback" not in page


# Concurrent changes ------------------------------------------------------------------------------

def test_second_officer_with_a_stale_page_gets_409_and_nothing_is_lost(case, login):
    first, second = case.app.test_client(), case.app.test_client()
    login(first, case.focal_point)
    login(second, case.coordinator)
    path = f"/staff/cases/{case.report_id}"
    version = case.row().version
    forms = []
    for browser in (first, second):
        page = browser.get(path).get_data(as_text=True)
        assert f'name="version" value="{version}"' in page
        forms.append(csrf_token_of(page))
    won = first.post(f"{path}/triage", data={"status": "acknowledged", "risk": "high", "version": version,
                                             "csrf_token": forms[0]})
    assert won.status_code == 302
    lost = second.post(f"{path}/triage", data={"status": "closed", "risk": "low", "version": version,
                                               "csrf_token": forms[1]})
    page = lost.get_data(as_text=True)
    assert lost.status_code == 409
    assert "Someone else changed this case" in page
    stored = case.row()
    assert (stored.status, stored.risk) == ("acknowledged", "high")
    assert f'name="version" value="{stored.version}"' in page  # the page shows the current state
    changes = events(case.app, "case.status_changed", case.report_id)
    assert [e.actor_id for e in changes] == [case.focal_point.id]


@pytest.mark.parametrize("versioned", [True, False])
def test_two_simultaneous_triage_calls_lose_no_update(case, backend, monkeypatch, versioned):
    """Two officers press "save" at the same moment: both succeed one after the other, or one is refused."""
    people = [detached(case.app, case.focal_point), detached(case.app, case.coordinator)]
    keys = [case.key(case.focal_point), case.key(case.coordinator)]
    version = case.row().version if versioned else None
    if backend == "postgresql":
        # Make both transactions read the case before either writes: the race the version column stops.
        barrier, check = threading.Barrier(2, timeout=10), triage._check_version

        def check_together(report: Report, expected: int | None) -> None:
            barrier.wait()
            check(report, expected)

        monkeypatch.setattr(triage, "_check_version", check_together)
    outcomes: dict[int, str] = {}
    start = threading.Barrier(2, timeout=10)

    def attempt(index: int, status: str, risk: str) -> None:
        session = db.new_session(write=True)
        try:
            start.wait()
            triage.triage(session, case.report_id, person=people[index], private_key=keys[index],
                          status=status, risk=risk, expected_version=version, now=NOW, hours=HOURS)
            outcomes[index] = "ok"
        except holding.ActionRefused as refused:
            outcomes[index] = refused.reason
        except Exception as error:  # noqa: BLE001 - reported below as the outcome
            outcomes[index] = f"crashed: {type(error).__name__}: {error}"
        finally:
            session.close()

    with case.app.app_context():
        threads = [threading.Thread(target=attempt, args=(0, "assessing", "high")),
                   threading.Thread(target=attempt, args=(1, "referred", "low"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert sorted(outcomes.values()) in (["ok", "ok"], ["conflict", "ok"]), outcomes
    if versioned:
        assert sorted(outcomes.values()) == ["conflict", "ok"]
    changes = events(case.app, "case.status_changed", case.report_id)
    risks = events(case.app, "case.risk_changed", case.report_id)
    winners = [i for i, outcome in outcomes.items() if outcome == "ok"]
    assert len(changes) == len(risks) == len(winners)
    stored = case.row()
    # The history is one unbroken chain of changes, ending in what is stored: nothing was overwritten.
    chain = [json.loads(e.detail) for e in changes]
    assert chain[0]["from"] == "new" and chain[-1]["to"] == stored.status
    assert all(a["to"] == b["from"] for a, b in zip(chain, chain[1:], strict=False))
    risk_chain = [json.loads(e.detail) for e in risks]
    assert risk_chain[0]["from"] == "unknown" and risk_chain[-1]["to"] == stored.risk
    assert all(a["to"] == b["from"] for a, b in zip(risk_chain, risk_chain[1:], strict=False))
