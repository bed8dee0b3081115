"""Early warning, online to offline: the escalation indicators of the risk assessment and the reporter's
"something new has happened" flag a case escalating. What staff, the coordinators' mailboxes, the
audit log and the reporter each see of it."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from reporter.cases import triage
from reporter.models import Notification, StaffMember
from reporter.models.base import utcnow
from reporter.web.notify import send_pending
from tests.casework import add_rule, events, private_key_of, report_row, submit, writing
from tests.conftest import Reporter, csrf_token_of
from tests.staffing import StaffAccount, directory_of, login

NOW = datetime(2026, 6, 1, 12, 0)
HOURS = {"critical": 1, "high": 5, "medium": 10, "low": 20, "unknown": 30}


class Escalation:
    """An app that mails to the test's mailbox, a Georgian case held by a focal point and the coordinator."""

    def __init__(self, app_factory: Any, port: int) -> None:
        self.app = app_factory(REPORTER_SMTP_URL=f"smtp://127.0.0.1:{port}", REPORTER_NOTIFY_THREAD=False,
                               REPORTER_NOTIFY_DELAY_MINUTES="0",
                               REPORTER_DEADLINE_HOURS="critical=1,high=5,medium=10,low=20,unknown=30")
        self.staff = directory_of(self.app)
        self.focal_point: StaffAccount = self.staff.make()
        self.coordinator: StaffAccount = self.staff.coordinator
        add_rule(self.app, "GE", [self.focal_point])
        self.reporter = Reporter(self.app.test_client())
        self.receipt, self.report_id = submit(self.reporter, description="DESCRIPTION-CANARY-5f0a")
        send_pending(self.app)  # the "routed" messages, out of the way

    def assess(self, **answers: bool) -> str:
        key = private_key_of(self.app, self.focal_point)
        with writing(self.app) as session:
            person = session.get(StaffMember, self.focal_point.id)
            return triage.assess(session, self.report_id, person=person, private_key=key, answers=answers,
                                 expected_version=None, now=NOW, hours=HOURS)

    def waiting(self) -> list[tuple[str, str]]:
        with writing(self.app) as session:
            return sorted(session.execute(select(Notification.staff_id, Notification.reason)
                                          .where(Notification.sent_at.is_(None))).all())

    def reporter_writes(self, **data: str) -> Any:
        client = self.reporter.client
        assert self.reporter.follow_up(self.receipt).status_code == 302
        token = csrf_token_of(client.get("/followup/case").get_data(as_text=True))
        return client.post("/followup/case/message",
                           data={"body": "It went on.", "csrf_token": token, **data})


@pytest.fixture
def escalation(app_factory, mailbox) -> Escalation:
    return Escalation(app_factory, mailbox.port)


@pytest.mark.parametrize(("answers", "escalating"), [
    ({}, False),
    ({"state_actor": True, "coordinated_campaign": True, "repeat_incident": True}, False),
    ({"doxxing": True}, False),
    ({"volume_surge": True, "imminent_danger": True}, False),
    ({"location_exposed": True}, True),
    ({"family_threatened": True}, True),
    ({"calls_to_act": True}, True),
    ({"followed_offline": True}, True),
    ({"doxxing": True, "cross_platform": True}, True),
    ({"cross_platform": True, "volume_surge": True}, True),
])
def test_escalation_rule(answers, escalating):
    assert triage.escalation_indicated(answers) is escalating
    assert set(answers) <= set(triage.RISK_QUESTIONS)


def test_a_qualifying_assessment_flags_raises_the_risk_and_tells_the_coordinator(escalation, mailbox):
    assert escalation.assess(followed_offline=True) == "high"
    stored = report_row(escalation.app, escalation.report_id)
    assert (stored.escalating, stored.risk, stored.deadline_at) == ("indicators", "high",
                                                                    NOW + timedelta(hours=5))
    (event,) = events(escalation.app, "case.escalating", escalation.report_id)
    assert json.loads(event.detail) == {"reason": "indicators", "from": "low", "to": "high"}
    assert event.actor_id == escalation.focal_point.id
    assert escalation.waiting() == [(escalation.coordinator.id, "escalating")]
    routed = len(mailbox.received)
    assert send_pending(escalation.app) == 1
    (message,) = mailbox.messages()[routed:]
    assert mailbox.received[-1][1] == [escalation.coordinator.email]
    text = message.get_content()
    assert message["Subject"] == "A case is waiting"
    for secret in (escalation.report_id, escalation.report_id[:8], "CANARY", "escalat", "high", "GE"):
        assert secret not in text and secret not in message["Subject"]


def test_escalation_never_lowers_a_critical_risk(escalation):
    assert escalation.assess(imminent_danger=True, calls_to_act=True) == "critical"
    stored = report_row(escalation.app, escalation.report_id)
    assert (stored.escalating, stored.risk, stored.deadline_at) == ("indicators", "critical",
                                                                    NOW + timedelta(hours=1))


