"""Key renewal in the browser: asking on the home page and the people page, and the new recovery code
shown once at the next login. Every state is checked with axe (WCAG 2.2 A/AA, zero violations)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.accessibility import AxeChecker
from tests.browser.conftest import LiveServer
from tests.browser.test_staff_pages import LOGOUT, log_in, submit
from tests.staffing import StaffDirectory, directory_of


@pytest.fixture
def directory(live_server: LiveServer) -> StaffDirectory:
    """Return the directory making real staff in the live server's own app and database."""
    return directory_of(live_server.app)


@pytest.mark.parametrize("lang", ["en", "ka"])
def test_a_person_asks_for_a_new_key_and_sees_the_new_recovery_code_once(
        page: Page, directory: StaffDirectory, axe: AxeChecker, lang: str) -> None:
    focal_point = directory.make()
    log_in(page, focal_point)
    page.goto(f"/staff/?lang={lang}")
    axe.assert_clean(page)
    submit(page, "#key-renewal")
    assert page.locator("#key-renewal[role=status]").count() == 1
    axe.assert_clean(page)
    with page.expect_navigation():
        page.click(LOGOUT)

    page.goto("/staff/login")
    page.fill("#email", focal_point.email)
    page.fill("#password", focal_point.password)
    submit(page, "main form")
    page.fill("#code", focal_point.code())
    submit(page, "main form")
    assert page.locator("#recovery-code").count() == 1
    axe.assert_clean(page)
    with page.expect_navigation():
        page.click("main a.button")
    assert page.url.endswith("/staff/"), page.url


def test_an_admin_asks_for_a_renewal_on_the_people_page(
        page: Page, directory: StaffDirectory, axe: AxeChecker) -> None:
    focal_point = directory.make()
    log_in(page, directory.admin)
    page.goto("/staff/users")
    axe.assert_clean(page)
    submit(page, f"form[action$='/staff/users/{focal_point.id}/renew-key']")
    assert focal_point.email in page.inner_text("main .notice")
    axe.assert_clean(page)
