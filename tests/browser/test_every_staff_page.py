"""Every staff and audit page, for every role, in four scripts, with JavaScript on and off.

Each page state is checked with axe-core (WCAG 2.2 A/AA, zero violations), must carry the chosen
language on <html>, and, with scripts off, is seen on a 360 px phone that must not scroll sideways.
The states include a form error and a case with a file and its hash, the pages most likely to break.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from flask import Flask
from playwright.sync_api import BrowserContext, Page
from sqlalchemy import update

from reporter.models import Report, StaffMember
from reporter.models.base import utcnow
from tests.browser.accessibility import AxeChecker
from tests.browser.conftest import LiveServer
from tests.browser.test_staff_intake import enter_for_someone
from tests.browser.test_staff_pages import log_in, submit
from tests.casework import writing
from tests.staffing import StaffAccount, StaffDirectory, directory_of, route_georgia_to

LONG_NAME = "a-photo-with-a-rather-long-file-name-from-the-phone-of-the-reporter.jpg"


def with_partners(app: Flask, directory: StaffDirectory) -> tuple[str, ...]:
    """Register a confirmed partner and one waiting for the coordinator; return the partner pages."""
    from reporter.cases import partners
    from reporter.crypto import partner_files, seals

    second = directory.make(role="coordinator")
    with writing(app) as session:
        for name, by in (("Legal Aid Tbilisi", second), ("Shelter Batumi", second)):
            pair = seals.generate_keypair()
            person = session.get(StaffMember, by.id)
            assert person is not None
            partners.register(session, person=person, public_name=name, now=utcnow(),
                              key_text=partner_files.public_key_text(pair.public, pair.suite))
        confirmer = session.get(StaffMember, directory.coordinator.id)
        assert confirmer is not None
        first = partners.listing(session)[0][0]
        partners.confirm(session, first.id, person=confirmer, compared=True, now=utcnow())
    return ("/staff/partners", "/staff/partners?done=registered")


class Walk:
    """One browser context per person, in one language and script setting; collects every problem."""

    def __init__(self, new_context: Callable[..., BrowserContext], axe: AxeChecker, lang: str,
                 scripts: bool) -> None:
        self.new_context, self.axe, self.lang, self.scripts = new_context, axe, lang, scripts
        self.problems: list[str] = []

    def as_person(self, account: StaffAccount) -> Page:
        """Return a page where `account` is logged in (the login pages are checked on the way)."""
        viewport = {"width": 1280, "height": 900} if self.scripts else {"width": 360, "height": 740}
        page = self.new_context(viewport=viewport, is_mobile=not self.scripts).new_page()
        if not self.scripts:
            # As Tor Browser's safest level: none of the site's scripts run (axe itself needs JavaScript).
            page.route("**/static/*.js", lambda route: route.abort())
        page.goto(f"/staff/login?lang={self.lang}")
        self.check(page, "login")
        log_in(page, account)
        return page

    def visit(self, page: Page, path: str) -> None:
        """Open `path` in the walk's language and check it."""
        separator = "&" if "?" in path else "?"
        page.goto(f"{path}{separator}lang={self.lang}")
        self.check(page, path)

    def check(self, page: Page, state: str) -> None:
        """Record what is wrong with the page as it is now."""
        if page.get_attribute("html", "lang") != self.lang:
            self.problems.append(f"{state}: <html lang> is {page.get_attribute('html', 'lang')}")
        found = self.axe.violations(page)

        if found:
            self.problems.append(f"{state}: axe {[v['id'] for v in found]} {found[0]['nodes'][:2]}")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        if not self.scripts and width > 360:
            self.problems.append(f"{state}: {width} px wide at 360 px")