def test_answers_below_the_rule_do_not_flag(escalation):
    assert escalation.assess(doxxing=True, state_actor=True) == "medium"
    stored = report_row(escalation.app, escalation.report_id)
    assert (stored.escalating, stored.risk) == (None, "medium")
    assert not events(escalation.app, "case.escalating") and escalation.waiting() == []


def test_a_new_incident_from_the_reporter_flags_the_case_which_the_reporter_never_sees(escalation):
    before = utcnow()
    assert escalation.reporter_writes(new_incident="y").status_code == 302
    stored = report_row(escalation.app, escalation.report_id)
    assert (stored.escalating, stored.risk) == ("new_incident", "high")
    assert before + timedelta(hours=5) <= stored.deadline_at <= utcnow() + timedelta(hours=5)
    (event,) = events(escalation.app, "case.escalating", escalation.report_id)
    assert event.actor_role == "reporter" and event.actor_id is None
    assert (escalation.coordinator.id, "escalating") in escalation.waiting()
    page = escalation.reporter.client.get("/followup/case").get_data(as_text=True)
    assert "It went on." in page and "Something new has happened since my report" in page
    assert not re.search("escalat", page, re.IGNORECASE)
    assert not re.search(r"\bhigh\b", page, re.IGNORECASE)


def test_a_message_without_the_tick_does_not_flag(escalation):
    assert escalation.reporter_writes().status_code == 302
    assert report_row(escalation.app, escalation.report_id).escalating is None
    assert escalation.waiting() == sorted([(escalation.coordinator.id, "message"),
                                           (escalation.focal_point.id, "message")])


def test_staff_see_the_badge_and_filter_the_queue_by_it(escalation):
    _, other = submit(escalation.reporter, description="A calm case")
    escalation.reporter_writes(new_incident="y")
    browser = escalation.app.test_client()
    assert login(browser, escalation.focal_point).status_code == 302
    page = browser.get(f"/staff/cases/{escalation.report_id}").get_data(as_text=True)
    assert 'id="escalating"' in page and "Escalating: the reporter reported a new incident" in page
    assert "The case was flagged escalating" in page
    calm = browser.get(f"/staff/cases/{other}").get_data(as_text=True)
    assert 'id="escalating"' not in calm
    queue = browser.get("/staff/cases?escalating=1").get_data(as_text=True)
    assert escalation.report_id in queue and other not in queue
    assert other in browser.get("/staff/cases").get_data(as_text=True)


def test_a_holder_marks_the_case_no_longer_escalating_with_a_reason(escalation):
    escalation.reporter_writes(new_incident="y")
    browser = escalation.app.test_client()
    assert login(browser, escalation.focal_point).status_code == 302
    path = f"/staff/cases/{escalation.report_id}"

    def clear(reason: str) -> Any:
        page = browser.get(path).get_data(as_text=True)
        version = re.search(r'name="version" value="(\d+)"', page).group(1)
        return browser.post(f"{path}/escalation/clear",
                            data={"csrf_token": csrf_token_of(page), "version": version, "reason": reason})

    refused = clear("<script>")
    assert refused.status_code == 400
    assert "Please choose why the case is no longer escalating." in refused.get_data(as_text=True)
    assert report_row(escalation.app, escalation.report_id).escalating == "new_incident"
    assert clear("threat_passed").status_code == 302
    stored = report_row(escalation.app, escalation.report_id)
    assert (stored.escalating, stored.risk) == (None, "high")
    (event,) = events(escalation.app, "case.escalation_cleared", escalation.report_id)
    assert json.loads(event.detail) == {"reason": "threat_passed"}
    assert event.actor_id == escalation.focal_point.id
    page = browser.get(f"{path}?done=clear_escalation").get_data(as_text=True)
    assert 'id="escalating"' not in page and 'id="clear-escalation"' not in page
    assert "The case is no longer marked escalating." in page
    assert "The case was marked no longer escalating." in page
    assert clear("threat_passed").status_code == 400  # not escalating any more


def test_a_person_who_does_not_hold_the_case_cannot_clear_it(escalation):
    escalation.reporter_writes(new_incident="y")
    outsider = escalation.staff.make(region="AM")
    browser = escalation.app.test_client()
    assert login(browser, outsider).status_code == 302
    token = csrf_token_of(browser.get("/staff/cases").get_data(as_text=True))
    response = browser.post(f"/staff/cases/{escalation.report_id}/escalation/clear",
                            data={"csrf_token": token, "version": "1", "reason": "threat_passed"})
    assert response.status_code == 404
    assert report_row(escalation.app, escalation.report_id).escalating == "new_incident"
    assert [json.loads(e.detail) for e in events(escalation.app, "case.access_denied", escalation.report_id)]
