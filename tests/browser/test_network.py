"""What the browser fetches: nothing from any other origin, and little enough for a slow phone over Tor."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, Page, Request

from tests.browser.conftest import LiveServer
from tests.browser.journeys import enter_receipt, open_case, send_form, submit_report

pytestmark = pytest.mark.usefixtures("receives_reports")

#: The report form's HTML, stylesheet and scripts together, with headers, as they travel (compressed).
PAGE_BUDGET_BYTES = 30 * 1024


def test_no_page_requests_anything_from_another_origin(page: Page, live_server: LiveServer) -> None:
    requested: list[str] = []
    page.context.on("request", lambda request: requested.append(request.url))

    page.goto("/")
    page.goto("/report")
    page.fill("#description", "errors please")
    send_form(page)
    receipt = submit_report(page)
    page.goto("/followup")
    enter_receipt(page, "AAAA-BBBB-CCCC-DDDD-EEEE")
    open_case(page, receipt)
    page.goto("/no-such-page")
    page.goto("/?lang=ru")
    page.goto("/report")

    assert any(url.endswith("/static/style.css") for url in requested), "requests were not recorded"
    own = (live_server.origin + "/", "data:")
    foreign = [url for url in requested if not url.startswith(own)]
    assert not foreign, f"requests to other origins: {foreign}"


@pytest.mark.parametrize("language", ["en", "ka"])  # Georgian is the heaviest: three bytes a letter
def test_report_form_with_its_css_and_js_travels_in_under_30_kb(
    new_context: Callable[..., BrowserContext], language: str
) -> None:
    page = new_context().new_page()
    finished: list[Request] = []
    page.on("requestfinished", lambda request: finished.append(request))
    page.goto(f"/report?lang={language}", wait_until="load")

    sizes: dict[str, int] = {}
    kinds: dict[str, str] = {}
    for request in finished:
        response = request.response()
        assert response is not None
        assert response.headers.get("content-encoding") in ("zstd", "br", "gzip"), request.url
        transferred = request.sizes()
        sizes[request.url] = transferred["responseHeadersSize"] + transferred["responseBodySize"]
        kinds[request.url] = request.resource_type
    assert sorted(kinds.values()) == ["document", "script", "script", "stylesheet"], kinds
    total = sum(sizes.values())
    assert total < PAGE_BUDGET_BYTES, f"{total} bytes: {sizes}"
