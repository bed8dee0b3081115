"""Nothing stored about a reporter's actions times them closer than the hour (the exact time is sealed)."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from sqlalchemy import text

from reporter.evidence.store import FIXED_TIME
from reporter.extensions import db
from tests.casework import submit
from tests.conftest import csrf_token_of
from tests.evidence.samples import png_with_metadata


def _on_the_hour(value: Any) -> bool:
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.minute == moment.second == moment.microsecond == 0


def _column(app: Any, sql: str) -> list[Any]:
    with app.app_context():
        return list(db.session.execute(text(sql)).scalars())


def test_a_submission_and_a_follow_up_are_stored_to_the_hour(app, client, reporter, staff_directory):
    receipt, _ = submit(reporter)
    assert reporter.follow_up(receipt).status_code == 302
    token = csrf_token_of(client.get("/followup/case").get_data(as_text=True))
    client.post("/followup/case/message", data={"body": "They came back today.", "csrf_token": token})

    reporter_events = _column(app, "SELECT at FROM audit_events WHERE actor_role = 'reporter'")
    assert len(reporter_events) >= 3 and all(_on_the_hour(at) for at in reporter_events)
    assert all(_on_the_hour(at) for at in _column(app, "SELECT created_at FROM seals"))
    assert all(_on_the_hour(at) for at in _column(app, "SELECT deadline_at FROM reports"))
    assert all(_on_the_hour(at) for at in _column(app, "SELECT created_hour FROM reports"))
    assert all(_on_the_hour(at) for at in _column(
        app, "SELECT created_at FROM case_entries WHERE kind = 'reporter_message'"))
    assert all(_on_the_hour(at) for at in _column(
        app, "SELECT created_at FROM unlocked_sessions WHERE role = 'reporter'"))
    staff_events = _column(app, "SELECT at FROM audit_events WHERE actor_role <> 'reporter'")
    assert not all(_on_the_hour(at) for at in staff_events)  # staff actions keep their exact times


def test_attachment_rows_and_files_do_not_time_the_upload(app, reporter, instance_path):
    response = reporter.submit(attachments=[(io.BytesIO(png_with_metadata()), "photo.png", "image/png")])
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert all(_on_the_hour(at) for at in _column(app, "SELECT created_at FROM attachments"))
    store = instance_path / "attachments"
    files = [path for path in store.iterdir() if path.is_file()]
    assert files and all(path.stat().st_mtime == FIXED_TIME for path in files)
    assert store.stat().st_mtime == FIXED_TIME
