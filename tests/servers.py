"""Real servers on loopback for tests and benchmarks: gunicorn serving an instance, and an SMTP mailbox.

`Gunicorn` runs the production command (`reporter/gunicorn_conf.py`) in its own session, so the
master and its workers can be signalled together, and waits for /healthz. Its log goes to a file the
test can read; the access log is off, as in production.
"""

from __future__ import annotations

import contextlib
import email
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

HOST = "127.0.0.1"
APPLICATION = "reporter:create_app()"


def free_port() -> int:
    """Return a loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def healthy(port: int) -> bool:
    """Return whether a server on `port` answers /healthz with 200."""
    with contextlib.suppress(OSError, http.client.HTTPException):
        connection = http.client.HTTPConnection(HOST, port, timeout=5)
        try:
            connection.request("GET", "/healthz")
            return connection.getresponse().status == 200
        finally:
            connection.close()
    return False


class Gunicorn:
    """One gunicorn server: `start()` waits until it answers, `stop()` ends it, `kill()` is kill -9."""

    def __init__(self, env: dict[str, str], log: Path, *, workers: int = 1, port: int | None = None,
                 application: str = APPLICATION, extra: tuple[str, ...] = ()) -> None:
        self.env, self.log, self.workers = env, log, workers
        self.port = port or free_port()
        self.command = [sys.executable, "-m", "gunicorn", "-c", "python:reporter.gunicorn_conf",
                        "-w", str(workers), "-b", f"{HOST}:{self.port}", "--graceful-timeout", "10",
                        *extra, application]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Return the base URL of the server."""
        return f"http://{HOST}:{self.port}"

    def start(self, timeout: float = 90) -> Gunicorn:
        """Start the server and wait until /healthz answers; raise with the log if it does not."""
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.command, env=self.env, cwd=self.log.parent, stdout=out,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not healthy(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"gunicorn did not start:\n{self.log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.2)
        return self

    def worker_pids(self) -> list[int]:
        """Return the pids of the master's worker processes."""
        assert self.process is not None
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        with contextlib.suppress(OSError):
            return [int(pid) for pid in path.read_text().split()]
        return []

    def kill(self) -> None:
        """Kill the master and every worker at once (SIGKILL to the session), as a crash would."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), then by force if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()


@dataclass
class Mailbox:
    """A real SMTP server on 127.0.0.1 that keeps every message it accepts."""

    port: int
    received: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    controller: Controller | None = None
    delay: float = 0.0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd hook
        """Keep the envelope and the raw message."""
        if self.delay:
            import asyncio

            await asyncio.sleep(self.delay)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), bytes(envelope.content)))
        return "250 OK"

    def start(self) -> None:
        """Start listening."""
        self.controller = Controller(self, hostname=HOST, port=self.port)
        self.controller.start()

    def stop(self) -> None:
        """Stop listening."""
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def messages(self) -> list[EmailMessage]:
        """Return the received messages, parsed."""
        return [email.message_from_bytes(raw, policy=default_policy) for _, _, raw in self.received]  # type: ignore[misc]

    def recipients(self) -> list[str]:
        """Return every envelope recipient, one entry per message and recipient."""
        return sorted(rcpt for _, rcpts, _ in self.received for rcpt in rcpts)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A mailbox listening on a free port for one test."""
    box = Mailbox(port=free_port())
    box.start()
    yield box
    box.stop()
