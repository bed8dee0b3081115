"""Several app hosts of one installation: each its own instance folder, the same keys, shared services.

A host here is what a production server is: gunicorn with the project settings, an instance folder of
its own (configuration, the keys copied in as a deployment would copy them), and the shared services
named through the environment: PostgreSQL, Redis for the rate limits, an S3 bucket for attachments
and an SMTP server for notifications.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.servers import Gunicorn
from tests.staffing import StaffAccount

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
RECEIPT = re.compile(r'id="receipt"[^>]*>([^<]+)<')


@dataclass(frozen=True)
class Services:
    """The shared services every host is configured with."""

    database_url: str
    redis_url: str
    redis_prefix: str
    smtp_url: str = ""
    extra: tuple[tuple[str, str], ...] = ()


def host_environment(base: dict[str, str], folder: Path, keys: Path, services: Services) -> dict[str, str]:
    """Make `folder` an instance of its own with a copy of `keys`; return the environment to serve it."""
    instance = folder / "instance"
    instance.mkdir(parents=True, mode=0o700)
    shutil.copytree(keys, instance / "keys")
    config = instance / "config.py"
    config.write_text(f"RATELIMIT_STORAGE_OPTIONS = {{'key_prefix': {services.redis_prefix!r}}}\n")
    config.chmod(0o600)
    env = {name: value for name, value in base.items() if not name.startswith("REPORTER_")}
    env.update(REPORTER_INSTANCE_PATH=str(instance), REPORTER_KEYS_PATH=str(instance / "keys"),
               REPORTER_DATABASE_URL=services.database_url, REPORTER_REDIS_URL=services.redis_url,
               REPORTER_HTTPS="0", REPORTER_NOTIFY_DELAY_MINUTES="0", **dict(services.extra))
    if services.smtp_url:
        env["REPORTER_SMTP_URL"] = services.smtp_url
    return env


def start_hosts(base: dict[str, str], root: Path, keys: Path, services: Services, *, count: int = 2,
                workers: int = 2) -> list[Gunicorn]:
    """Start `count` hosts of one installation, each with `workers` gunicorn workers."""
    hosts: list[Gunicorn] = []
    try:
        for number in range(count):
            folder = root / f"host-{number}"
            env = host_environment(base, folder, keys, services)
            hosts.append(Gunicorn(env, folder / "gunicorn.log", workers=workers).start())
    except BaseException:
        for host in hosts:
            host.stop()
        raise
    return hosts


class Visitor:
    """One browser (one cookie jar) that may talk to any host of the installation."""

    def __init__(self) -> None:
        self.cookies = httpx.Cookies()

    def request(self, host: Gunicorn, method: str, path: str, **options: Any) -> httpx.Response:
        with httpx.Client(base_url=host.url, cookies=self.cookies, timeout=60) as client:
            response = client.request(method, path, **options)
            self.cookies.update(response.cookies)
        return response

    def get(self, host: Gunicorn, path: str) -> httpx.Response:
        return self.request(host, "GET", path)

    def post_form(self, host: Gunicorn, path: str, data: dict[str, Any], *, form_path: str | None = None,
                  files: Any = None) -> httpx.Response:
        """GET the form page (for its CSRF token), then POST `data` to `path`."""
        page = self.get(host, form_path or path).text
        token = CSRF.search(page)
        assert token, page[:500]
        return self.request(host, "POST", path, data={**data, "csrf_token": token.group(1)}, files=files)


def receipt_of(page: str) -> str:
    """Return the receipt on a success page."""
    match = RECEIPT.search(page)
    assert match, page[:800]
    return match.group(1).strip()


def log_in(visitor: Visitor, host: Gunicorn, person: StaffAccount) -> None:
    """Log a person in on `host` through both steps (password, then TOTP)."""
    first = visitor.post_form(host, "/staff/login", {"email": person.email, "password": person.password})
    assert first.status_code == 302, first.text[:500]
    second = visitor.post_form(host, "/staff/login/totp", {"code": person.code()},
                               form_path=first.headers["Location"])
    assert second.status_code == 302, second.text[:500]
