"""Browser fixtures: the real app served over HTTP on 127.0.0.1, one Chromium per run, pages on it.

Chromium is the Debian package and axe-core the npm package pinned in package.json. Without them the
browser tests are skipped, unless REPORTER_REQUIRE_BROWSER=1 (CI), where a missing piece is a failure.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from werkzeug.serving import BaseWSGIServer, make_server

from reporter.web.privacy import PrivateRequestHandler
from tests.browser.accessibility import AxeChecker
from tests.staffing import ensure_coordinator

CHROMIUM = Path("/usr/bin/chromium")
AXE_SOURCE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
#: Playwright waits this long (ms) at most for any action or navigation; the server is local.
TIMEOUT_MS = 10_000


def _require(path: Path, what: str) -> None:
    if path.is_file():
        return
    message = f"{what} not found at {path}"
    if os.environ.get("REPORTER_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{message}, and REPORTER_REQUIRE_BROWSER=1 forbids skipping", pytrace=False)
    pytest.skip(f"{message}: browser tests skipped")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say how many page states axe-core checked in this run."""
    if AxeChecker.checked:
        terminalreporter.write_line(f"axe-core checked {AxeChecker.checked} page states")


@pytest.fixture(scope="session")
def axe() -> AxeChecker:
    """Return the axe-core checker (skips, or fails under REPORTER_REQUIRE_BROWSER=1, without it)."""
    _require(AXE_SOURCE, "axe-core (npm install)")
    return AxeChecker(AXE_SOURCE.read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """Start Playwright's driver once per run."""
    _require(CHROMIUM, "Chromium (apt-get install chromium)")
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    """Launch one headless Chromium for the whole run."""
    chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()


@dataclass
class LiveServer:
    """The app answering real HTTP on 127.0.0.1."""

    app: Flask
    origin: str

    def url(self, path: str) -> str:
        """Return the absolute URL of `path` on this server."""
        return self.origin + path

    @property
    def quick_exit_url(self) -> str:
        """Return where the quick-exit control leads (a page of this server: no outside network)."""
        return str(self.app.config["REPORTER_QUICK_EXIT_URL"])


@pytest.fixture
def live_server(app_factory: Callable[..., Flask]) -> Iterator[LiveServer]:
    """Serve a fresh app (plain HTTP cookies, its own empty database) from a background thread."""
    app = app_factory(REPORTER_HTTPS=False)
    server: BaseWSGIServer = make_server(
        "127.0.0.1", 0, app, threaded=True, request_handler=PrivateRequestHandler
    )
    origin = f"http://127.0.0.1:{server.server_port}"
    # Set once the port is known, before the first request; templates read it per request.
    app.config["REPORTER_QUICK_EXIT_URL"] = f"{origin}/healthz"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="live-server", daemon=True
    )
    thread.start()
    ensure_coordinator(app)  # a report is only received when someone can read it
    try:
        yield LiveServer(app=app, origin=origin)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def receives_reports(live_server: LiveServer) -> None:
    """Give the served app its bootstrap coordinator: a report is received only when someone can read it."""
    from tests.staffing import ensure_coordinator

    ensure_coordinator(live_server.app)


@pytest.fixture
def new_context(browser: Browser, live_server: LiveServer) -> Iterator[Callable[..., BrowserContext]]:
    """Return a factory of browser contexts on the live server; every one is closed afterwards."""
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        options.setdefault("base_url", live_server.origin)
        options.setdefault("locale", "en-US")
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def new_page(new_context: Callable[..., BrowserContext]) -> Callable[..., Page]:
    """Return a factory of pages, each in its own context made with the given options."""

    def make(**options: Any) -> Page:
        return new_context(**options).new_page()

    return make


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    """Return a page of a desktop browser with scripts on."""
    return new_page(viewport={"width": 1280, "height": 900})


@pytest.fixture
def no_js_page(new_page: Callable[..., Page]) -> Page:
    """Return a page of a browser with JavaScript switched off, as the Tor Browser's safest level."""
    return new_page(java_script_enabled=False, viewport={"width": 1280, "height": 900})


@pytest.fixture
def phone_page(new_page: Callable[..., Page]) -> Page:
    """Return a page of a 360 px wide phone screen at device scale factor 2."""
    return new_page(
        viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
