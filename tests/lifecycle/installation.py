"""A populated installation made through the real flows, and the checks that another one still works.

Used by the backup and database-copy tests: a coordinator and a focal point enrolled the real way,
a routing rule, a report with a file submitted through the form, the case opened by the focal point;
then, on the restored or copied installation, the reporter's receipt, the focal point's login and
case, the file download, and the audit chain continuing.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from flask import Flask
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from reporter import create_app
from reporter.cli import main
from tests.casework import add_rule, submit
from tests.conftest import TEMPLATE_CACHE, VALID_REPORT, HttpsClient, Reporter
from tests.staffing import StaffAccount, login

EVIDENCE = b"the channel posted my address at 21:40; screenshot notes follow\n" * 40


@dataclass
class Installation:
    """What a test needs to check an installation it populated."""

    receipt: str
    report_id: str
    focal_point: StaffAccount


def populate(app: Flask, reporter: Reporter, make_staff: Any) -> Installation:
    """Enrol a focal point, route GE reports to them and submit a report with a file.

    Nobody logs in here: each login spends a TOTP step, and a test logs the focal point in again on
    each installation it checks (three steps fit in the window a code is accepted in).
    """
    focal_point = make_staff(role="focal_point")
    add_rule(app, "GE", [focal_point])
    receipt, report_id = submit(reporter, attachments=[(io.BytesIO(EVIDENCE), "evidence.txt")])
    return Installation(receipt, report_id, focal_point)


def attachment_link(staff: Any, report_id: str) -> str:
    """Return the first download link on a case page (the page is a decryption and an audit event)."""
    page = staff.get(f"/staff/cases/{report_id}")
    assert page.status_code == 200
    assert VALID_REPORT["description"] in page.get_data(as_text=True)
    links = re.findall(r'href="(/staff/cases/[0-9a-f]+/attachments/[^"?]+)"', page.get_data(as_text=True))
    assert links, "no download link on the case page"
    return links[0]


def app_for(instance: Path, database_url: str, monkeypatch: Any) -> Flask:
    """Build the application of another instance folder and database (the test's app stops being used)."""
    monkeypatch.setenv("REPORTER_INSTANCE_PATH", str(instance))
    app = create_app({"TESTING": True, "REPORTER_DATABASE_URL": database_url,
                      "REPORTER_KEYS_PATH": str(instance / "keys"), "REPORTER_ARGON2_TEST_FAST": True})
    app.test_client_class = HttpsClient
    app.jinja_env.bytecode_cache = TEMPLATE_CACHE
    return app


def console(instance: Path, database_url: str, *args: str, **environ: str) -> Any:
    """Run `reporter ARGS` as an operator would, for the instance and database given."""
    environment = {"REPORTER_INSTANCE_PATH": str(instance), "REPORTER_KEYS_PATH": str(instance / "keys"),
                   "REPORTER_DATABASE_URL": database_url, **environ}
    return CliRunner().invoke(main, list(args), env=environment)


def check_working(app: Flask, installation: Installation) -> None:
    """Check the reporter, staff and audit paths on an installation that was restored or copied."""
    reporter = Reporter(app.test_client())
    reporter._needs_coordinator = False
    response = reporter.follow_up(installation.receipt)
    assert response.status_code == 302 and response.headers["Location"].endswith("/followup/case")
    case = reporter.client.get("/followup/case")
    assert case.status_code == 200 and VALID_REPORT["description"] in case.get_data(as_text=True)

    staff = app.test_client()
    assert login(staff, installation.focal_point).status_code == 302
    link = attachment_link(staff, installation.report_id)
    assert staff.get(link).get_data() == EVIDENCE

    instance = Path(app.instance_path)
    url = app.config["REPORTER_DATABASE_URL"]
    verified = console(instance, url, "audit", "verify")
    assert verified.exit_code == 0 and verified.output.startswith("intact"), verified.output
    # The chain goes on: one more event (the reporter's follow-up message) and it still verifies.
    token = reporter.token("/followup/case")
    posted = reporter.client.post("/followup/case/message", data={"body": "still here", "csrf_token": token})
    assert posted.status_code == 302
    again = console(instance, url, "audit", "verify")
    assert again.exit_code == 0 and again.output.startswith("intact"), again.output
    assert _events(again.output) > _events(verified.output)
    # New rows get new integer ids (on PostgreSQL the sequences were moved past the copied rows).
    assert reporter.submit().status_code == 200


def _events(output: str) -> int:
    match = re.search(r"intact: (\d+) events", output)
    assert match, output
    return int(match.group(1))


def fresh_postgresql(base_url: str, suffix: str) -> str:
    """Return the URL of an empty PostgreSQL database of its own beside the test database."""
    url = make_url(base_url)
    name = f"{url.database}_{suffix}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if not connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}):
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    target = url.set(database=name)
    engine = create_engine(target)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return target.render_as_string(hide_password=False)
