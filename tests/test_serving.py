"""The production command of README.md: gunicorn with reporter/gunicorn_conf.py serves a fresh instance."""

from __future__ import annotations

import gc
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reporter import gunicorn_conf


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _get(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def test_the_settings_preload_and_keep_the_access_log_off():
    assert gunicorn_conf.preload_app is True
    assert gunicorn_conf.accesslog is None
    try:
        gunicorn_conf.pre_fork(None, None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


@pytest.mark.skipif(sys.platform != "linux", reason="gunicorn serves on POSIX systems")
def test_gunicorn_with_the_project_settings_serves_pages_and_logs_no_request(tmp_path: Path):
    instance = tmp_path / "instance"
    # Two workers share their rate limits through Redis (with the memory store they refuse to start).
    env = {**os.environ, "REPORTER_INSTANCE_PATH": str(instance), "REPORTER_HTTPS": "0",
           "REPORTER_REDIS_URL": "redis://127.0.0.1:6379/15"}
    env.pop("REPORTER_DATABASE_URL", None)
    subprocess.run([sys.executable, "-m", "reporter.cli", "init"], env=env, cwd=tmp_path, check=True,
                   capture_output=True)
    port = _free_port()
    log = tmp_path / "gunicorn.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:reporter.gunicorn_conf", "-w", "2",
             "-b", f"127.0.0.1:{port}", "reporter:create_app()"],
            env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
            time.sleep(0.2)
        for _ in range(6):  # several requests, so both workers answer some
            status, page = _get(port, "/report?probe=canary-path")
            assert status == 200 and b'name="description"' in page
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    written = log.read_text()
    assert "canary-path" not in written and "127.0.0.1" not in written.replace(f"127.0.0.1:{port}", "")
