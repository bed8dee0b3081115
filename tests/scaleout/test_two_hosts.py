"""Two app hosts of one installation on PostgreSQL, Redis, an S3 bucket (SeaweedFS) and an SMTP server.

A report with a file submitted through host A is triaged and its file downloaded through host B, the
reporter follows up through B, the rate limits are one budget across both, every notification leaves
once, and the audit chain stays one chain while both hosts write at once. The hosts are real gunicorn
servers with separate instance folders; only the keys and the services are shared, as in production.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import func, select

from reporter.extensions import db
from reporter.models import AuditEvent, Notification, Report
from tests.conftest import TEST_DATABASE_URL, VALID_REPORT
from tests.scaleout.hosts import Services, Visitor, log_in, receipt_of, start_hosts
from tests.servers import Gunicorn, Mailbox
from tests.staffing import StaffAccount, directory_of, route_georgia_to

pytestmark = pytest.mark.skipif(not TEST_DATABASE_URL,
                                reason="several hosts share PostgreSQL: this runs in the PostgreSQL leg")
REDIS_URL = "redis://127.0.0.1:6379/14"
CANARY = "TWO-HOSTS-CANARY-" + secrets.token_hex(4)


@pytest.fixture
def installation(app: Any, instance_path: Path, database_url: str, mailbox: Mailbox, seaweed: Any,
                 tmp_path: Path) -> Iterator[tuple[list[Gunicorn], StaffAccount, str]]:
    """Two hosts (two workers each) and a focal point of Georgia who receives Georgian reports."""
    focal_point = directory_of(app).make(role="focal_point", region="GE")
    route_georgia_to(app, focal_point.id)
    prefix = "reporter-hosts-" + secrets.token_hex(6)
    bucket_name = seaweed.new_bucket()
    bucket = seaweed.settings(bucket_name)
    services = Services(database_url=database_url, redis_url=REDIS_URL, redis_prefix=prefix,
                        smtp_url=f"smtp://127.0.0.1:{mailbox.port}",
                        extra=(("REPORTER_FOLLOWUP_LIMIT", "4 per minute"), *bucket.items()))
    hosts = start_hosts(dict(os.environ), tmp_path, instance_path / "keys", services)
    try:
        yield hosts, focal_point, bucket_name
    finally:
        for host in hosts:
            host.stop()
        store = redis.Redis.from_url(REDIS_URL)
        for key in store.scan_iter(f"{prefix}*"):
            store.delete(key)


def submit(host: Gunicorn, **fields: Any) -> str:
    visitor = Visitor()
    response = visitor.post_form(host, "/report", {**VALID_REPORT, **fields.pop("data", {})}, **fields)
    assert response.status_code == 200, response.text[:800]
    return receipt_of(response.text)


def test_a_case_submitted_on_one_host_is_handled_and_followed_up_on_the_other(installation, app, mailbox,
                                                                              seaweed):
    (host_a, host_b), focal_point, bucket = installation
    note = f"The file says {CANARY}.\n".encode()
    receipt = submit(host_a, files={"attachments": ("evidence.txt", note, "text/plain")})

    staff = Visitor()
    log_in(staff, host_b, focal_point)
    queue = staff.get(host_b, "/staff/cases").text
    case_id = re.search(r'href="/staff/cases/([0-9a-f]{32})"', queue)
    assert case_id, queue[:800]
    case_path = f"/staff/cases/{case_id.group(1)}"
    page = staff.get(host_b, case_path).text
    assert VALID_REPORT["description"] in page
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version
    triaged = staff.post_form(host_b, f"{case_path}/triage",
                              {"status": "acknowledged", "risk": "high", "version": version.group(1)},
                              form_path=case_path)
    assert triaged.status_code == 302
    page = staff.get(host_b, case_path).text
    download = re.search(r'href="(/staff/cases/[0-9a-f]+/attachments/[^"]+)"', page)
    assert download
    # The file was written to the bucket by host A and is read back, verified and decrypted, by host B.
    assert CANARY.encode() in staff.get(host_b, download.group(1)).content
    stored = seaweed.objects(bucket)
    assert len(stored) == 1 and not any(CANARY.encode() in body for body in stored.values())
    assert CANARY.encode() not in seaweed.raw_bytes()
    version = re.search(r'name="version" value="(\d+)"', staff.get(host_a, case_path).text)
    assert version, "the session opened on host B also works on host A"
    message = {"body": "We read your report.", "version": version.group(1)}
    replied = staff.post_form(host_a, f"{case_path}/message", message, form_path=case_path)
    assert replied.status_code == 302

    reporter = Visitor()
    opened = reporter.post_form(host_b, "/followup", {"receipt": receipt})
    assert opened.status_code in (200, 302)
    case_page = reporter.get(host_b, "/followup/case").text
    assert "We read your report." in case_page
    added = reporter.post_form(host_b, "/followup/case/message", {"body": "One more thing."},
                               form_path="/followup/case")
    assert added.status_code in (200, 302)
    assert "One more thing." in staff.get(host_a, case_path).text

    sent = delivered(app)
    assert sent, "the new case and the reporter's message notified the focal point"
    # Each notification left once, whichever host's sender claimed it.
    assert len(mailbox.received) == sent


def delivered(app: Any) -> int:
    """Wait until the outbox is empty (both hosts send it); return how many notifications were sent."""
    deadline = time.monotonic() + 60
    while True:
        with app.app_context():
            unsent = db.session.scalar(select(func.count()).select_from(Notification).where(
                Notification.sent_at.is_(None)))
            sent = db.session.scalar(select(func.count()).select_from(Notification).where(
                Notification.sent_at.is_not(None)))
        if not unsent or time.monotonic() > deadline:
            assert not unsent, f"{unsent} notifications were never sent"
            time.sleep(1)  # a sender that delivered twice would have done so by now
            return int(sent or 0)
        time.sleep(0.5)


def test_the_rate_limits_are_one_budget_across_hosts(installation):
    hosts, _focal_point, _bucket = installation
    visitor = Visitor()
    statuses = [visitor.post_form(hosts[n % 2], "/followup", {"receipt": "WRONG-" + str(n)}).status_code
                for n in range(6)]
    # REPORTER_FOLLOWUP_LIMIT is 4 per minute: two hosts do not make it eight.
    assert statuses[:4] == [401] * 4 and statuses[4:] == [429, 429]


def test_the_audit_chain_stays_one_chain_while_both_hosts_write(installation, app):
    hosts, _focal_point, _bucket = installation
    receipts: list[str] = []
    failures: list[BaseException] = []

    def client(number: int) -> None:
        try:
            for _ in range(4):
                receipts.append(submit(hosts[number % 2]))
        except BaseException as failure:  # noqa: BLE001 - reported by the test below
            failures.append(failure)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures[0]
    assert len(set(receipts)) == 24
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Report)) == 24
        actions = Counter(db.session.scalars(select(AuditEvent.action)))
        seqs = db.session.scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)).all()
    assert actions["report.submitted"] == 24
    assert seqs == list(range(1, len(seqs) + 1)), "one chain, no gap and no fork"
    # As the operator runs it, on either host.
    result = subprocess.run([sys.executable, "-m", "reporter.cli", "audit", "verify"], env=hosts[1].env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
