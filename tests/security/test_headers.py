"""Every response carries the security headers; cookies are session-only and locked down; no page
loads anything from another origin; every page offers the quick exit."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest

from reporter.crypto import receipts
from reporter.web.intake import views
from tests.conftest import VALID_REPORT, Reporter

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "srcset", "poster", "data", "background", "manifest"}


def _fail(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected")


def _rate_limited(reporter: Reporter, app: Any) -> Any:
    app.config["REPORTER_FOLLOWUP_LIMIT"] = "1 per minute"
    reporter.follow_up("0000")
    return reporter.follow_up("0000")


def _server_error(reporter: Reporter, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(views, "submit_report", _fail)
    return reporter.submit()


def _followed_up(reporter: Reporter) -> Reporter:
    receipt = reporter.receipt_of(reporter.submit())
    assert reporter.follow_up(receipt).status_code == 302
    return reporter


Visit = Callable[[Reporter, Any, pytest.MonkeyPatch], Any]
PAGES: dict[str, Visit] = {
    "landing": lambda r, app, mp: r.client.get("/"),
    "landing-ru": lambda r, app, mp: r.client.get("/?lang=ru"),
    "report-form": lambda r, app, mp: r.client.get("/report"),
    "report-invalid": lambda r, app, mp: r.submit(description=""),
    "report-expired-form": lambda r, app, mp: r.client.post("/report", data=VALID_REPORT),
    "receipt": lambda r, app, mp: r.submit(),
    "followup-form": lambda r, app, mp: r.client.get("/followup"),
    "followup-wrong": lambda r, app, mp: r.follow_up(receipts.display(receipts.new_receipt())),
    "followup-redirect": lambda r, app, mp: r.client.get("/followup/case"),
    "case": lambda r, app, mp: _followed_up(r).client.get("/followup/case"),
    "logout": lambda r, app, mp: _followed_up(r).client.post("/followup/logout",
                                                              data={"csrf_token": r.token("/followup")}),
    "csrf-error": lambda r, app, mp: r.client.post("/followup", data={"receipt": "x"}),
    "cross-site": lambda r, app, mp: r.client.post("/report", headers={"Origin": "https://evil.example"}),
    "not-found": lambda r, app, mp: r.client.get("/no-such-page"),
    "wrong-method": lambda r, app, mp: r.client.get("/followup/logout"),
    "too-large": lambda r, app, mp: r.client.post("/report", data={"description": "x" * (2 * 1024 * 1024)}),
    "rate-limited": lambda r, app, mp: _rate_limited(r, app),
    "server-error": lambda r, app, mp: _server_error(r, mp),
    "healthz": lambda r, app, mp: r.client.get("/healthz"),
    "stylesheet": lambda r, app, mp: r.client.get("/static/style.css"),
    "script": lambda r, app, mp: r.client.get("/static/quick-exit.js"),
}
EXPECTED_STATUS = {
    "report-invalid": 400, "report-expired-form": 400, "followup-wrong": 401, "followup-redirect": 302,
    "logout": 302, "csrf-error": 400, "cross-site": 403, "not-found": 404, "wrong-method": 405,
    "too-large": 413, "rate-limited": 429, "server-error": 500,
}
STATIC = {"stylesheet", "script"}
NOT_HTML = STATIC | {"healthz", "followup-redirect", "logout"}
HTML_PAGES = [name for name in PAGES if name not in NOT_HTML]


def _visit(name: str, reporter: Reporter, app: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    response = PAGES[name](reporter, app, monkeypatch)
    assert response.status_code == EXPECTED_STATUS.get(name, 200), name
    return response


def csp_directives(response: Any) -> dict[str, list[str]]:
    """Return the Content-Security-Policy as {directive: sources}."""
    policy = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in filter(None, (p.strip() for p in policy.split(";"))):
        name, *sources = part.split()
        directives[name] = sources
    return directives


@pytest.mark.parametrize("name", list(PAGES))
def test_every_response_carries_the_security_headers(app, reporter, monkeypatch, name):
    response = _visit(name, reporter, app, monkeypatch)
    headers = response.headers
    csp = csp_directives(response)
    assert csp["default-src"] == ["'none'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["script-src"] == ["'self'"] and csp["style-src"] == ["'self'"]
    assert csp["form-action"] == ["'self'"] and csp["base-uri"] == ["'none'"]
    every_source = [source for sources in csp.values() for source in sources]
    assert not [s for s in every_source if s.startswith(("'unsafe", "http", "*")) or s in {"https:", "http:"}]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"] == "no-referrer"
    permissions = {p.strip() for p in headers["Permissions-Policy"].split(",")}
    assert {"camera=()", "microphone=()", "geolocation=()"} <= permissions
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    max_age = re.search(r"max-age=(\d+)", headers.get("Strict-Transport-Security", ""))
    assert max_age and int(max_age.group(1)) >= 365 * 24 * 3600
    if name not in STATIC:
        assert "no-store" in headers["Cache-Control"]


def _set_cookies(responses: list[Any]) -> list[dict[str, str]]:
    cookies = []
    for response in responses:
        for header in response.headers.getlist("Set-Cookie"):
            first, *attributes = (part.strip() for part in header.split(";"))
            name, _, value = first.partition("=")
            parsed = {"name": name, "value": value}
            for attribute in attributes:
                key, _, attribute_value = attribute.partition("=")
                parsed[key.lower()] = attribute_value or "true"
            cookies.append(parsed)
    return cookies


def _journey(reporter: Reporter) -> list[Any]:
    client = reporter.client
    responses = [client.get("/"), client.get("/report?lang=ru"), client.get("/report?lang=en")]
    submitted = reporter.submit()
    responses += [submitted, reporter.follow_up(reporter.receipt_of(submitted)), client.get("/followup/case")]
    responses.append(client.post("/followup/logout", data={"csrf_token": reporter.token("/followup")}))
    responses.append(reporter.follow_up("0000"))
    return responses


def test_session_cookie_is_host_only_secure_http_only_strict_and_ends_with_the_browser(reporter):
    cookies = _set_cookies(_journey(reporter))
    assert cookies, "the journey should set the session cookie"
    for cookie in cookies:
        assert cookie["name"] == "__Host-session"
        assert cookie.get("secure") == "true" and cookie.get("httponly") == "true"
        assert cookie.get("samesite") == "Strict" and cookie.get("path") == "/"
        assert "domain" not in cookie
        assert "expires" not in cookie and "max-age" not in cookie, "a reporter must get no persistent cookie"


def test_without_https_the_cookie_is_named_session_and_not_secure(app_factory):
    reporter = Reporter(app_factory(REPORTER_HTTPS=False).test_client())
    responses = [reporter.client.get(path, base_url="http://localhost") for path in ("/report", "/followup")]
    cookies = _set_cookies(responses)
    assert cookies
    for cookie in cookies:
        assert cookie["name"] == "session" and "secure" not in cookie
        assert cookie.get("httponly") == "true" and cookie.get("samesite") == "Strict"
        assert "expires" not in cookie and "max-age" not in cookie
    assert "Strict-Transport-Security" not in responses[0].headers


class _Links(HTMLParser):
    """Collect every URL-valued attribute, and the quick-exit link."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[tuple[str, str, str]] = []
        self.quick_exit: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id") == "quick-exit":
            self.quick_exit.append({"tag": tag, **attributes})
        for name, value in attrs:
            if name in URL_ATTRIBUTES and value is not None:
                self.urls.append((tag, name, value))


