"""Rate limits hold across server processes (issue 13, section 2).

With the default memory store each gunicorn worker counted on its own, so two workers doubled every
limit. Now several workers refuse to start without a shared store, and with Redis two processes
count one budget: here two gunicorn servers of one installation, requests alternating between them.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.servers import Gunicorn, free_port

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="gunicorn serves on POSIX systems")
REDIS_URL = "redis://127.0.0.1:6379/15"
GUNICORN = [sys.executable, "-m", "gunicorn", "-c", "python:reporter.gunicorn_conf", "reporter:create_app()"]


@pytest.fixture
def installation(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A fresh instance made by `reporter init`, its limits kept in Redis under a prefix of its own."""
    prefix = "reporter-test-" + secrets.token_hex(6)
    instance = tmp_path / "instance"
    env = {**os.environ, "REPORTER_INSTANCE_PATH": str(instance), "REPORTER_HTTPS": "0",
           "REPORTER_LOGIN_ACCOUNT_LIMIT": "4 per minute", "REPORTER_FOLLOWUP_LIMIT": "3 per minute"}
    env.pop("REPORTER_DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "reporter.cli", "init"], env=env, cwd=tmp_path, check=True,
                   capture_output=True)
    with (instance / "config.py").open("a") as config:
        config.write(f"RATELIMIT_STORAGE_OPTIONS = {{'key_prefix': {prefix!r}}}\n")
    yield env
    store = redis.Redis.from_url(REDIS_URL)
    for key in store.scan_iter(f"{prefix}*"):
        store.delete(key)


def test_reporter_init_leaves_the_instance_private(installation):
    instance = Path(installation["REPORTER_INSTANCE_PATH"])
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in (instance, instance / "reporter.db",
                                                                        instance / "config.py")}
    assert modes == {"instance": 0o700, "reporter.db": 0o600, "config.py": 0o600}


def test_several_workers_with_the_memory_store_refuse_to_start(installation, tmp_path):
    port = free_port()
    result = subprocess.run([*GUNICORN, "-w", "2", "-b", f"127.0.0.1:{port}"], env=installation, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "REPORTER_REDIS_URL" in result.stderr and "2 workers" in result.stderr


class Browser:
    """One browser (one cookie jar) talking to several servers of the same installation."""

    def __init__(self) -> None:
        self.cookie = ""

    def request(self, port: int, method: str, path: str, body: str = "") -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body or None, headers=headers)
            response = connection.getresponse()
            page = response.read().decode()
            for header in response.headers.get_all("Set-Cookie") or []:
                if header.startswith("session="):
                    self.cookie = header.split(";", 1)[0]
            return response.status, page
        finally:
            connection.close()

    def post(self, port: int, path: str, fields: str) -> int:
        page = self.request(port, "GET", path)[1]
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token, page[:300]
        return self.request(port, "POST", path, f"{fields}&csrf_token={token.group(1)}")[0]


@pytest.fixture
def two_servers(installation, tmp_path) -> Iterator[list[int]]:
    """Two gunicorn servers (one worker each) of the same installation, sharing Redis."""
    env = {**installation, "REPORTER_REDIS_URL": REDIS_URL}
    servers: list[Gunicorn] = []
    try:
        for number in range(2):
            servers.append(Gunicorn(env, tmp_path / f"gunicorn-{number}.log").start())
        yield [server.port for server in servers]
    finally:
        for server in servers:
            server.stop()


def test_two_workers_count_one_login_budget_through_redis(two_servers):
    browser = Browser()
    fields = "email=nobody%40example.org&password=a+wrong+password+here"
    statuses = [browser.post(two_servers[n % 2], "/staff/login", fields) for n in range(5)]
    assert statuses == [401, 401, 401, 401, 429], "alone, each worker would still allow two more"


def test_two_workers_count_one_receipt_budget_through_redis(two_servers):
    browser = Browser()
    fields = "receipt=ABCD-EFGH-JKMN-PQRS-TVWX"
    statuses = [browser.post(two_servers[n % 2], "/followup", fields) for n in range(4)]
    assert statuses == [401, 401, 401, 429]
