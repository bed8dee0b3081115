"""The benchmark baselines (reporter/web/bench.py): absent unless REPORTER_BENCH_BASELINE, guarded when on.

They store report content in plaintext, so a deployment must never have them: the authorization matrix
runs on the default app, where they do not exist; this file checks both settings.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from reporter.extensions import db
from reporter.models import Report

FILE_ID = "0" * 32
BENCH_PATHS = [("POST", "/bench/baseline-report"), ("POST", "/bench/baseline-evidence"),
               ("GET", f"/bench/baseline-evidence/{'1' * 32}/{FILE_ID}"),
               ("GET", f"/bench/plain-file/{FILE_ID}")]


def test_a_default_app_has_no_bench_route(app: Flask) -> None:
    assert not [rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/bench")]
    client = app.test_client()
    for method, path in BENCH_PATHS:
        assert client.open(path, method=method).status_code in (404, 405), path


@pytest.fixture
def bench_app(app_factory: Any) -> Flask:
    app: Flask = app_factory(REPORTER_BENCH_BASELINE=True)
    return app


def _report_id(app: Flask) -> str:
    with app.app_context():
        return str(db.session.scalars(select(Report.id)).first())


def test_the_baseline_download_is_for_logged_in_case_handlers_who_hold_the_case(bench_app, login):
    from tests.conftest import VALID_REPORT, Reporter
    from tests.staffing import directory_of, ensure_coordinator

    ensure_coordinator(bench_app)
    reporter = Reporter(bench_app.test_client())
    upload = reporter.client.post("/bench/baseline-evidence", data={
        **VALID_REPORT, "csrf_token": reporter.token(),
        "attachments": [(io.BytesIO(b"plain evidence text\n"), "e.txt")]}, content_type="multipart/form-data")
    assert upload.status_code == 200
    file_id = upload.get_data(as_text=True).split()[0]
    # the real report and attachment whose rows, seal and audit event the baseline's work mirrors
    assert reporter.submit(attachments=[(io.BytesIO(b"evidence\n"), "e.txt")]).status_code == 200
    path = f"/bench/baseline-evidence/{_report_id(bench_app)}/{file_id}"

    assert bench_app.test_client().get(path).status_code in (302, 401)  # anonymous: to the login
    directory = directory_of(bench_app)
    for role, expected in (("auditor", 403), ("admin", 403)):
        client = bench_app.test_client()
        assert login(client, directory.make(role, region=None)).status_code == 302
        assert client.get(path).status_code == expected, role
    outsider = bench_app.test_client()
    assert login(outsider, directory.make("focal_point", region="AM")).status_code == 302
    assert outsider.get(path).status_code == 404  # a case handler who does not hold it
    holder = bench_app.test_client()
    assert login(holder, directory.coordinator).status_code == 302
    response = holder.get(path)
    assert response.status_code == 200 and response.get_data() == b"plain evidence text\n"


@pytest.mark.parametrize("file_id", ["../../keys/secret_key", "0" * 31, "g" * 32, "%2e%2e%2fkeys"])
def test_the_bare_stream_takes_only_generated_ids(bench_app, file_id):
    assert bench_app.test_client().get(f"/bench/plain-file/{file_id}").status_code == 404
