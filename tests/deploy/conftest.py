"""A served installation as in production: the real nginx with the shipped site, in front of gunicorn
with the project's settings, on loopback ports, over a temporary instance and the test database."""

from __future__ import annotations

import os
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import VALID_REPORT, csrf_token_of
from tests.deploy.site import IDENTITY, Answer, Nginx, Ports, https, plain
from tests.servers import Gunicorn
from tests.staffing import ensure_coordinator

#: Per-client submissions the served app allows per minute in these tests (REPORTER_SUBMIT_LIMIT).
SUBMIT_LIMIT = 3


@dataclass
class Site:
    """nginx and gunicorn serving one installation."""

    nginx: Nginx
    gunicorn: Gunicorn
    ports: Ports

    @property
    def certificate(self) -> Path:
        """Return the self-signed certificate nginx presents (the test's only trusted one)."""
        return self.nginx.folder / "certs" / "fullchain.pem"

    def https(self, method: str, path: str, **options: Any) -> Answer:
        """Send a request to the TLS server."""
        return https(self.ports.https, self.certificate, method, path, **options)

    def http(self, method: str, path: str, **options: Any) -> Answer:
        """Send a plain-HTTP request to the port-80 server."""
        return plain(self.ports.http, method, path, **options)


class Browser:
    """One visitor: its own cookies and source address, speaking to the site through nginx."""

    def __init__(self, site: Site, source: str = "127.0.0.1", *, onion: bool = False) -> None:
        self.site, self.source, self.onion = site, source, onion
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, headers: dict[str, str] | None = None,
                body: bytes | None = None) -> Answer:
        """Send a request with this visitor's cookies; keep the ones the answer sets."""
        sent = {**IDENTITY, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        if self.onion:  # tor connects to nginx's onion server from loopback, in plain HTTP
            answer = plain(self.site.ports.onion, method, path, headers=sent, body=body)
        else:
            answer = self.site.https(method, path, headers=sent, body=body, source=self.source)
        for cookie in answer.all("Set-Cookie"):
            name, _, rest = cookie.partition("=")
            self.cookies[name] = rest.split(";", 1)[0]
        return answer

    def submit(self, headers: dict[str, str] | None = None) -> Answer:
        """Open the form and post a valid report with its CSRF token."""
        token = csrf_token_of(self.request("GET", "/report").body.decode())
        form = urllib.parse.urlencode({**VALID_REPORT, "csrf_token": token}).encode()
        return self.request("POST", "/report", body=form,
                            headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})})


def served_environment(instance_path: Path, database_url: str, **settings: str) -> dict[str, str]:
    """Return the environment of a production gunicorn behind one proxy, on this test's instance."""
    return {**os.environ, "REPORTER_INSTANCE_PATH": str(instance_path), "REPORTER_DATABASE_URL": database_url,
            "REPORTER_TRUSTED_PROXIES": "1", "REPORTER_HTTPS": "1", "REPORTER_BASE_URL": "https://localhost",
            "REPORTER_REDIS_URL": "redis://127.0.0.1:6379/15", "REPORTER_NOTIFY_THREAD": "0",
            "REPORTER_SUBMIT_LIMIT": f"{SUBMIT_LIMIT} per minute",
            "REPORTER_SUBMIT_GLOBAL_LIMIT": "100000 per hour",
            "REPORTER_SUBMIT_FLOOD_LIMIT": "100000 per hour",
            **settings}


@pytest.fixture
def site(app_factory: Any, instance_path: Path, database_url: str, tmp_path: Path) -> Iterator[Site]:
    """Serve a fresh installation (with its coordinator) through nginx over TLS."""
    ensure_coordinator(app_factory())  # a report is only received when someone can read it
    # The public name, and the address the readiness check of tests.servers asks for.
    (instance_path / "config.py").write_text('TRUSTED_HOSTS = ["localhost", "127.0.0.1"]\n')
    ports = Ports()
    folder = tmp_path / "nginx"
    folder.mkdir()
    nginx = Nginx(folder, ports)  # skips (or fails in CI) before anything starts if nginx is missing
    gunicorn = Gunicorn(served_environment(instance_path, database_url), tmp_path / "gunicorn.log",
                        workers=2, port=ports.app).start()
    try:
        yield Site(nginx.start(), gunicorn, ports)
    finally:
        nginx.stop()
        gunicorn.stop()


@pytest.fixture
def onion_site(site: Site, instance_path: Path, database_url: str, tmp_path: Path) -> Iterator[Site]:
    """Also serve the onion side: nginx's 127.0.0.1:8080 server in front of the onion gunicorn, with the
    settings of deploy/onion.env.example (tor itself is not started: it would need the network)."""
    onion = served_environment(instance_path, database_url, REPORTER_ONION="1", REPORTER_HTTPS="0",
                               REPORTER_TRUSTED_PROXIES="0")
    gunicorn = Gunicorn(onion, tmp_path / "gunicorn-onion.log", workers=1, port=site.ports.onion_app).start()
    try:
        yield site
    finally:
        gunicorn.stop()
