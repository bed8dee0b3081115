"""The onion side as Tor Browser sees it through nginx's onion server: the app's headers without HSTS,
cookies for plain HTTP inside tor, a full submission, and no per-client limit (every visitor arrives
from the local tor, so one would lock everyone out at once)."""

from __future__ import annotations

import re

from reporter.web.security import CSP
from tests.deploy.conftest import SUBMIT_LIMIT, Browser, Site


def test_pages_through_the_onion_server_have_the_apps_headers_and_no_hsts(onion_site: Site):
    answer = Browser(onion_site, onion=True).request("GET", "/report")
    assert answer.status == 200 and b'name="description"' in answer.body
    assert answer.one("Content-Security-Policy") == CSP
    assert answer.one("X-Frame-Options") == "DENY" and answer.one("Referrer-Policy") == "no-referrer"
    assert answer.all("Strict-Transport-Security") == []
    (cookie,) = answer.all("Set-Cookie")
    assert cookie.startswith("session=") and "HttpOnly" in cookie and "SameSite=Strict" in cookie


def test_every_onion_visitor_can_submit_beyond_the_per_client_limit(onion_site: Site):
    for _ in range(SUBMIT_LIMIT + 1):  # different people, all arriving from tor's 127.0.0.1
        answer = Browser(onion_site, onion=True).submit()
        assert answer.status == 200 and re.search(rb'id="receipt"', answer.body), answer.body[:300]
