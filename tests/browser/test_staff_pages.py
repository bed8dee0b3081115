"""The staff side in real Chromium: enrolment, login with TOTP, logout, users, vetting and the audit log.

Every page is checked with axe-core (WCAG 2.2 A/AA) and every request the browser makes is recorded:
nothing may come from another origin. People are made through the real domain flow (tests.staffing)
on the live server's own app; each TOTP code is used once (StaffAccount.code never repeats a step).
"""

from __future__ import annotations

from collections.abc import Callable

import pyotp
import pytest
from playwright.sync_api import BrowserContext, Page

from tests.browser.accessibility import AxeChecker
from tests.browser.conftest import LiveServer
from tests.browser.keyboard import focused, tab_to
from tests.staffing import StaffAccount, StaffDirectory, directory_of

LOGOUT = "nav.staff-nav form button[type=submit]"


class Requests:
    """Every URL the browser contexts of one test asked for."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.urls: list[str] = []

    def watch(self, context: BrowserContext) -> BrowserContext:
        """Record every request made in `context` (all its pages)."""
        context.on("request", lambda request: self.urls.append(request.url))
        return context

    def assert_own_origin(self) -> None:
        """Fail unless something was recorded and every request went to the live server or data:."""
        assert any(url.endswith("/static/style.css") for url in self.urls), "requests were not recorded"
        foreign = [url for url in self.urls if not url.startswith((self.origin + "/", "data:"))]
        assert not foreign, f"requests to other origins: {foreign}"


@pytest.fixture
def requests(live_server: LiveServer) -> Requests:
    """Return the recorder of this test's requests."""
    return Requests(live_server.origin)


@pytest.fixture
def open_page(new_context: Callable[..., BrowserContext], requests: Requests) -> Callable[[], Page]:
    """Return a factory of desktop pages, each in its own context (its own cookies), all recorded."""

    def make() -> Page:
        context = requests.watch(new_context(viewport={"width": 1280, "height": 900}))
        return context.new_page()

    return make


@pytest.fixture
def staff_page(open_page: Callable[[], Page]) -> Page:
    """Return the first recorded page of the test."""
    return open_page()


@pytest.fixture
def directory(live_server: LiveServer) -> StaffDirectory:
    """Return the directory making real staff in the live server's own app and database."""
    return directory_of(live_server.app)


def submit(page: Page, form: str) -> None:
    """Press the submit button of the form matching `form` and wait for the answer."""
    with page.expect_navigation():
        page.click(f"{form} button[type=submit]")


def log_in(page: Page, account: StaffAccount, axe: AxeChecker | None = None) -> None:
    """Log `account` in through both steps, checking each page with `axe` when given."""
    page.goto("/staff/login")
    if axe:
        axe.assert_clean(page)
    page.fill("#email", account.email)
    page.fill("#password", account.password)
    submit(page, "main form")
    assert "/staff/login/totp" in page.url, page.url
    if axe:
        axe.assert_clean(page)
    page.fill("#code", account.code())
    submit(page, "main form")
    assert page.url.endswith("/staff/"), page.url
    assert account.email in page.inner_text("#staff-identity")


@pytest.mark.parametrize("lang", ["en", "ru", "ka", "hy"])  # the scripts of the region differ
def test_enrolment_in_the_browser(
    staff_page: Page, directory: StaffDirectory, axe: AxeChecker, requests: Requests, lang: str
) -> None:
    page = staff_page
    account = directory.make(state="invited")
    page.goto(f"/staff/enroll/{account.token}?lang={lang}")
    assert page.get_attribute("html", "lang") == lang
    assert page.is_visible("#password") and page.is_visible("#password_confirm")
    axe.assert_clean(page)

    # A mistyped confirmation: the error page is accessible too.
    page.fill("#password", account.password)
    page.fill("#password_confirm", account.password + " typo")
    submit(page, "main form")
    assert page.get_attribute("#password_confirm", "aria-invalid") == "true"
    axe.assert_clean(page)

    page.fill("#password", account.password)
    page.fill("#password_confirm", account.password)
    submit(page, "main form")
    assert page.get_attribute("html", "lang") == lang
    recovery_code = page.inner_text("#recovery-code").strip()
    assert len(recovery_code.replace("-", "").replace(" ", "")) >= 16, recovery_code
    secret = "".join(page.inner_text("#totp-secret").split())
    axe.assert_clean(page)

    totp = pyotp.TOTP(secret)
    page.fill("#code", totp.now())
    submit(page, "main form")
    assert page.get_attribute("html", "lang") == lang
    assert page.is_visible("#enrolment-result")
    axe.assert_clean(page)
    assert directory.person(account).state == "enrolled"
    with page.expect_navigation():
        page.click("main a[href$='/staff/login']")
    assert page.get_attribute("html", "lang") == lang
    assert page.is_visible("#email")
    axe.assert_clean(page)
    # The link is used up.
    page.goto(f"/staff/enroll/{account.token}")
    assert not page.is_visible("#password")
    axe.assert_clean(page)
    requests.assert_own_origin()


