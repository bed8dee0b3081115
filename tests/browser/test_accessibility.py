"""Every reporter page, in every state a reporter meets, passes axe-core's WCAG 2.2 A/AA rules.

One walk per language through all the states (rather than one test per state) keeps the run quick:
injecting and running axe dominates the cost, the walk adds little. Every state is checked even when
an earlier one fails, and the failure lists the violations of all of them.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.accessibility import AxeChecker, describe
from tests.browser.journeys import enter_receipt, open_case, send_form, submit_report

pytestmark = pytest.mark.usefixtures("receives_reports")


@pytest.mark.parametrize("scripts", ["on", "off"])
@pytest.mark.parametrize("language", ["en", "ru", "ka", "hy"])  # the scripts of the region differ
def test_every_reporter_page_has_no_wcag_violations(page: Page, axe: AxeChecker, language: str,
                                                     scripts: str) -> None:
    problems: dict[str, str] = {}
    if scripts == "off":
        # The page as Tor Browser's safest level shows it: none of the site's scripts run. (axe itself
        # needs JavaScript, so the site's own files are refused rather than JavaScript switched off.)
        page.route("**/static/*.js", lambda route: route.abort())

    def check(state: str) -> None:
        html_lang = page.get_attribute("html", "lang")
        if html_lang != language:
            problems[state] = f'<html lang="{html_lang}">, expected "{language}"'
            return
        found = axe.violations(page)
        if found:
            problems[state] = describe(found)

    page.goto(f"/?lang={language}")  # the choice is kept in the session for the pages that follow
    check("home")

    page.goto("/safety")
    check("how to report safely")

    page.goto("/report")
    check("empty form")

    page.fill("#description", "Only a description, nothing else chosen")
    send_form(page)
    assert page.is_visible(".error-summary")
    check("form with errors, error summary shown")

    receipt = submit_report(page)
    check("receipt")

    page.goto("/followup")
    check("follow-up")

    enter_receipt(page, "AAAA-BBBB-CCCC-DDDD-EEEE")
    assert page.is_visible(".error-summary")
    check("follow-up with a wrong receipt")

    open_case(page, receipt)
    check("case")

    response = page.goto("/no-such-page")
    assert response is not None and response.status == 404
    check("not found (404)")

    assert not problems, "\n\n".join(f"== {state}\n{text}" for state, text in problems.items())


def test_the_checker_reports_a_violation_when_there_is_one(page: Page, axe: AxeChecker) -> None:
    page.goto("/")
    page.evaluate("() => document.querySelector('main').appendChild(document.createElement('img'))")
    found = axe.violations(page)
    assert "image-alt" in {violation["id"] for violation in found}, describe(found)
