"""The clients of bench/load.py: processes that act as reporters and staff against a real server.

Each client process takes submission numbers from a shared counter until the run's total is reached.
Every submission carries a tag of its own in its description, so what happened to it can be checked
afterwards in the database whatever the client saw. After a submission a client sometimes follows up
on one of its own earlier receipts (the case page must show that report's tag) or opens the staff
queue with a staff session shared by every client. Connection failures (a killed server) are recorded
and the client goes on; it never retries a submission, so no report is sent twice.

Outcomes, one JSON line per request in the client's own file:
- `receipt`: 200 with a receipt; `error`: an HTTP error page (its status); `refused`: no connection (the
  server was down); `no_answer`: the connection was cut before a response (the submission may or may
  not have committed).
"""

from __future__ import annotations

import json
import random
import re
import time
from pathlib import Path
from typing import Any

import httpx

#: Seconds a client waits after a refused connection (the server is down) before its next submission.
REFUSED_PAUSE = 1.0
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
RECEIPT = re.compile(r'id="receipt"[^>]*>([^<]+)<')
REPORT = {
    "incident_kind": "online", "category": "doxxing", "country": "GE", "occurred_on": "2026-03-08",
    "perpetrator": "An anonymous channel", "contact": "Signal +995 555 000 000", "consent": "y",
}


def tag_of(number: int) -> str:
    """Return the tag written into submission `number`'s description."""
    return f"LOADTAG-{number:07d}-END"


class Client:
    """One client: a browser session for the form, its receipts, and a log of what it saw."""

    def __init__(self, base_url: str, staff_cookies: dict[str, str], log: Path, seed: int) -> None:
        self.base_url, self.staff_cookies = base_url, staff_cookies
        self.log = log.open("a")
        self.random = random.Random(seed)  # noqa: S311 - choosing which receipt to follow up
        self.cookies = httpx.Cookies()
        self.token = ""
        self.receipts: list[tuple[int, str]] = []

    def _request(self, method: str, path: str, cookies: Any = None, **options: Any) -> httpx.Response:
        with httpx.Client(base_url=self.base_url, cookies=cookies if cookies is not None else self.cookies,
                          timeout=60) as http:
            response = http.request(method, path, **options)
        if cookies is None:
            self.cookies.update(response.cookies)
        return response

    def _record(self, kind: str, started: float, outcome: str, **extra: Any) -> None:
        entry = {"kind": kind, "seconds": time.monotonic() - started, "outcome": outcome, **extra}
        self.log.write(json.dumps(entry) + "\n")

    def _ensure_token(self) -> None:
        if not self.token:
            match = CSRF.search(self._request("GET", "/report").text)
            self.token = match.group(1) if match else ""

    def submit(self, number: int, with_file: bool) -> None:
        """Send submission `number` once and record what came back."""
        started = time.monotonic()
        try:
            self._ensure_token()
            data = {**REPORT, "description": f"Load test report {tag_of(number)}", "csrf_token": self.token}
            files = {"attachments": ("note.txt", f"file of {tag_of(number)}\n".encode(), "text/plain")}
            response = self._request("POST", "/report", data=data, files=files if with_file else None)
        except httpx.HTTPError as failure:
            self.token = ""
            outcome = "refused" if isinstance(failure, httpx.ConnectError) else "no_answer"
            self._record("submit", started, outcome, number=number, error=type(failure).__name__)
            if outcome == "refused":
                # A person whose browser could not connect tries again a little later, not at once.
                time.sleep(REFUSED_PAUSE)
            return
        match = RECEIPT.search(response.text) if response.status_code == 200 else None
        if match:
            self.receipts.append((number, match.group(1).strip()))
            self._record("submit", started, "receipt", number=number, receipt=match.group(1).strip())
        else:
            self.token = "" if response.status_code in (400, 403) else self.token
            self._record("submit", started, "error", number=number, status=response.status_code)

    def follow_up(self) -> None:
        """Open one of this client's receipts; the case page must show its report's tag."""
        if not self.receipts:
            return
        number, receipt = self.random.choice(self.receipts)
        started = time.monotonic()
        try:
            jar = httpx.Cookies()
            page = self._request("GET", "/followup", cookies=jar)
            jar.update(page.cookies)
            token = CSRF.search(page.text)
            opened = self._request("POST", "/followup", cookies=jar,
                                   data={"receipt": receipt, "csrf_token": token.group(1) if token else ""})
            jar.update(opened.cookies)
            case = self._request("GET", "/followup/case", cookies=jar)
        except httpx.HTTPError as failure:
            self._record("followup", started, "no_answer", number=number, error=type(failure).__name__)
            return
        good = case.status_code == 200 and tag_of(number) in case.text
        self._record("followup", started, "ok" if good else "error", number=number, status=case.status_code)

    def staff_queue(self) -> None:
        """Open the staff queue with the shared staff session."""
        started = time.monotonic()
        try:
            response = self._request("GET", "/staff/cases", cookies=httpx.Cookies(self.staff_cookies))
        except httpx.HTTPError as failure:
            self._record("queue", started, "no_answer", error=type(failure).__name__)
            return
        self._record("queue", started, "ok" if response.status_code == 200 else "error",
                     status=response.status_code)


def client_main(index: int, base_url: str, staff_cookies: dict[str, str], log: str, counter: Any,
                total: int, options: dict[str, int]) -> None:
    """Run one client until `total` submissions have been taken by all clients together."""
    client = Client(base_url, staff_cookies, Path(log), seed=index)
    while True:
        with counter.get_lock():
            number = counter.value
            counter.value += 1
        if number >= total:
            break
        client.submit(number, with_file=number % options["file_every"] == 0)
        if number % options["followup_every"] == 0:
            client.follow_up()
        if number % options["queue_every"] == 0:
            client.staff_queue()
    client.log.close()