def test_login_logout_and_back_button(
    staff_page: Page, directory: StaffDirectory, axe: AxeChecker, requests: Requests
) -> None:
    page = staff_page
    focal_point = directory.make()
    log_in(page, focal_point, axe)
    axe.assert_clean(page)

    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    assert set(cookies) == {"session", "staff-device"}, cookies
    for name in cookies:
        assert cookies[name]["httpOnly"] is True and cookies[name]["sameSite"] == "Strict"
    assert cookies["session"]["expires"] == -1, "the session cookie dies with the browser"
    assert cookies["staff-device"]["expires"] > 0, "the device cookie (a failure budget of its own) lasts"

    with page.expect_navigation():
        page.click(LOGOUT)
    assert page.url.split("?")[0].endswith("/staff/login"), page.url
    assert page.is_visible("#email")

    page.go_back()
    assert page.locator("#staff-identity").count() == 0, "the back button showed the staff home again"
    page.reload()
    assert "/staff/login" in page.url, page.url
    assert page.locator("#staff-identity").count() == 0
    assert focal_point.email not in page.content()
    requests.assert_own_origin()


def test_login_form_completes_with_the_keyboard_only(
    staff_page: Page, directory: StaffDirectory, requests: Requests
) -> None:
    page = staff_page
    focal_point = directory.make()
    page.goto("/staff/login")
    tab_to(page, "#email")
    page.keyboard.type(focal_point.email)
    page.keyboard.press("Tab")
    assert focused(page) == "#password"
    page.keyboard.type(focal_point.password)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/staff/login/totp" in page.url, page.url

    tab_to(page, "#code")
    page.keyboard.type(focal_point.code())
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/staff/"), page.url
    assert focal_point.email in page.inner_text("#staff-identity")
    requests.assert_own_origin()


def test_admin_invites_a_person_and_sees_the_link_once(
    staff_page: Page, open_page: Callable[[], Page], directory: StaffDirectory, axe: AxeChecker,
    live_server: LiveServer, requests: Requests,
) -> None:
    page = staff_page
    log_in(page, directory.admin)
    page.goto("/staff/users")
    assert page.is_visible("#email") and page.is_visible("#role") and page.is_visible("#region")
    axe.assert_clean(page)

    # A form error (no role chosen) is accessible too.
    page.fill("#email", "new.person@example.org")
    submit(page, "main form[action$='/staff/users']")
    assert page.title().startswith("Error:"), page.title()
    assert page.get_attribute("#role", "aria-invalid") == "true" or page.locator("#role-error").count() == 1
    assert page.locator("#enrolment-link").count() == 0
    axe.assert_clean(page)

    page.fill("#email", "new.person@example.org")
    page.select_option("#role", "focal_point")
    page.select_option("#region", "GE")
    submit(page, "main form[action$='/staff/users']")
    link = page.inner_text("#enrolment-link").strip()
    assert link.startswith(live_server.origin + "/staff/enroll/"), link
    assert "new.person@example.org" in page.inner_text("main table")
    axe.assert_clean(page)

    page.goto("/staff/users")  # the link is shown only once
    assert page.locator("#enrolment-link").count() == 0

    invitee = open_page()
    invitee.goto(link)
    assert invitee.is_visible("#password_confirm")
    requests.assert_own_origin()


def test_coordinator_vets_an_enrolled_person(
    staff_page: Page, directory: StaffDirectory, axe: AxeChecker, requests: Requests
) -> None:
    page = staff_page
    newcomer = directory.make(state="enrolled")
    log_in(page, directory.coordinator)
    axe.assert_clean(page)
    with page.expect_navigation():
        page.click(f"main ul.people a:has-text('{newcomer.email}')")
    assert page.url.endswith(f"/staff/users/{newcomer.id}/vet"), page.url
    assert newcomer.email in page.inner_text("main dl")
    axe.assert_clean(page)

    with page.expect_navigation():
        page.click("main form button[value=approve]")
    assert page.url.split("?")[0].endswith("/staff/"), page.url
    assert page.locator("[role=status]").count() >= 1  # the confirmation says what happened
    assert page.locator(f"main ul.people a:has-text('{newcomer.email}')").count() == 0
    assert directory.person(newcomer).state == "active"
    page.goto(f"/staff/users/{newcomer.id}/vet")
    assert page.locator("main form button[value=approve]").count() == 0
    axe.assert_clean(page)
    requests.assert_own_origin()


