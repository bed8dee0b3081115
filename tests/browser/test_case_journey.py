"""A case from start to finish in real Chromium, as the people involved live it.

A reporter writes in Russian; the focal point of Georgia logs in with a TOTP code, finds the case in
the queue, assesses the risk and replies; the reporter reads the reply with the receipt and answers;
the focal point reads the answer. A focal point of another region sees none of it. Every page is
checked with axe-core, and every request stays on the server's own origin.

With REPORTER_SCREENSHOTS=1 the queue and the case view are written to docs/screenshots/.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page

from tests.browser.accessibility import AxeChecker
from tests.browser.conftest import LiveServer
from tests.browser.journeys import open_case
from tests.browser.test_staff_pages import Requests, log_in, open_page, requests, submit  # noqa: F401
from tests.staffing import directory_of, route_georgia_to

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
ACCOUNT = "Канал «Правда-24» в Telegram публикует мой домашний адрес и фото моих детей."
REPLY = "Мы получили ваше сообщение. Сегодня свяжемся с вами через Signal."
ANSWER = "Спасибо. Мне можно писать в Signal после 18:00."


def _report_in_russian(page: Page, axe: AxeChecker) -> str:
    page.goto("/report?lang=ru")
    assert page.get_attribute("html", "lang") == "ru"
    page.check("#incident_kind-2")
    page.select_option("#category", "doxxing")
    page.select_option("#country", "GE")
    page.fill("#description", ACCOUNT)
    page.check("#consent")
    axe.assert_clean(page)
    submit(page, "main form")
    return page.inner_text("#receipt").strip()


def test_report_triage_reply_and_answer_across_both_sides(
    open_page: Callable[[], Page], live_server: LiveServer, axe: AxeChecker,  # noqa: F811
    requests: Requests,  # noqa: F811
) -> None:
    directory = directory_of(live_server.app)
    officer = directory.make(role="focal_point", region="GE")
    stranger = directory.make(role="focal_point", region="AM")
    route_georgia_to(live_server.app, officer.id)

    reporter = open_page()
    receipt = _report_in_russian(reporter, axe)

    staff = open_page()
    log_in(staff, officer, axe)
    staff.goto("/staff/cases")
    axe.assert_clean(staff)
    rows = staff.locator("#case-queue tbody tr")
    assert rows.count() == 1
    assert "Доксинг" not in staff.content()  # staff pages speak the officer's language (English here)
    with staff.expect_navigation():
        staff.click("#case-queue tbody tr th a")
    case_url = staff.url
    assert ACCOUNT in staff.inner_text("#case-description")
    axe.assert_clean(staff)

    staff.check("#q-location_exposed")
    staff.check("#q-family_threatened")
    submit(staff, "form[action$='/assess']")
    assert staff.inner_text("#case-risk").strip() == "High"
    staff.fill("#message-body", REPLY)
    submit(staff, "form[action$='/message']")
    assert REPLY in staff.inner_text("#messages ~ ol.thread")
    axe.assert_clean(staff)
    if os.environ.get("REPORTER_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        staff.screenshot(path=SCREENSHOTS / "case-view.png", full_page=True)
        staff.goto("/staff/cases")
        staff.screenshot(path=SCREENSHOTS / "case-queue.png", full_page=True)

    open_case(reporter, receipt)
    thread = reporter.inner_text("ol.thread")
    assert REPLY in thread
    assert officer.email not in reporter.content()
    axe.assert_clean(reporter)
    reporter.fill("#body", ANSWER)
    submit(reporter, "form[action$='/followup/case/message']")
    assert ANSWER in reporter.inner_text("ol.thread")
    axe.assert_clean(reporter)

    staff.goto(case_url)
    assert ANSWER in staff.content()

    other = open_page()
    log_in(other, stranger)
    other.goto("/staff/cases")
    assert other.locator("#case-queue tbody tr th a").count() == 0
    response = other.goto(case_url)
    assert response is not None and response.status == 404
    assert ACCOUNT not in other.content() and REPLY not in other.content()
    requests.assert_own_origin()
