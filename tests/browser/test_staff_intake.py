"""In the browser: an officer enters a report for someone, hands the receipt over, and the person follows
it up, adding a place online; every page passes axe."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import BrowserContext, Page

from tests.browser.accessibility import AxeChecker
from tests.browser.conftest import LiveServer
from tests.browser.journeys import DESCRIPTION, fill_report, open_case
from tests.browser.test_staff_pages import log_in, submit
from tests.staffing import directory_of

ADD = "form[action$='/followup/case/online']"


def enter_for_someone(page: Page) -> str:
    """Fill the open staff intake form with a valid report, send it; return the receipt shown."""
    fill_report(page)
    submit(page, "main form#report-form")
    receipt = page.inner_text("#receipt").strip()
    assert len(receipt) == 24, receipt
    return receipt


def test_a_person_follows_up_the_report_an_officer_entered_for_them(
    new_context: Callable[..., BrowserContext], live_server: LiveServer, axe: AxeChecker,
) -> None:
    officer = directory_of(live_server.app).make(role="focal_point", region="GE")
    staff = new_context().new_page()
    log_in(staff, officer)
    staff.click("nav.staff-nav a[href$='/staff/intake']")
    staff.wait_for_url("**/staff/intake")
    axe.assert_clean(staff)
    receipt = enter_for_someone(staff)
    axe.assert_clean(staff)
    with staff.expect_navigation():
        staff.click("#handed-over")
    assert "Entered by staff" in staff.inner_text("#entered-by")
    assert "/staff/intake" not in staff.url

    person = new_context().new_page()
    open_case(person, receipt)
    assert DESCRIPTION in person.inner_text("main")
    submit(person, ADD)  # no platform chosen
    assert person.is_visible("#online-0-platform-error")
    axe.assert_clean(person)
    person.select_option("#online-0-platform", "telegram")
    person.fill("#online-0-account", "@Some.Troll")
    submit(person, ADD)
    assert person.is_visible("#online-added") and "some.troll" in person.inner_text("main")
    axe.assert_clean(person)