def _links(response: Any) -> _Links:
    parser = _Links()
    parser.feed(response.get_data(as_text=True))
    return parser


@pytest.mark.parametrize("name", HTML_PAGES)
def test_pages_reference_no_other_origin(app, reporter, monkeypatch, name):
    response = _visit(name, reporter, app, monkeypatch)
    html = response.get_data(as_text=True)
    absolute = re.compile(r"^\s*([a-z][a-z0-9+.-]*:|//|\\\\)", re.IGNORECASE)
    external = [(tag, attr, url) for tag, attr, url in _links(response).urls
                if absolute.match(url) and not url.startswith("data:")]
    assert external == []  # even quick exit leaves through this site (/exit), which forgets the case first
    assert re.findall(r"(?:[a-z][a-z0-9+.-]*:)?//[^\s\"'<>]+", html, re.IGNORECASE) == []


@pytest.mark.parametrize("name", HTML_PAGES)
def test_every_page_offers_the_quick_exit(app, reporter, monkeypatch, name):
    quick_exit = _links(_visit(name, reporter, app, monkeypatch)).quick_exit
    assert len(quick_exit) == 1
    link = quick_exit[0]
    assert link["tag"] == "a" and link["href"] == "/exit"
    assert "noreferrer" in (link.get("rel") or "").split()


def test_quick_exit_goes_where_the_installation_says(app_factory):
    app = app_factory(REPORTER_QUICK_EXIT_URL="https://weather.example/today")
    response = app.test_client().get(_links(app.test_client().get("/report")).quick_exit[0]["href"])
    assert response.status_code == 303 and response.headers["Location"] == "https://weather.example/today"
    assert "no-store" in response.headers["Cache-Control"]


@pytest.mark.parametrize("path", ["/static/style.css", "/static/quick-exit.js"])
def test_static_files_load_nothing_from_elsewhere(client, path):
    text = client.get(path).get_data(as_text=True)
    assert not re.search(r"https?:|@import|url\(\s*['\"]?[a-z]+:|//[a-z0-9]|fetch\(|XMLHttpRequest", text,
                         re.IGNORECASE)