@pytest.mark.parametrize("scripts", [True, False], ids=["scripts-on", "scripts-off"])
@pytest.mark.parametrize("lang", ["en", "ru", "ka", "hy"])  # the scripts of the region differ
def test_every_staff_page_of_every_role_passes_axe_and_fits_a_phone(
    new_context: Callable[..., BrowserContext], live_server: LiveServer, axe: AxeChecker, lang: str,
    scripts: bool,
) -> None:
    from tests.conftest import Reporter
    from tests.evidence.samples import jpeg_with_metadata

    directory = directory_of(live_server.app)
    officer = directory.make(role="focal_point", region="GE")
    newcomer = directory.make(state="enrolled", region="GE")
    route_georgia_to(live_server.app, officer.id)
    photo = (io.BytesIO(jpeg_with_metadata()), LONG_NAME, "image/jpeg")
    assert Reporter(live_server.app.test_client()).submit(attachments=[photo],
                                                          referral_consent="y").status_code == 200
    for _ in range(2):  # two cases naming one account: a row on the linked accounts page
        linked = Reporter(live_server.app.test_client()).submit(
            incident_kind="online", **{"online-0-platform": "telegram", "online-0-account": "@same.troll"})
        assert linked.status_code == 200
    with writing(live_server.app) as session:  # every case escalating: its badge and form are walked too
        session.execute(update(Report).values(escalating="new_incident"))
    partner_pages = with_partners(live_server.app, directory)
    walk = Walk(new_context, axe, lang, scripts)

    page = walk.as_person(directory.admin)
    for path in ("/staff/", "/staff/users", "/staff/password"):
        walk.visit(page, path)
    page.goto(f"/staff/users?lang={lang}")
    page.fill("#email", "new.person@example.org")
    submit(page, "main form[action$='/staff/users']")  # no role chosen: the form's error state
    walk.check(page, "/staff/users with an error")

    page = walk.as_person(directory.coordinator)
    for path in ("/staff/", "/staff/cases", "/staff/routing", f"/staff/users/{newcomer.id}/vet",
                 "/staff/routing?done=saved", "/staff/?done=vet_approve",
                 "/staff/linked-accounts"):
        walk.visit(page, path)
    page.goto(f"/staff/replies?lang={lang}")
    page.fill("#reply-title", "First contact")
    page.fill("#reply-body", "Thank you for writing to us. We have read your report.")
    submit(page, "main form[action$='/staff/replies']")
    walk.check(page, "/staff/replies with a template")
    walk.visit(page, "/staff/replies?done=deleted")
    for path in partner_pages:
        walk.visit(page, path)
    page.goto(f"/staff/partners?lang={lang}")
    page.fill("#partner-name", "Too much")
    page.fill("#partner-key", "not a key")
    submit(page, "main form[action$='/staff/partners']")  # a key that is not one: the form's error state
    walk.check(page, "/staff/partners with an error")
    walk.visit(page, "/staff/cases")
    with page.expect_navigation():
        page.click("#case-queue tbody tr th a")
    case_path = page.url.split("?")[0].removeprefix(live_server.origin)
    walk.check(page, "a case with a file and its hash")
    page.fill("#campaign-name", "Smear wave against mediators")
    submit(page, "main form[action$='/campaigns']")
    walk.check(page, "a case in a campaign")
    campaign_path = page.get_attribute("#case-campaigns a", "href") or ""
    for path in ("/staff/campaigns", campaign_path, f"{campaign_path}?done=created"):
        walk.visit(page, path)
    page.goto(f"/staff/campaigns?lang={lang}")
    submit(page, "main form[action$='/staff/campaigns']")  # no name: the form's error state
    walk.check(page, "/staff/campaigns with an error")

    page = walk.as_person(officer)
    for path in ("/staff/", "/staff/cases", case_path, "/staff/password",
                 "/staff/cases?due_soon=1&unread=1&new=1&overdue=1&escalating=1", "/staff/cases?id=zz",
                 f"{case_path}?done=note", f"{case_path}?done=assess", "/staff/campaigns", campaign_path,
                 "/staff/intake"):  # last: its form is sent empty below
        walk.visit(page, path)
    submit(page, "main form#report-form")  # nothing filled in: the staff intake form's error state
    walk.check(page, "/staff/intake with errors")
    enter_for_someone(page)
    walk.check(page, "the receipt to hand over")
    with page.expect_navigation():
        page.click("#handed-over")
    walk.check(page, "a case entered by staff")

    page = walk.as_person(directory.make(role="auditor"))
    report_id = case_path.rsplit("/", 1)[-1]
    for path in ("/audit", "/audit/verify", f"/audit/cases/{report_id}", "/audit?action=case.opened"):
        walk.visit(page, path)

    assert not walk.problems, "\n".join(walk.problems)