def test_auditor_reads_the_log_and_verifies_the_chain(
    staff_page: Page, directory: StaffDirectory, axe: AxeChecker, live_server: LiveServer, requests: Requests,
    new_context: Callable[..., BrowserContext],
) -> None:
    from reporter.audit import chain
    from reporter.extensions import db
    from reporter.models import StaffMember

    if "audit" not in live_server.app.blueprints:
        pytest.skip("the audit blueprint is not registered yet")
    officer, case = directory.make(role="focal_point"), "3f2a" + "0" * 28
    with live_server.app.app_context(), db.writing() as session:
        session.get(StaffMember, officer.id).display_name = "Nino Beridze"
        chain.record(session, actor=chain.Actor("focal_point", officer.id), action="case.viewed",
                     object_type="report", object_id=case)
        chain.record(session, actor=chain.Actor("focal_point", officer.id), action="case.status_changed",
                     object_type="report", object_id=case, detail={"from": "new", "to": "assessing"})
        session.commit()
    auditor = directory.make(role="auditor")
    page = staff_page
    log_in(page, auditor)
    # Reading in English: names beside ids, sentences, labelled details, the list of actions.
    page.goto("/audit?lang=en")
    row = page.locator("#audit-events tbody tr", has_text="Opened case 3f2a0000…")
    assert row.count() == 1 and "Nino Beridze" in row.inner_text() and "Focal point" in row.inner_text()
    changed = page.locator("#audit-events tbody tr", has_text="Changed the status of case 3f2a0000…")
    assert "from New to Assessing" in changed.inner_text()
    assert changed.locator("td > dl.detail-list dt").all_inner_texts() == ["From", "To"]
    labels = page.locator("#action option").all_inner_texts()
    assert "Opened case …" in labels and "Logged in" in labels and labels[0] == "Any action"
    changed.locator("details.stored summary").click()
    assert officer.id in changed.locator("details.stored").inner_text()
    axe.assert_clean(page)
    page.select_option("#action", "case.viewed")
    submit(page, "form.audit-filter")
    assert "action=case.viewed" in page.url and page.locator("#audit-events tbody tr").count() == 1
    # The per-person view, from the name.
    page.click("#audit-events tbody tr a:text('Nino Beridze')")
    assert page.inner_text("#person-heading") == "Everything Nino Beridze did"
    assert page.inner_text("#person-role") == "Focal point"
    assert f"actor={officer.id}" in page.url
    axe.assert_clean(page)
    # Every language, scripts on and off. axe-core needs script timers, which a context with JavaScript
    # disabled never runs, so "off" is a context where the site's own scripts are refused: the page is
    # what a browser without JavaScript gets (no template has <noscript>), and axe can still run.
    quiet = requests.watch(new_context(viewport={"width": 1280, "height": 900}))
    quiet.route("**/*.js", lambda route: route.abort())
    no_js = quiet.new_page()
    log_in(no_js, directory.make(role="auditor"))  # each login its own TOTP step: another auditor
    for view in (page, no_js):
        for lang in ("en", "ru", "ka", "hy"):
            for path in ("/audit", f"/audit?actor={officer.id}", f"/audit/cases/{case}", "/audit/verify"):
                view.goto(f"{path}{'&' if '?' in path else '?'}lang={lang}")
                assert view.get_attribute("html", "lang") == lang
                if path != "/audit/verify":
                    assert view.locator("main table tbody tr").count() > 0
                axe.assert_clean(view)
            assert view.inner_text("#chain-status").strip() == "intact"
    # A phone does not scroll sideways.
    phone = new_context(viewport={"width": 360, "height": 740}, is_mobile=True).new_page()
    log_in(phone, directory.make(role="auditor"))
    for path in ("/audit", f"/audit?actor={officer.id}", f"/audit/cases/{case}"):
        phone.goto(path)
        width: int = phone.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 360, f"{path} is {width} px wide"
    requests.assert_own_origin()


def test_no_staff_page_scrolls_sideways_at_360_px(
    new_context: Callable[..., BrowserContext], directory: StaffDirectory, live_server: LiveServer
) -> None:
    import io

    from tests.conftest import Reporter
    from tests.evidence.samples import jpeg_with_metadata

    reporter = Reporter(live_server.app.test_client())
    photo = (io.BytesIO(jpeg_with_metadata()), "a-photo-with-a-rather-long-file-name-from-the-phone.jpg",
             "image/jpeg")
    assert reporter.submit(attachments=[photo]).status_code == 200
    wide: dict[str, object] = {}

    def measure(page: Page, state: str) -> None:
        width: int = page.evaluate("() => document.documentElement.scrollWidth")
        if width > 360:
            culprits = page.evaluate("""() => [...document.querySelectorAll('body *')]
              .filter(e => e.getBoundingClientRect().right > 361)
              .slice(0, 6).map(e => e.tagName + '.' + e.className + ':'
                               + Math.round(e.getBoundingClientRect().right))""")
            wide[state] = (width, culprits)

    for account, paths in ((directory.admin, ["/staff/", "/staff/users", "/staff/password"]),
                           (directory.coordinator, ["/staff/", "/staff/cases", "/staff/routing"])):
        page = new_context(viewport={"width": 360, "height": 740}, is_mobile=True).new_page()
        log_in(page, account)
        for path in paths:
            page.goto(path)
            measure(page, f"{account.role} {path}")
        if account is directory.coordinator:
            page.goto("/staff/cases")
            page.click("#case-queue tbody a")
            measure(page, "a case with a file and its hash")
    assert not wide, f"wider than 360 px: {wide}"
