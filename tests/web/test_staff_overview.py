"""The staff home as an overview of the cases a person holds, and the queue filters it links to."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from reporter.cases import openings
from reporter.extensions import db
from reporter.models import CaseOpening, Seal
from reporter.models.base import utcnow
from tests.casework import add_rule, submit, update_report
from tests.conftest import csrf_token_of


def figures(page: str, section: str) -> dict[str, str]:
    """Return the figures of one list of the overview: link target -> the text a person reads."""
    block = re.search(rf'<ul class="figures" id="{section}">(.*?)</ul>', page, re.S)
    assert block is not None, page[:2000]
    return {href.replace("&amp;", "&"): text.strip()
            for href, text in re.findall(r'<a href="([^"]+)">([^<]+)</a>', block.group(1))}


def listed(page: str) -> list[str]:
    """Return the case ids a queue page lists."""
    return re.findall(r'href="/staff/cases/([0-9a-f]{32})"', page)


def reporter_writes(reporter: Any, receipt: str, body: str = "One more thing happened") -> None:
    """Write a follow-up message as the reporter, with the receipt."""
    assert reporter.follow_up(receipt).status_code == 302
    token = csrf_token_of(reporter.client.get("/followup/case").get_data(as_text=True))
    response = reporter.client.post("/followup/case/message", data={"body": body, "csrf_token": token})
    assert response.status_code == 302


def test_overview_counts_the_cases_a_person_holds_and_links_each_figure_to_the_queue(
        app, reporter, make_staff, login):
    focal_point, other = make_staff(), make_staff(region="AM")
    add_rule(app, "GE", [focal_point])
    add_rule(app, "AM", [other])
    _, late = submit(reporter, description="late case")
    _, soon = submit(reporter, description="soon case")
    _, calm = submit(reporter, description="calm case")
    submit(reporter, country="AM", description="someone else's case")
    now = utcnow()
    update_report(app, late, deadline_at=now - timedelta(hours=2), risk="high", status="acknowledged")
    update_report(app, soon, deadline_at=now + timedelta(hours=5), risk="high")
    update_report(app, calm, deadline_at=now + timedelta(days=5), risk="low")
    browser = app.test_client()
    login(browser, focal_point)
    page = browser.get("/staff/").get_data(as_text=True)
    assert "Cases you hold: 3." in page
    attention = figures(page, "overview-attention")
    assert attention["/staff/cases?overdue=1"] == "Overdue: 1"
    assert attention["/staff/cases?due_soon=1"] == "Due within 24 hours: 1"
    assert attention["/staff/cases?unread=1"] == "The reporter wrote since you last opened the case: 0"
    assert attention["/staff/cases?new=1"] == "New to you: 3"  # a first login: every case is new
    status = figures(page, "overview-status")
    assert status["/staff/cases?status=new"] == "New: 2"
    assert status["/staff/cases?status=acknowledged"] == "Acknowledged: 1"
    assert status["/staff/cases?status=closed"] == "Closed: 0"
    risk = figures(page, "overview-risk")
    assert risk["/staff/cases?risk=high"] == "High: 2" and risk["/staff/cases?risk=low"] == "Low: 1"
    assert "late case" not in page and "soon case" not in page  # nothing is decrypted for the overview
    for link, expected in (("/staff/cases?overdue=1", {late}), ("/staff/cases?due_soon=1", {soon}),
                           ("/staff/cases?risk=high", {late, soon}),
                           ("/staff/cases?new=1", {late, soon, calm})):
        queue = browser.get(link)
        assert queue.status_code == 200
        assert set(listed(queue.get_data(as_text=True))) == expected, link


def test_a_reporter_message_counts_as_unread_until_the_person_opens_the_case(
        app, reporter, make_staff, login):
    focal_point = make_staff()
    add_rule(app, "GE", [focal_point])
    receipt, report_id = submit(reporter)
    _, quiet = submit(reporter)
    browser = app.test_client()
    login(browser, focal_point)
    reporter_writes(reporter, receipt)
    page = browser.get("/staff/").get_data(as_text=True)
    assert figures(page, "overview-attention")["/staff/cases?unread=1"].endswith(": 1")
    assert listed(browser.get("/staff/cases?unread=1").get_data(as_text=True)) == [report_id]
    assert browser.get(f"/staff/cases/{report_id}").status_code == 200
    page = browser.get("/staff/").get_data(as_text=True)
    assert figures(page, "overview-attention")["/staff/cases?unread=1"].endswith(": 0")
    assert listed(browser.get("/staff/cases?unread=1").get_data(as_text=True)) == []
    reporter_writes(reporter, receipt, "And another")  # in the same hour as the opening: still told apart
    assert listed(browser.get("/staff/cases?unread=1").get_data(as_text=True)) == [report_id]
    assert quiet not in listed(browser.get("/staff/cases?unread=1").get_data(as_text=True))


def test_opening_a_case_is_remembered_per_person_and_case(app, reporter, make_staff, login):
    focal_point = make_staff()
    add_rule(app, "GE", [focal_point])
    _, report_id = submit(reporter)
    browser = app.test_client()
    login(browser, focal_point)
    for _ in range(2):  # the second view updates the same row
        assert browser.get(f"/staff/cases/{report_id}").status_code == 200
    with app.app_context():
        rows = db.session.scalars(select(CaseOpening).where(CaseOpening.report_id == report_id)).all()
        assert [(row.staff_id, row.seen_seq) for row in rows] == [(focal_point.id, 0)]


def test_new_counts_cases_that_reached_the_person_since_the_previous_login(app, reporter, make_staff, login):
    focal_point = make_staff()
    add_rule(app, "GE", [focal_point])
    _, old = submit(reporter)
    login(app.test_client(), focal_point)
    with app.app_context():  # the old case reached the person well before that first login
        first_login = openings.previous_login(db.session, focal_point.id)
        assert first_login is None
        db.session.execute(Seal.__table__.update().where(Seal.report_id == old).values(
            created_at=utcnow() - timedelta(hours=3)))
        db.session.commit()
    browser = app.test_client()
    login(browser, focal_point)
    _, fresh = submit(reporter)
    page = browser.get("/staff/").get_data(as_text=True)
    assert figures(page, "overview-attention")["/staff/cases?new=1"] == "New since your previous login: 1"
    assert listed(browser.get("/staff/cases?new=1").get_data(as_text=True)) == [fresh]
    with app.app_context():
        assert openings.previous_login(db.session, focal_point.id) is not None


def test_people_who_hold_no_cases_see_no_overview(app, staff_directory, login):
    browser = app.test_client()
    login(browser, staff_directory.admin)
    page = browser.get("/staff/")
    assert page.status_code == 200 and 'id="case-overview"' not in page.get_data(as_text=True)


def test_queue_shows_the_new_filters_checked(app, reporter, make_staff, login):
    focal_point = make_staff()
    add_rule(app, "GE", [focal_point])
    submit(reporter)
    browser = app.test_client()
    login(browser, focal_point)
    page = browser.get("/staff/cases?due_soon=1&unread=1&new=1&status=new").get_data(as_text=True)
    for name in ("f-due-soon", "f-unread", "f-new"):
        assert re.search(rf'id="{name}"[^>]* checked', page), name
    assert browser.get("/staff/cases?due_soon=yes&unread=%00&new=").status_code == 200


def test_queue_marks_the_cases_with_reporter_messages_the_person_has_not_seen(
        app, reporter, make_staff, login):
    focal_point = make_staff()
    add_rule(app, "GE", [focal_point])
    receipt, written = submit(reporter)
    _, quiet = submit(reporter)
    browser = app.test_client()
    login(browser, focal_point)
    reporter_writes(reporter, receipt)
    page = browser.get("/staff/cases").get_data(as_text=True)
    rows = {case: row for row in re.findall(r"<tr.*?</tr>", page, re.S)
            for case in listed(row)}
    assert "New message from the reporter" in rows[written]
    assert "New message from the reporter" not in rows[quiet]
    browser.get(f"/staff/cases/{written}")
    assert "New message from the reporter" not in browser.get("/staff/cases").get_data(as_text=True)


def test_queue_finds_a_case_by_the_first_characters_of_its_id(app, reporter, make_staff, login):
    focal_point = make_staff()
    add_rule(app, "GE", [focal_point])
    _, wanted = submit(reporter)
    _, other = submit(reporter)
    browser = app.test_client()
    login(browser, focal_point)
    for typed in (wanted[:4], wanted[:9].upper(), f"  {wanted}  "):
        response = browser.get("/staff/cases", query_string={"id": typed, "status": "new"})
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        found = listed(page)
        assert wanted in found and (other not in found or other.startswith(typed.strip().lower()))
        assert f'value="{typed}"' in page  # the search stays in the form, and in the URL of the GET form
    assert listed(browser.get(f"/staff/cases?id={other[:8]}&status=closed").get_data(as_text=True)) == []


def test_a_bad_case_id_search_says_what_is_wrong_and_lists_nothing(app, reporter, make_staff, login):
    focal_point = make_staff()
    add_rule(app, "GE", [focal_point])
    submit(reporter)
    browser = app.test_client()
    login(browser, focal_point)
    for typed in ("abc", "zzzz", "12 34", "<script>", "%", "a" * 40, "\x00abcd"):
        response = browser.get("/staff/cases", query_string={"id": typed})
        assert response.status_code == 400, typed
        page = response.get_data(as_text=True)
        assert "Enter at least its first 4 characters." in page and 'aria-invalid="true"' in page
        assert listed(page) == [] and "<script>" not in page
