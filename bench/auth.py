"""Benchmark of staff login and of logged-in page views, over HTTP on 127.0.0.1 only.

    python bench/auth.py [--logins 20] [--views 300]

Starts two gunicorn servers (one sync worker each, loopback, temporary instance folders) that differ
only in the argon2id cost: the chosen one (REPORTER_ARGON2_* defaults) and argon2id's minimum as the
baseline. For each it times complete logins (password step: hash check, key derivation, private-key
unwrap; TOTP step: code check, session record), then, on the real server, a logged-in page view
(/staff/) against /healthz and a static file, interleaved. Everything is bounded by the counts given.

Both servers run the app with TESTING on, only so that the baseline may use the minimal KDF (the
production configuration refuses it); the replay guard is rewound between logins of the same person,
since a real person cannot log in twice within one 30-second TOTP step.
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyotp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "benchmark passphrase of some length"


def bench_app(fast: str = "0") -> object:
    """Return the app a benchmark server runs (gunicorn calls this in the worker)."""
    from reporter import create_app

    return create_app({"TESTING": True, "REPORTER_ARGON2_TEST_FAST": fast == "1",
                       "REPORTER_LOGIN_ACCOUNT_LIMIT": "100000 per minute",
                       "REPORTER_LOGIN_CLIENT_LIMIT": "100000 per minute"})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Browser:
    """A minimal HTTP client on loopback that keeps the session cookie."""

    def __init__(self, port: int) -> None:
        self.port, self.cookie = port, ""

    def request(self, method: str, path: str, body: dict[str, str] | None = None) -> tuple[int, str]:
        """Send one request and return status and body."""
        from urllib.parse import urlencode

        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        data = urlencode(body) if body is not None else None
        if data is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        text = response.read().decode("utf-8", "replace")
        for header in response.headers.get_all("Set-Cookie") or []:
            name_value = header.split(";", 1)[0]
            if name_value.startswith("session="):
                self.cookie = name_value
        connection.close()
        return response.status, text

    def csrf(self, path: str) -> str:
        """Return a CSRF token from a form page."""
        match = CSRF.search(self.request("GET", path)[1])
        assert match, f"no form at {path}"
        return match.group(1)


def _prepare_instance(folder: Path, fast: bool) -> tuple[str, str]:
    """Create keys, the database and one active focal point; return its e-mail and TOTP secret."""
    os.environ["REPORTER_INSTANCE_PATH"] = str(folder)
    from reporter import migrate
    from reporter.extensions import db
    from reporter.keyring import create_instance_keys
    from reporter.models.base import utcnow
    from reporter.staff import enrolment, lifecycle
    from reporter.web.context import kdf_params

    create_instance_keys(folder / "keys", escrow_private_path=folder / "escrow.key")
    app = bench_app("1" if fast else "0")
    assert db.engine is not None
    migrate.upgrade(db.engine)
    with app.app_context():  # type: ignore[attr-defined]
        invitation = lifecycle.invite("bench@example.org", "admin", None, session=db.session, invited_by=None,
                                  now=utcnow(), lifetime=timedelta(hours=1))
        chosen = enrolment.choose_password(invitation.token, PASSWORD, session=db.session,
                                       keyring=app.extensions["reporter.keyring"],  # type: ignore[attr-defined]
                                       params=kdf_params(), now=utcnow())
        earlier = pyotp.TOTP(chosen.totp_secret).at(datetime.now(UTC) - timedelta(seconds=30))
        enrolment.confirm_totp(invitation.token, chosen.binding, earlier, session=db.session,
                           keyring=app.extensions["reporter.keyring"], now=utcnow())  # type: ignore[attr-defined]
        params = kdf_params().encode()
    db.engine.dispose()
    return chosen.totp_secret, params


def _rewind_replay_guard(folder: Path) -> None:
    import sqlite3

    with sqlite3.connect(folder / "reporter.db") as connection:
        connection.execute("UPDATE staff_members SET last_totp_step = 0")


def _serve(folder: Path, fast: bool) -> tuple[subprocess.Popen[bytes], int]:
    port = _free_port()
    env = {**os.environ, "REPORTER_INSTANCE_PATH": str(folder), "REPORTER_HTTPS": "0",
           "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "--log-level", "warning",
         f"bench.auth:bench_app('{1 if fast else 0}')"], env=env, cwd=ROOT)
    for _ in range(200):
        try:
            if Browser(port).request("GET", "/healthz")[0] == 200:
                return server, port
        except OSError:
            time.sleep(0.05)
    server.terminate()
    raise RuntimeError("benchmark server did not start")


def _login(browser: Browser, secret: str) -> float:
    token = browser.csrf("/staff/login")
    started = time.perf_counter()
    status, _ = browser.request("POST", "/staff/login", {"email": "bench@example.org", "password": PASSWORD,
                                                         "csrf_token": token})
    assert status == 302, status
    status, _ = browser.request("POST", "/staff/login/totp", {"code": pyotp.TOTP(secret).now(),
                                                              "csrf_token": token})
    elapsed = time.perf_counter() - started
    assert status == 302, status
    return elapsed


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _time_logins(folder: Path, port: int, secret: str, count: int) -> list[float]:
    timings = []
    for _ in range(count):
        browser = Browser(port)
        timings.append(_login(browser, secret))
        _rewind_replay_guard(folder)
    return timings


def _time_views(port: int, browser: Browser, count: int) -> dict[str, list[float]]:
    anonymous = Browser(port)
    paths = {"logged-in /staff/": (browser, "/staff/"), "static page /": (anonymous, "/"),
             "/healthz": (anonymous, "/healthz"), "static file style.css": (anonymous, "/static/style.css")}
    timings: dict[str, list[float]] = {name: [] for name in paths}
    for _ in range(count):
        for name, (client, path) in paths.items():
            started = time.perf_counter()
            status, _ = client.request("GET", path)
            timings[name].append(time.perf_counter() - started)
            assert status == 200, (path, status)
    return timings


def main() -> None:
    """Run both servers, print login latency and page-view costs."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=20)
    parser.add_argument("--views", type=int, default=300)
    args = parser.parse_args()
    folders = {name: Path(tempfile.mkdtemp(prefix=f"reporter-bench-{name}-")) for name in ("real", "minimal")}
    results: dict[str, list[float]] = {}
    views: dict[str, list[float]] = {}
    params: dict[str, str] = {}
    try:
        for name, folder in folders.items():
            secret, params[name] = _prepare_instance(folder, fast=name == "minimal")
            server, port = _serve(folder, fast=name == "minimal")
            try:
                _time_logins(folder, port, secret, 2)  # warm-up
                results[name] = _time_logins(folder, port, secret, args.logins)
                if name == "real":
                    browser = Browser(port)
                    _login(browser, secret)
                    views = _time_views(port, browser, args.views)
            finally:
                server.terminate()
                server.wait(timeout=10)
    finally:
        for folder in folders.values():
            shutil.rmtree(folder, ignore_errors=True)
    print(f"login (password + TOTP + key unwrap), {args.logins} logins each, gunicorn 1 sync worker, "
          "127.0.0.1")
    for name, timings in results.items():
        print(f"  {name:<8} {params[name]:<28} p50 {statistics.median(timings) * 1000:7.1f} ms"
              f"   p99 {_percentile(timings, 0.99) * 1000:7.1f} ms")
    ratio = statistics.median(results["real"]) / statistics.median(results["minimal"])
    print(f"  the chosen argon2id cost adds {ratio:.1f}x to a login (median)")
    print(f"page views, {args.views} each, interleaved (a new connection per request, as gunicorn sync does)")
    medians = {name: statistics.median(values) for name, values in views.items()}
    for name, values in views.items():
        p99 = _percentile(values, 0.99) * 1000
        print(f"  {name:<24} p50 {medians[name] * 1000:6.2f} ms   p99 {p99:6.2f} ms")
    page = medians["logged-in /staff/"]
    for other in ("static page /", "/healthz", "static file style.css"):
        ratio = page / medians[other]
        target = "  (target: within 1.5x)" if other == "static page /" else ""
        print(f"  logged-in page / {other:<22} {ratio:5.2f}x{target}")
    print("  a logged-in view pays no key derivation: one indexed read (session record joined with its")
    print("  person, the revocation check) and one AES-GCM decryption; the rest over /healthz is rendering")


if __name__ == "__main__":
    main()
