"""The security headers reach the browser and do their work there: no script of an attacker runs."""

from __future__ import annotations

import pytest
from playwright.sync_api import Dialog, Page

from tests.browser.journeys import open_case, submit_report

pytestmark = pytest.mark.usefixtures("receives_reports")

SCRIPTED = '<script>alert("description")</script><img src=x onerror=alert("img")> end'

_INJECT_INLINE_SCRIPT = """() => new Promise((resolve) => {
  const violations = [];
  document.addEventListener("securitypolicyviolation", (event) => violations.push(event.violatedDirective));
  const script = document.createElement("script");
  script.textContent = "window.inlineScriptRan = true;";
  document.body.appendChild(script);
  const button = document.createElement("button");
  button.setAttribute("onclick", "window.inlineHandlerRan = true;");
  document.body.appendChild(button);
  button.click();
  setTimeout(() => resolve({
    script: window.inlineScriptRan === true, handler: window.inlineHandlerRan === true, violations,
  }), 100);
})"""


def _record_dialogs(page: Page) -> list[str]:
    """Dismiss and record every alert, confirm or prompt the page opens from now on."""
    dialogs: list[str] = []

    def record(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", record)
    return dialogs


def test_script_typed_into_a_report_is_shown_as_text_and_never_runs(page: Page) -> None:
    dialogs = _record_dialogs(page)
    receipt = submit_report(page, description=SCRIPTED)
    open_case(page, receipt)

    assert SCRIPTED in page.inner_text("main")
    assert page.locator("main script, main img").count() == 0
    assert dialogs == []


def test_csp_blocks_inline_script_on_the_case_page(page: Page) -> None:
    dialogs = _record_dialogs(page)
    receipt = submit_report(page)
    open_case(page, receipt)

    outcome = page.evaluate(_INJECT_INLINE_SCRIPT)
    assert outcome["script"] is False and outcome["handler"] is False, outcome
    assert "script-src-elem" in outcome["violations"] or "script-src" in outcome["violations"], outcome
    assert dialogs == []


def test_every_security_header_reaches_the_browser(page: Page) -> None:
    response = page.goto("/report")
    assert response is not None
    headers = response.all_headers()
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp and "'unsafe-inline'" not in csp
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert "camera=()" in headers["permissions-policy"]
    assert "no-store" in headers["cache-control"]
    cookies = page.context.cookies()
    assert cookies, "the form's session cookie was not set"
    for cookie in cookies:
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["expires"] == -1, cookie
