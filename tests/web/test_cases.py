"""The staff side of cases over HTTP: queue, case view, actions, routing rules, and what the reporter
sees of it. Each test asserts what a person, or an attacker, observes in the browser."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from reporter.audit import chain
from reporter.cases import holding, queue
from reporter.extensions import db
from reporter.models import AuditEvent, CaseEntry, RoutingRule
from reporter.models.base import utcnow
from tests import casework
from tests.casework import add_rule, events, holders_of, report_row, submit, update_report
from tests.conftest import Reporter, csrf_token_of
from tests.staffing import StaffAccount

XSS = ('<script>alert("x1")</script>', '<img src=x onerror=alert("x2")>', "{{7*7}}{% include 'base.html' %}")
ACTIONS = ("triage", "assess", "note", "message", "refer")


@dataclass
class World:
    """Two regions with a coordinator and a focal point each, a focal point of a third, three reports."""

    app: Any
    ge_coordinator: StaffAccount
    ge_focal_point: StaffAccount
    am_coordinator: StaffAccount
    am_focal_point: StaffAccount
    az_focal_point: StaffAccount
    ge_doxxing: str
    ge_threat: str
    am_case: str

    def browser(self, login: Any, account: StaffAccount) -> Any:
        """Return a new browser logged in as `account`."""
        client = self.app.test_client()
        response = login(client, account)
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
        return client


@pytest.fixture
def world(app, reporter, make_staff, staff_directory) -> World:
    ge_focal_point, am_coordinator = make_staff(), make_staff(role="coordinator", region="AM")
    am_focal_point, az_focal_point = make_staff(region="AM"), make_staff(region="AZ")
    add_rule(app, "GE", [ge_focal_point])
    add_rule(app, "AM", [am_focal_point])
    _, ge_doxxing = submit(reporter, category="doxxing", description="GE doxxing case")
    _, ge_threat = submit(reporter, category="threat", description="GE threat case")
    _, am_case = submit(reporter, country="AM", description="AM case")
    return World(app, staff_directory.coordinator, ge_focal_point, am_coordinator, am_focal_point,
                 az_focal_point, ge_doxxing, ge_threat, am_case)


def listed(page: str) -> list[str]:
    """Return the case ids a queue page lists, in order."""
    return re.findall(r'href="/staff/cases/([0-9a-f]{32})"', page)


def form_token(browser: Any, report_id: str) -> str:
    """Return a CSRF token from the case page (which also records a view)."""
    return csrf_token_of(browser.get(f"/staff/cases/{report_id}").get_data(as_text=True))


# Queue -------------------------------------------------------------------------------------------

def test_queue_lists_only_the_cases_a_person_holds(world, login):
    expected = [
        (world.ge_focal_point, {world.ge_doxxing, world.ge_threat}),
        (world.ge_coordinator, {world.ge_doxxing, world.ge_threat}),
        (world.am_focal_point, {world.am_case}),
        (world.am_coordinator, {world.am_case}),
        (world.az_focal_point, set()),
    ]
    for account, ids in expected:
        page = world.browser(login, account).get("/staff/cases").get_data(as_text=True)
        assert set(listed(page)) == ids, account.email
        if not ids:
            assert "No cases match these filters." in page


def test_queue_filters_narrow_the_list(world, login):
    now = utcnow()
    update_report(world.app, world.ge_doxxing, status="acknowledged", risk="high")
    update_report(world.app, world.ge_threat, deadline_at=now - timedelta(hours=1), needs_routing=True)
    browser = world.browser(login, world.ge_coordinator)
    cases = {
        "status=acknowledged": [world.ge_doxxing],
        "status=new": [world.ge_threat],
        "risk=high": [world.ge_doxxing],
        "risk=unknown": [world.ge_threat],
        "country=GE": [world.ge_threat, world.ge_doxxing],
        "country=ge": [world.ge_threat, world.ge_doxxing],
        "country=AM": [],
        "category=threat": [world.ge_threat],
        "overdue=1": [world.ge_threat],
        "waiting=1": [world.ge_threat],
        "status=acknowledged&risk=high&category=doxxing": [world.ge_doxxing],
        "status=acknowledged&overdue=1": [],
    }
    for query, ids in cases.items():
        response = browser.get(f"/staff/cases?{query}")
        assert response.status_code == 200 and listed(response.get_data(as_text=True)) == ids, query


@pytest.mark.parametrize("query", [
    "status=hacked", "risk=%3Cscript%3E", "country=ZZZ", "country=1%27%20OR%201=1", "category=../../etc",
    "overdue=yes", "waiting=maybe", "page=abc", "page=-5", "page=0", "page=" + "9" * 40, "page=1e9",
    "status=" + "x" * 5000, "status=new&status=closed", "country=%00%00", "category=",
])
def test_bad_filter_values_are_ignored(world, login, query):
    response = world.browser(login, world.ge_focal_point).get(f"/staff/cases?{query}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<script>" not in page
    if "status=new" not in query and "country=" not in query:
        assert set(listed(page)) == {world.ge_doxxing, world.ge_threat}


def test_queue_pages_keep_the_filters(app, reporter, make_staff, login, staff_directory, monkeypatch):
    monkeypatch.setattr(queue, "PAGE_SIZE", 2)
    ids = [submit(reporter, category="threat")[1] for _ in range(3)]
    submit(reporter, category="doxxing")
    browser = app.test_client()
    login(browser, staff_directory.coordinator)
    first = browser.get("/staff/cases?category=threat").get_data(as_text=True)
    assert len(listed(first)) == 2 and "Page 1 of 2" in first
    assert 'href="/staff/cases?page=2&amp;category=threat"' in first
    second = browser.get("/staff/cases?category=threat&page=2").get_data(as_text=True)
    assert len(listed(second)) == 1 and "Page 2 of 2" in second
    assert set(listed(first) + listed(second)) == set(ids)
    beyond = browser.get("/staff/cases?category=threat&page=99").get_data(as_text=True)
    assert listed(beyond) == listed(second)


def test_queue_puts_the_most_urgent_first_and_flags_overdue(app, reporter, login, staff_directory):
    now = utcnow()
    deadlines = {"later": now + timedelta(hours=10), "none": None, "overdue": now - timedelta(hours=1),
                 "soon": now + timedelta(hours=1)}
    ids = {name: submit(reporter)[1] for name in deadlines}
    for name, deadline in deadlines.items():
        update_report(app, ids[name], deadline_at=deadline)
    browser = app.test_client()
    login(browser, staff_directory.coordinator)
    page = browser.get("/staff/cases").get_data(as_text=True)
    assert listed(page) == [ids["overdue"], ids["soon"], ids["later"], ids["none"]]
    rows = page.split("<tr")
    (overdue_row,) = [row for row in rows if ids["overdue"] in row]
    assert 'class="overdue"' in overdue_row and "Overdue" in overdue_row
    assert all('class="overdue"' not in row for row in rows if ids["soon"] in row)


# Case view ---------------------------------------------------------------------------------------

def test_each_case_view_writes_exactly_one_audit_event(world, login):
    browser = world.browser(login, world.ge_focal_point)
    for expected in (1, 2):
        before = casework.count(world.app, AuditEvent)
        response = browser.get(f"/staff/cases/{world.ge_doxxing}")
        assert response.status_code == 200 and "GE doxxing case" in response.get_data(as_text=True)
        assert casework.count(world.app, AuditEvent) == before + 1
        viewed = events(world.app, "case.viewed", world.ge_doxxing)
        assert len(viewed) == expected
        assert (viewed[-1].actor_id, viewed[-1].actor_role) == (world.ge_focal_point.id, "focal_point")
    assert browser.get("/staff/cases").status_code == 200
    assert len(events(world.app, "case.viewed")) == 2  # the queue decrypts nothing and records nothing


def test_case_view_survives_another_writer_committing_meanwhile(world, login, monkeypatch):
    """Viewing writes an audit event: a write committed by another request while the view reads must
    not make the view fail (SQLite refuses to upgrade a read transaction whose snapshot is stale)."""
    browser = world.browser(login, world.ge_focal_point)
    holders, threads, written = holding.holders, [], []

    def holders_while_another_request_writes(session: Any, report_id: str) -> set[str]:
        if threads:  # only the first call, inside open_case, between its reads and its audit write
            return holders(session, report_id)

        def write() -> None:
            with world.app.app_context(), db.writing() as elsewhere:
                chain.record(elsewhere, actor=chain.SYSTEM, action="test.elsewhere")
                elsewhere.commit()
                written.append(True)

        thread = threading.Thread(target=write)
        thread.start()
        thread.join(1.0)  # a writer that must wait for this request's lock does not finish in time
        threads.append(thread)
        return holders(session, report_id)

    monkeypatch.setattr(holding, "holders", holders_while_another_request_writes)
    response = browser.get(f"/staff/cases/{world.ge_doxxing}")
    threads[0].join(30)
    assert response.status_code == 200
    assert written == [True]
    stored = casework.count(world.app, AuditEvent)
    with world.app.app_context(), db.writing() as session:
        assert chain.verify_chain(session).events == stored


@pytest.mark.parametrize("intruder", ["am_focal_point", "am_coordinator"])
def test_case_of_someone_else_is_404_for_view_and_every_action(world, login, intruder):
    person = getattr(world, intruder)
    browser = world.browser(login, person)
    token = csrf_token_of(browser.get("/staff/cases").get_data(as_text=True))
    target = world.ge_doxxing
    before = (report_row(world.app, target).version, holders_of(world.app, target))
    data = {"csrf_token": token, "status": "closed", "risk": "low", "version": before[0], "body": "intrusion",
            "to": person.id, "reason": "other", "imminent_danger": "y"}
    paths = [f"/staff/cases/{target}", *(f"/staff/cases/{target}/{action}" for action in ACTIONS)]
    if intruder == "am_coordinator":
        paths.append(f"/staff/cases/{target}/route")
    for path in paths:
        response = browser.get(path) if path.endswith(target) else browser.post(path, data=data)
        page = response.get_data(as_text=True)
        assert response.status_code == 404, path
        assert "GE doxxing case" not in page and world.ge_focal_point.email not in page
    denied = events(world.app, "case.access_denied", target)
    assert len(denied) == len(paths) and {e.actor_id for e in denied} == {person.id}
    assert (report_row(world.app, target).version, holders_of(world.app, target)) == before
    assert casework.count(world.app, CaseEntry) == 0
    assert not events(world.app, "case.viewed", target)
    assert browser.get(f"/staff/cases/{'0' * 32}").status_code == 404
    assert browser.get("/staff/cases/not-a-case-id").status_code == 404


@pytest.mark.parametrize(("action", "fields", "status", "message"), [
    ("triage", {"version": "abc", "status": "closed"}, 400, "out of date"),
    ("triage", {"version": None, "status": "closed"}, 400, "out of date"),
    ("triage", {"version": "-1", "status": "closed"}, 409, "Someone else changed this case"),
    ("triage", {"version": "9" * 40, "status": "closed"}, 409, "Someone else changed this case"),
    ("triage", {"status": "hacked"}, 400, "Please choose a status from the list."),
    ("triage", {"status": "x" * 10_000}, 400, "Please choose a status from the list."),
    ("triage", {"status": "supporting"}, 400, "not allowed from the current status"),
    ("triage", {"risk": "extreme"}, 400, "Please choose a risk level from the list."),
    ("triage", {"risk": "<script>x</script>"}, 400, "Please choose a risk level from the list."),
    ("assess", {"version": "abc", "imminent_danger": "y"}, 400, "out of date"),
    ("assess", {"version": "0", "imminent_danger": "y"}, 409, "Someone else changed this case"),
    ("refer", {"to": "x" * 10_000, "reason": "other"}, 400, "Please choose a person from the list."),
    ("refer", {"to": "", "reason": "other"}, 400, "Please choose a person from the list."),
    ("refer", {"to": "COORDINATOR", "reason": "nope"}, 400, "Please choose why you refer the case."),
    ("refer", {"to": "COORDINATOR", "reason": "other"}, 400, "This person already has this case."),
    ("note", {"body": ""}, 400, "Please write something first."),
    ("note", {"body": "x" * 10_001}, 400, "10000 characters or fewer"),
    ("message", {"body": "nul\x00byte"}, 400, "null character"),
])
def test_tampered_fields_get_a_clear_error_and_change_nothing(world, login, action, fields, status, message):
    browser = world.browser(login, world.ge_focal_point)
    target = world.ge_doxxing
    token = form_token(browser, target)
    before = report_row(world.app, target)
    data = {"version": str(before.version), "csrf_token": token, **fields}
    data = {name: value for name, value in data.items() if value is not None}
    if data.get("to") == "COORDINATOR":
        data["to"] = world.ge_coordinator.id
    response = browser.post(f"/staff/cases/{target}/{action}", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == status, page[:2000]
    assert message in page and "Traceback" not in page
    after = report_row(world.app, target)
    assert (after.version, after.status, after.risk) == (before.version, before.status, before.risk)
    assert casework.count(world.app, CaseEntry) == 0 and not events(world.app, "case.referred")


def test_every_action_of_the_case_page_works_through_the_browser(world, login, make_staff):
    browser = world.browser(login, world.ge_focal_point)
    target, path = world.ge_doxxing, f"/staff/cases/{world.ge_doxxing}"
    colleague = make_staff(region="AM")

    def post(action: str, **data: Any) -> Any:
        page = browser.get(path).get_data(as_text=True)
        version = re.search(r'name="version" value="(\d+)"', page).group(1)
        return browser.post(f"{path}/{action}", data={"csrf_token": csrf_token_of(page), "version": version,
                                                      **data})

    assert post("triage", status="acknowledged", risk="medium").status_code == 302
    assert post("assess", family_threatened="y", location_exposed="y").status_code == 302
    assert post("note", body="A note").status_code == 302
    assert post("message", body="A message").status_code == 302
    assert post("refer", to=colleague.id, reason="language").status_code == 302
    stored = report_row(world.app, target)
    assert (stored.status, stored.risk) == ("referred", "high")
    assert colleague.id in holders_of(world.app, target)
    page = browser.get(path).get_data(as_text=True)
    assert "A note" in page and "A message" in page and "The case was referred." in page
    assert "<code>case.referred</code>" not in page


# Malicious text is inert (E01, E02) --------------------------------------------------------------

def test_script_and_template_text_is_shown_inert_to_staff_and_reporter(app, reporter, make_staff, login):
    focal_point = make_staff()
    add_rule(app, "GE", [focal_point])
    receipt, report_id = submit(reporter, description=" / ".join(XSS), perpetrator=XSS[1], contact=XSS[0])
    browser = app.test_client()
    login(browser, focal_point)
    path = f"/staff/cases/{report_id}"
    for action in ("note", "message"):
        token = csrf_token_of(browser.get(path).get_data(as_text=True))
        response = browser.post(f"{path}/{action}", data={"body": " ".join(XSS), "csrf_token": token})
        assert response.status_code == 302
    assert reporter.follow_up(receipt).status_code == 302
    token = csrf_token_of(reporter.client.get("/followup/case").get_data(as_text=True))
    assert reporter.client.post("/followup/case/message", data={"body": XSS[1] + XSS[2],
                                                                "csrf_token": token}).status_code == 302
    staff_page = browser.get(path).get_data(as_text=True)
    for page in (staff_page, reporter.client.get("/followup/case").get_data(as_text=True)):
        for payload in XSS:
            assert payload not in page
        assert "&lt;script&gt;alert(" in page and "&lt;img src=x onerror=alert(" in page
        assert "{{7*7}}" in page and "{% include &#39;base.html&#39; %}" in page
        assert "<script" not in page.replace('<script src="/static/quick-exit.js"', "")


# What the reporter sees --------------------------------------------------------------------------

def test_reporter_never_sees_notes_assessments_or_who_works_on_the_case(app, reporter, make_staff, login,
                                                                         staff_directory):
    focal_point = make_staff()
    casework.set_display_name(app, focal_point, "Giorgi Staffname")
    add_rule(app, "GE", [focal_point])
    receipt, report_id = submit(reporter)
    browser = app.test_client()
    login(browser, focal_point)
    path = f"/staff/cases/{report_id}"
    steps = (("note", {"body": "NOTE-5f2a internal"}), ("message", {"body": "We read your report."}),
             ("assess", {"state_actor": "y"}), ("triage", {"status": "assessing"}))
    for action, data in steps:
        page = browser.get(path).get_data(as_text=True)
        version = re.search(r'name="version" value="(\d+)"', page).group(1)
        response = browser.post(f"{path}/{action}",
                                data={"csrf_token": csrf_token_of(page), "version": version, **data})
        assert response.status_code == 302
    assert reporter.follow_up(receipt).status_code == 302
    page = reporter.client.get("/followup/case").get_data(as_text=True)
    assert "We read your report." in page and "Protection team" in page
    for hidden in ("NOTE-5f2a", "Giorgi Staffname", focal_point.email, staff_directory.coordinator.email,
                   focal_point.id, "state actor", "Risk level", "medium", "assessment"):
        assert hidden not in page, hidden


def test_a_reporter_session_reaches_no_staff_case_page(world, reporter, make_report):
    receipt = make_report()
    assert reporter.follow_up(receipt).status_code == 302
    client = reporter.client
    for path in ("/staff/cases", f"/staff/cases/{world.ge_doxxing}", "/staff/routing"):
        response = client.get(path)
        assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")
    token = csrf_token_of(client.get("/followup/case").get_data(as_text=True))
    for action in (*ACTIONS, "route"):
        response = client.post(f"/staff/cases/{world.ge_doxxing}/{action}",
                               data={"csrf_token": token, "status": "closed", "body": "x"})
        assert response.status_code == 302 and response.headers["Location"].startswith("/staff/login")
    assert not events(world.app, "case.viewed") and not events(world.app, "case.access_denied")


def test_auditor_and_admin_get_403_on_every_case_route(world, login, make_staff, staff_directory):
    with world.app.app_context(), db.writing() as session:
        rule_id = session.scalars(select(RoutingRule.id)).first()
    for account in (make_staff(role="auditor"), staff_directory.admin):
        browser = world.browser(login, account)
        token = csrf_token_of(browser.get("/staff/").get_data(as_text=True))
        gets = ["/staff/cases", f"/staff/cases/{world.ge_doxxing}", "/staff/routing"]
        posts = [*(f"/staff/cases/{world.ge_doxxing}/{action}" for action in (*ACTIONS, "route")),
                 "/staff/routing", f"/staff/routing/{rule_id}/delete"]
        for path in gets:
            assert browser.get(path).status_code == 403, path
        for path in posts:
            response = browser.post(path, data={"csrf_token": token, "status": "closed", "body": "x"})
            assert response.status_code == 403, path
            assert "GE doxxing case" not in response.get_data(as_text=True)
    assert not events(world.app, "case.viewed")
    assert casework.count(world.app, RoutingRule) == 2


# Routing again through the browser ---------------------------------------------------------------

def test_coordinator_routes_a_case_again_after_its_holder_left(app, reporter, make_staff, login,
                                                               staff_directory):
    leaving, successor = make_staff(), make_staff()
    rule_id = add_rule(app, "GE", [leaving])
    _, report_id = submit(reporter)
    staff_directory.deactivate(leaving, by=make_staff(role="coordinator", region="AM"))
    casework.add_member(app, rule_id, successor)
    browser = app.test_client()
    login(browser, staff_directory.coordinator)
    path = f"/staff/cases/{report_id}"
    page = browser.get(path).get_data(as_text=True)
    assert "Waiting for routing" in page and "Route this case again" in page
    assert "Waiting for routing" in browser.get("/staff/cases?waiting=1").get_data(as_text=True)
    assert browser.post(f"{path}/route", data={"csrf_token": csrf_token_of(page)}).status_code == 302
    assert successor.id in holders_of(app, report_id)
    page = browser.get(path).get_data(as_text=True)
    assert "Route this case again" not in page
    response = browser.post(f"{path}/route", data={"csrf_token": csrf_token_of(page)})
    assert response.status_code == 400 and "not waiting for routing" in response.get_data(as_text=True)


# Routing rules page ------------------------------------------------------------------------------

def _rules(app) -> dict[tuple[str, str, str], set[str]]:
    with app.app_context(), db.writing() as session:
        return {(r.country, r.category, r.language): {m.staff_id for m in r.members}
                for r in session.scalars(select(RoutingRule))}


def test_coordinator_creates_replaces_and_deletes_a_rule(world, login, make_staff):
    extra = make_staff()
    browser = world.browser(login, world.ge_coordinator)
    page = browser.get("/staff/routing").get_data(as_text=True)
    assert world.ge_focal_point.email in page and world.am_focal_point.email not in page
    token = csrf_token_of(page)
    key = ("GE", "threat", "en")
    for members in ([world.ge_focal_point.id], [extra.id, world.ge_focal_point.id], [extra.id]):
        response = browser.post("/staff/routing", data={"category": "threat", "language": "en",
                                                         "members": members, "csrf_token": token})
        assert response.status_code == 302
        assert _rules(world.app)[key] == set(members)
    assert len(events(world.app, "routing.rule_saved")) == 3
    with world.app.app_context(), db.writing() as session:
        rule_id = session.scalars(select(RoutingRule.id).where(RoutingRule.category == "threat")).one()
    assert f"/staff/routing/{rule_id}/delete" in browser.get("/staff/routing").get_data(as_text=True)
    assert browser.post(f"/staff/routing/{rule_id}/delete", data={"csrf_token": token}).status_code == 302
    assert key not in _rules(world.app)
    assert [e.object_id for e in events(world.app, "routing.rule_deleted")] == [rule_id]


@pytest.mark.parametrize(("fields", "message"), [
    ({"category": "threat", "language": "en", "members": ["OTHER_REGION"]},
     "active focal point of your region"),
    ({"category": "threat", "language": "en"}, "active focal point of your region"),
    ({"category": "weather", "language": "en", "members": ["OWN"]}, "Please choose a category"),
    ({"category": "threat", "language": "xx", "members": ["OWN"]}, "Please choose a language"),
    ({"category": "", "language": "en", "members": ["OWN"]}, "Please choose a category"),
    ({"category": "x" * 5000, "language": "en", "members": ["OWN"]}, "Please choose a category"),
    ({"category": "threat", "language": "x" * 5000, "members": ["OWN"]}, "Please choose a language"),
])
def test_bad_rules_are_refused_with_a_message(world, login, fields, message):
    browser = world.browser(login, world.ge_coordinator)
    members = [{"OWN": world.ge_focal_point.id, "OTHER_REGION": world.am_focal_point.id}[m]
               for m in fields.get("members", [])]
    before = _rules(world.app)
    response = browser.post("/staff/routing", data={**fields, "members": members,
                                                     "csrf_token": csrf_token_of(browser.get("/staff/routing")
                                                                                 .get_data(as_text=True))})
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert _rules(world.app) == before


def test_rule_of_another_region_cannot_be_deleted(world, login):
    with world.app.app_context(), db.writing() as session:
        georgian = session.scalars(select(RoutingRule.id).where(RoutingRule.country == "GE")).one()
    browser = world.browser(login, world.am_coordinator)
    page = browser.get("/staff/routing").get_data(as_text=True)
    assert georgian not in page
    for rule_id in (georgian, "0" * 32, "x" * 500):
        assert browser.post(f"/staff/routing/{rule_id}/delete", data={"csrf_token": csrf_token_of(page)}
                            ).status_code == 404
    assert ("GE", "*", "*") in _rules(world.app) and not events(world.app, "routing.rule_deleted")


@pytest.mark.parametrize("forged", [None, "forged-token"])
def test_posts_without_a_valid_csrf_token_are_refused_and_change_nothing(world, login, forged):
    browser = world.browser(login, world.ge_coordinator)
    target = world.ge_doxxing
    before = (report_row(world.app, target).version, _rules(world.app), holders_of(world.app, target))
    version = str(before[0])
    with world.app.app_context(), db.writing() as session:
        rule_id = session.scalars(select(RoutingRule.id).where(RoutingRule.country == "GE")).one()
    attempts = {
        f"/staff/cases/{target}/triage": {"status": "closed", "version": version},
        f"/staff/cases/{target}/assess": {"imminent_danger": "y", "version": version},
        f"/staff/cases/{target}/note": {"body": "forged note"},
        f"/staff/cases/{target}/message": {"body": "forged message"},
        f"/staff/cases/{target}/refer": {"to": world.am_focal_point.id, "reason": "other"},
        f"/staff/cases/{target}/route": {},
        "/staff/routing": {"category": "threat", "language": "en", "members": [world.ge_focal_point.id]},
        f"/staff/routing/{rule_id}/delete": {},
    }
    for path, data in attempts.items():
        if forged:
            data = {**data, "csrf_token": forged}
        response = browser.post(path, data=data)
        assert response.status_code == 400, path
        assert "This form has expired" in response.get_data(as_text=True)
    assert (report_row(world.app, target).version, _rules(world.app), holders_of(world.app, target)) == before
    assert casework.count(world.app, CaseEntry) == 0


def test_reporter_reply_is_audited_and_shown_to_every_holder(world, login, reporter):
    visitor = Reporter(world.app.test_client())
    receipt, report_id = submit(visitor, description="reply case")
    assert visitor.follow_up(receipt).status_code == 302
    token = csrf_token_of(visitor.client.get("/followup/case").get_data(as_text=True))
    response = visitor.client.post("/followup/case/message",
                                   data={"body": "REPLY-77 hello", "csrf_token": token})
    assert response.status_code == 302
    for account in (world.ge_focal_point, world.ge_coordinator):
        page = world.browser(login, account).get(f"/staff/cases/{report_id}").get_data(as_text=True)
        assert "REPLY-77 hello" in page
    empty = visitor.client.post("/followup/case/message", data={"body": "  ", "csrf_token": token})
    assert empty.status_code == 400 and "Please write a message." in empty.get_data(as_text=True)
    assert len(events(world.app, "case.reporter_message", report_id)) == 1
