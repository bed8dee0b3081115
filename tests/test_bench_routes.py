"""The benchmark baselines (bench/baseline_app.py): never in the application, guarded in the baseline app.

They store report content in plaintext, so they live outside the package and no setting brings them
into it: the real app has no /bench route whatever its environment says (the authorization matrix runs
on it), and the baseline app that bench/intake.py and bench/evidence.py serve keeps its download
baseline for the case handlers who hold the case.
"""

from __future__ import annotations

import importlib.util
import io
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from reporter.extensions import db
from reporter.models import Report
from reporter.web import formdata
from tests import conftest

BASELINE_APP = Path(__file__).resolve().parent.parent / "bench" / "baseline_app.py"
FILE_ID = "0" * 32
BENCH_PATHS = [("POST", "/bench/baseline-report"), ("POST", "/bench/baseline-evidence"),
               ("GET", f"/bench/baseline-evidence/{'1' * 32}/{FILE_ID}"),
               ("GET", f"/bench/plain-file/{FILE_ID}")]


def _bench_rules(app: Flask) -> list[str]:
    return [rule.rule for rule in app.url_map.iter_rules()
            if rule.rule.startswith("/bench") or rule.endpoint.startswith("bench.")]


@pytest.mark.parametrize("switch", ["none", "environment", "settings"])
def test_the_real_app_has_no_bench_route_whatever_it_is_told(app_factory, monkeypatch, switch) -> None:
    # The setting that used to register the baselines, given every way the app reads settings.
    if switch == "environment":
        monkeypatch.setenv("REPORTER_BENCH_BASELINE", "1")
    app: Flask = app_factory(**({"REPORTER_BENCH_BASELINE": True} if switch == "settings" else {}))
    assert "bench" not in app.blueprints
    assert not _bench_rules(app)
    client = app.test_client()
    for method, path in BENCH_PATHS:
        assert client.open(path, method=method).status_code in (404, 405), path


def test_the_package_holds_no_baseline_module() -> None:
    package = BASELINE_APP.parent.parent / "reporter"
    assert not (package / "web" / "bench.py").exists()
    assert "baseline_app" not in {path.stem for path in package.rglob("*.py")}


def _baseline_module() -> ModuleType:
    """Load bench/baseline_app.py by its path (bench/ is not a package), once per run."""
    module = sys.modules.get("baseline_app")
    if module is None:
        spec = importlib.util.spec_from_file_location("baseline_app", BASELINE_APP)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["baseline_app"] = module
        spec.loader.exec_module(module)
    return module


@pytest.fixture
def bench_app(app_factory: Any, monkeypatch: pytest.MonkeyPatch) -> Flask:
    """Return the baseline app, built by conftest's factory with the same test settings as `app`."""
    # The factory's builder calls the create_app it imported; pointing that at the baseline app's
    # factory keeps everything else of the fixture: settings, test client, engine disposal, limiter reset.
    monkeypatch.setattr(conftest, "create_app", _baseline_module().create_baseline_app)
    app: Flask = app_factory()
    return app


def test_the_baseline_app_has_the_baseline_routes(bench_app) -> None:
    assert "bench" in bench_app.blueprints
    assert sorted(_bench_rules(bench_app)) == [
        "/bench/baseline-evidence", "/bench/baseline-evidence/<report_id>/<file_id>",
        "/bench/baseline-report", "/bench/plain-file/<file_id>"]


def test_the_baseline_upload_takes_a_body_as_large_as_the_report_form_does(bench_app, monkeypatch) -> None:
    from tests.conftest import VALID_REPORT, Reporter

    # the baseline app allows it itself: the package need not name the baseline's endpoint
    monkeypatch.setattr(formdata, "UPLOAD_ENDPOINTS", formdata.UPLOAD_ENDPOINTS - {"bench.baseline_evidence"})
    content = "\n".join(os.urandom(40).hex() for _ in range(30_000)).encode()  # 2.4 MB of text
    assert len(content) > bench_app.config["MAX_FORM_MEMORY_SIZE"]
    reporter = Reporter(bench_app.test_client())
    upload = reporter.client.post("/bench/baseline-evidence", data={
        **VALID_REPORT, "csrf_token": reporter.token(), "attachments": [(io.BytesIO(content), "e.txt")]},
        content_type="multipart/form-data")
    assert upload.status_code == 200, upload.get_data(as_text=True)[:300]


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


def test_with_a_bucket_store_the_baseline_keeps_its_plain_files_in_the_same_bucket(app_factory, monkeypatch,
                                                                                   seaweed, instance_path):
    """So that the benchmark's ratio shows what encryption costs on the same storage, not the bucket's."""
    from tests.conftest import VALID_REPORT, Reporter

    bucket = seaweed.new_bucket()
    monkeypatch.setattr(conftest, "create_app", _baseline_module().create_baseline_app)
    bench_app = app_factory(**seaweed.settings(bucket, "site/attachments"))
    reporter = Reporter(bench_app.test_client())
    upload = reporter.client.post("/bench/baseline-evidence", data={
        **VALID_REPORT, "csrf_token": reporter.token(),
        "attachments": [(io.BytesIO(b"plain evidence text\n"), "e.txt")]}, content_type="multipart/form-data")
    assert upload.status_code == 200
    file_id = upload.get_data(as_text=True).split()[0]
    assert seaweed.objects(bucket) == {f"bench-plain/{file_id}": b"plain evidence text\n"}
    assert not (instance_path / "bench-plain-files").exists()
    assert bench_app.test_client().get(f"/bench/plain-file/{file_id}").get_data() == b"plain evidence text\n"
    assert bench_app.test_client().get(f"/bench/plain-file/{'f' * 32}").status_code == 404
