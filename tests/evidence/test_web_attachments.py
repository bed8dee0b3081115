"""Attachments through HTTP: the reporter's form and follow-up, the staff download, `reporter vault check`."""

from __future__ import annotations

import html
import io
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from PIL import ExifTags, Image
from sqlalchemy import select

from reporter.cli import main
from reporter.evidence.store import TEMPORARY_PREFIX
from reporter.extensions import db
from reporter.intake import submission
from reporter.models import Attachment, AuditEvent, Report
from tests.evidence import samples
from tests.web.test_bad_input import form_values

MiB = 1024 * 1024


def files(*items: tuple[bytes, str]) -> list[tuple[io.BytesIO, str]]:
    """Return file parts for the test client: (content, name) pairs."""
    return [(io.BytesIO(content), name) for content, name in items]


def store_of(instance_path: Path) -> Path:
    return instance_path / "attachments"


def stored_files(instance_path: Path) -> list[Path]:
    folder = store_of(instance_path)
    return sorted(folder.iterdir()) if folder.is_dir() else []


def only_report(app: Any) -> Report:
    with app.app_context():
        report = db.session.scalars(select(Report)).one()
        db.session.expunge(report)
        return report


def rows(app: Any) -> list[Attachment]:
    with app.app_context():
        found = list(db.session.scalars(select(Attachment).order_by(Attachment.created_at, Attachment.id)))
        for row in found:
            db.session.expunge(row)
        return found


def events(app: Any, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


@pytest.fixture
def staff_client(app: Any, staff_directory: Any, login: Any) -> Any:
    """A second browser, logged in as the bootstrap coordinator of GE, who holds every GE report."""
    client = app.test_client()
    assert login(client, staff_directory.coordinator).status_code == 302
    return client


def download_links(staff_client: Any, report_id: str) -> list[str]:
    page = staff_client.get(f"/staff/cases/{report_id}").get_data(as_text=True)
    links = re.findall(r'href="(/staff/cases/[0-9a-f]+/attachments/[^"]+)"', page)
    return [html.unescape(link) for link in links]


def test_scrubbing_is_proved_by_the_download_gps_in_none_out(app, reporter, staff_client):
    photo = samples.jpeg_with_metadata()
    assert Image.open(io.BytesIO(photo)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    response = reporter.submit(attachments=files((photo, "IMG_0001.jpg")), keep_originals="y")
    assert response.status_code == 200
    report = only_report(app)
    scrubbed_link, original_link = download_links(staff_client, report.id)
    assert original_link.endswith("?copy=original")

    download = staff_client.get(scrubbed_link)
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "image/jpeg"
    assert download.headers["Content-Disposition"] == f'attachment; filename=case-{report.id[:8]}-1.jpg'
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert download.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert "no-store" in download.headers["Cache-Control"]
    cleaned = Image.open(io.BytesIO(download.get_data()))
    assert not cleaned.getexif() and samples.CANARY_BYTES not in download.get_data()

    original = staff_client.get(original_link)
    assert original.status_code == 200 and original.get_data() == photo
    disposition = original.headers["Content-Disposition"]
    assert disposition == f"attachment; filename=case-{report.id[:8]}-1-original.jpg"
    assert Image.open(io.BytesIO(original.get_data())).getexif().get_ifd(ExifTags.IFD.GPSInfo)

    downloaded = [json.loads(e.detail) for e in events(app, "attachment.downloaded")]
    assert [d["copy"] for d in downloaded] == ["scrubbed", "original"]


def test_the_case_page_shows_name_hash_and_what_was_removed(app, reporter, staff_client):
    import hashlib

    photo = samples.jpeg_with_metadata()
    reporter.submit(attachments=files((photo, "<img src=x onerror=alert(1)>\u202egpj.exe")))
    page = staff_client.get(f"/staff/cases/{only_report(app).id}").get_data(as_text=True)
    assert hashlib.sha256(photo).hexdigest() in page
    assert "&lt;img src=x onerror=alert(1)&gt;gpj.exe" in page
    assert "\u202e" not in page and "<img src=x" not in page
    assert "Metadata removed:" in page
    assert "copy=original" not in page  # the reporter did not ask to keep it


def test_the_raw_store_holds_none_of_the_uploaded_bytes(app, reporter, instance_path):
    content = os.urandom(48).hex().encode() * 200  # text, so stored as sent after "scrubbing"
    photo = samples.jpeg_with_metadata((256, 256))
    assert reporter.submit(attachments=files((content, "notes.txt"), (photo, "p.jpg")),
                           keep_originals="y").status_code == 200
    stored = b"".join(path.read_bytes() for path in stored_files(instance_path))
    assert len(stored_files(instance_path)) == 4
    for data in (content, photo):
        windows = [data[i:i + 32] for i in range(0, len(data) - 32, 997)]
        assert not any(window in stored for window in windows)


POLYGLOT_TAIL = b"<html><script>alert(document.cookie)</script></html>"


@pytest.mark.parametrize(("content", "name", "shown"), [
    (b"<?php system($_GET['c']); ?>", "shell.jpg", "not a kind of file we accept"),
    (b"<!doctype html><html><body><script>alert(1)</script></body></html>", "page.jpg",
     "not a kind of file we accept"),
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "logo.png",
     "not a kind of file we accept"),
    (samples.zip_bomb(16), "report.docx", "not a kind of file we accept"),
    (samples.png_bomb(), "big.png", "an image too large to process"),
    (b"", "empty.jpg", "is empty"),
    (None, "cut.jpg", "could not be read"),
], ids=["php-as-jpg", "html-as-jpg", "svg-script", "zip-bomb-docx", "decompression-bomb", "zero-bytes",
        "truncated-jpeg"])
def test_refused_files_come_back_with_the_form_and_a_clear_message(app, reporter, instance_path, content,
                                                                   name, shown):
    if content is None:
        out = io.BytesIO()
        samples.noise((128, 128)).save(out, "JPEG")
        content = out.getvalue()[:2000]
    response = reporter.submit(attachments=files((content, name)), description="Kept after a refusal")
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert shown in page and html.escape(name) in page
    assert "Kept after a refusal" in page
    if "accept" in shown:
        assert "PDF documents, plain text" in page  # the message lists what is accepted
    assert stored_files(instance_path) == [] and rows(app) == []


def test_a_polyglot_jpeg_html_is_cleaned_to_pixels_only(app, reporter, staff_client):
    out = io.BytesIO()
    samples.noise((64, 64)).save(out, "JPEG")
    assert reporter.submit(attachments=files((out.getvalue() + POLYGLOT_TAIL, "x.html"))).status_code == 200
    (link,) = download_links(staff_client, only_report(app).id)
    download = staff_client.get(link)
    assert download.headers["Content-Type"] == "image/jpeg" and b"<script" not in download.get_data()
    assert download.headers["Content-Disposition"].startswith("attachment;")


def test_a_pdf_with_javascript_is_scrubbed_and_served_only_as_a_download(app, reporter, staff_client):
    pdf = samples.pdf_with_metadata_and_scripts()
    assert reporter.submit(attachments=files((pdf, "invoice.pdf"))).status_code == 200
    (link,) = download_links(staff_client, only_report(app).id)
    download = staff_client.get(link)
    body = download.get_data()
    assert download.headers["Content-Type"] == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment;")
    assert download.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"
    assert b"/JavaScript" not in body and b"/OpenAction" not in body and samples.CANARY_BYTES not in body


@pytest.fixture
def small_limit_app(app_factory: Any) -> Any:
    return app_factory(REPORTER_ATTACHMENT_MAX_BYTES=64 * 1024)


def test_a_file_of_exactly_the_limit_is_accepted_and_one_byte_more_is_413_with_the_form_kept(small_limit_app):
    from tests.conftest import Reporter

    reporter = Reporter(small_limit_app.test_client())
    limit = 64 * 1024
    exact = reporter.submit(attachments=files((b"a" * limit, "exact.txt")))
    assert exact.status_code == 200
    over = reporter.submit(attachments=files((b"a" * (limit + 1), "over.txt")),
                           description="Typed before 413", contact="Signal 555")
    assert over.status_code == 413
    page = over.get_data(as_text=True)
    assert "over.txt is larger than 0.0625 MiB" in page
    values = form_values(over)
    assert values["description"] == "Typed before 413" and values["contact"] == "Signal 555"
    assert len(rows(small_limit_app)) == 1


def test_six_files_are_refused_before_any_is_read(app, reporter, instance_path):
    response = reporter.submit(attachments=files(*[(f"note {n}".encode(), f"{n}.txt") for n in range(6)]))
    assert response.status_code == 400
    assert "at most 5 files" in response.get_data(as_text=True)
    assert stored_files(instance_path) == [] and rows(app) == []


def test_empty_file_inputs_are_not_files(app, reporter):
    response = reporter.submit(attachments=[(io.BytesIO(b""), "")])
    assert response.status_code == 200 and rows(app) == []


@pytest.mark.parametrize("name", ["../../app.py", "..\\..\\x.txt", "a\x00.png", "CON", "n" * 300 + ".txt",
                                  "invoice\u202etxt.exe"],
                         ids=["dot-dot", "backslashes", "nul", "con", "300-chars", "rlo"])
def test_file_names_are_never_paths_and_downloads_get_a_server_chosen_name(app, reporter, staff_client,
                                                                            instance_path, name):
    response = reporter.submit(attachments=files((b"plain words\n", name)))
    assert response.status_code == 200
    report = only_report(app)
    (row,) = rows(app)
    assert [path.name for path in stored_files(instance_path)] == [row.id]
    page = staff_client.get(f"/staff/cases/{report.id}").get_data(as_text=True)
    shown = re.search(r'<strong class="file-name">([^<]*)</strong>', page)
    assert shown and len(html.unescape(shown.group(1))) <= 100
    assert "\u202e" not in shown.group(1) and "\x00" not in shown.group(1) and "/" not in shown.group(1)
    (link,) = download_links(staff_client, report.id)
    download = staff_client.get(link)
    assert download.headers["Content-Disposition"] == f"attachment; filename=case-{report.id[:8]}-1.txt"
    assert download.get_data() == b"plain words\n"


def test_a_corrupted_chunk_fails_closed_with_an_error_page_and_an_audit_event(app, reporter, staff_client,
                                                                             instance_path):
    secret = b"the secret words of the file\n" * 3000
    assert reporter.submit(attachments=files((secret, "notes.txt"))).status_code == 200
    (link,) = download_links(staff_client, only_report(app).id)
    (path,) = stored_files(instance_path)
    data = bytearray(path.read_bytes())
    data[len(data) - 100] ^= 0x01  # the last chunk: the first ones still verify
    path.write_bytes(bytes(data))
    response = staff_client.get(link)
    assert response.status_code == 500
    assert b"secret words" not in response.get_data()
    assert "failed its integrity check" in response.get_data(as_text=True)
    assert "attachment" not in response.headers.get("Content-Disposition", "")
    (failure,) = events(app, "case.integrity_failure")
    assert json.loads(failure.detail) == {"part": "attachment"}
    assert events(app, "attachment.downloaded") == []


def test_an_attachment_of_another_case_is_not_found(app, reporter, staff_client):
    reporter.submit(attachments=files((b"first\n", "a.txt")))
    reporter.submit(description="The second report")
    with app.app_context():
        second = db.session.scalars(select(Report).where(Report.id != rows(app)[0].report_id)).one().id
    response = staff_client.get(f"/staff/cases/{second}/attachments/{rows(app)[0].id}")
    assert response.status_code == 404
    assert staff_client.get(f"/staff/cases/{second}/attachments/../../keys").status_code == 404


def test_a_failed_transaction_leaves_no_file_behind(app, reporter, instance_path, monkeypatch):
    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(submission.notifications, "enqueue", fail)
    response = reporter.submit(attachments=files((samples.jpeg_with_metadata(), "p.jpg")), keep_originals="y")
    assert response.status_code == 500
    assert stored_files(instance_path) == [] and rows(app) == []


def test_follow_up_messages_carry_files_too(app, reporter, make_report, staff_client):
    receipt = make_report()
    assert reporter.follow_up(receipt).status_code == 302
    token = reporter.token("/followup/case")
    response = reporter.client.post("/followup/case/message", data={
        "csrf_token": token, "body": "Here is the screenshot",
        "attachments": files((samples.png_with_metadata(), "shot.png"))})
    assert response.status_code == 302
    (row,) = rows(app)
    assert row.entry_id is not None and row.kind == "png"
    page = staff_client.get(f"/staff/cases/{row.report_id}").get_data(as_text=True)
    assert "sent with a follow-up message" in page
    token = reporter.token("/followup/case")
    refused = reporter.client.post("/followup/case/message", data={
        "csrf_token": token, "body": "And six more",
        "attachments": files(*[(b"x\n", f"{n}.txt") for n in range(6)])})
    assert refused.status_code == 400 and "at most 5 files" in refused.get_data(as_text=True)
    refused = reporter.client.post("/followup/case/message", data={
        "csrf_token": reporter.token("/followup/case"), "body": "A script",
        "attachments": files((b"<script>alert(1)</script>", "a.txt"))})
    assert refused.status_code == 400 and len(rows(app)) == 1


class WriteWatch:
    """Records every file opened for writing while active (a Python audit hook sees every open)."""

    def __init__(self) -> None:
        self.active = False
        self.opened: list[str] = []
        sys.addaudithook(self._hook)

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if not self.active or event != "open" or not args or not isinstance(args[0], str | bytes | Path):
            return
        path, mode, flags = (list(args) + [None, None])[:3]
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT))
        if writes:
            self.opened.append(os.fsdecode(path))


WATCH = WriteWatch()


def test_a_9_mib_upload_never_creates_a_plaintext_file(app, reporter, instance_path, tmp_path, monkeypatch):
    import tempfile

    spool = tmp_path / "tmp"
    spool.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool))
    from werkzeug.test import encode_multipart

    from tests.conftest import VALID_REPORT
    from tests.staffing import ensure_coordinator

    ensure_coordinator(app)  # made before the watch starts: enrolment writes nothing to disk, but keep it out
    content = b"a line of plain text\n" * (9 * MiB // 21)
    fields = {**VALID_REPORT, "csrf_token": reporter.token(), "attachments": files((content, "big.txt"))[0]}
    # Encoded here, in memory: the test client would otherwise spool its own copy of the body to disk.
    boundary, body = encode_multipart(fields)
    WATCH.opened.clear()
    WATCH.active = True
    try:
        response = reporter.client.post("/report", data=body,
                                        content_type=f"multipart/form-data; boundary={boundary}")
    finally:
        WATCH.active = False
    assert response.status_code == 200
    assert list(spool.iterdir()) == []
    store = os.path.realpath(store_of(instance_path))
    outside = [path for path in WATCH.opened if os.path.dirname(os.path.realpath(path)) != store]
    assert outside == []
    assert all(os.path.basename(p).startswith(TEMPORARY_PREFIX) for p in WATCH.opened)
    leftovers = [p for p in instance_path.rglob("*") if p.is_file() and "keys" not in p.parts
                 and not p.name.startswith("reporter.db") and p.parent != store_of(instance_path)]
    assert leftovers == []


def _vault_check(instance_path: Path, database_url: str, *args: str) -> Any:
    environment = {"REPORTER_INSTANCE_PATH": str(instance_path), "REPORTER_DATABASE_URL": database_url}
    return CliRunner().invoke(main, ["vault", "check", *args], env=environment)


def test_vault_check_finds_rows_without_files_and_files_without_rows(app, reporter, instance_path,
                                                                      database_url):
    assert reporter.submit(attachments=files((b"one\n", "1.txt"), (b"two\n", "2.txt"))).status_code == 200
    result = _vault_check(instance_path, database_url)
    assert result.exit_code == 0 and "consistent: 2 file(s)" in result.output
    first, second = rows(app)
    (store_of(instance_path) / first.id).unlink()
    stray = store_of(instance_path) / ("f" * 32)
    stray.write_bytes(b"RPAT")
    result = _vault_check(instance_path, database_url)
    assert result.exit_code == 1
    assert f"row without file: {first.id}" in result.output
    assert f"file without row: {'f' * 32}" in result.output
    assert second.id not in result.output


def test_vault_check_discards_stale_leftovers_of_interrupted_uploads(app, instance_path, database_url):
    folder = store_of(instance_path)
    folder.mkdir(exist_ok=True)
    stale = folder / f"{TEMPORARY_PREFIX}abc"
    stale.write_bytes(b"RPAT ciphertext of an interrupted write")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    result = _vault_check(instance_path, database_url)
    assert result.exit_code == 1 and f"file without row: {stale.name}" in result.output
    result = _vault_check(instance_path, database_url, "--discard-stale")
    assert result.exit_code == 0 and "removed 1 stale" in result.output
    assert not stale.exists()


def test_only_the_forms_that_take_files_accept_a_large_body(app, reporter):
    assert app.config["MAX_CONTENT_LENGTH"] == 5 * 10 * MiB + MiB
    assert app.config["MAX_FORM_MEMORY_SIZE"] == MiB
    token = reporter.token("/followup")
    big = {"receipt": "x" * (2 * MiB), "csrf_token": token}
    assert reporter.client.post("/followup", data=big).status_code == 413
    with_file = {"receipt": "AAAA", "csrf_token": token, "attachments": files((b"a" * (2 * MiB), "a.txt"))}
    assert reporter.client.post("/followup", data=with_file).status_code == 413


def test_the_request_limit_follows_the_attachment_settings(app_factory):
    app = app_factory(REPORTER_ATTACHMENT_MAX_FILES=2, REPORTER_ATTACHMENT_MAX_BYTES=3 * MiB)
    assert app.config["MAX_CONTENT_LENGTH"] == 2 * 3 * MiB + MiB


def test_an_upload_cut_off_by_the_client_leaves_nothing(app, reporter, instance_path):
    from werkzeug.test import encode_multipart

    from tests.conftest import VALID_REPORT
    from tests.staffing import ensure_coordinator

    ensure_coordinator(app)
    fields = {**VALID_REPORT, "csrf_token": reporter.token(),
              "attachments": files((samples.jpeg_with_metadata((512, 512)), "p.jpg"))[0]}
    boundary, body = encode_multipart(fields)
    response = reporter.client.post("/report", input_stream=io.BytesIO(body[: len(body) // 2]),
                                    content_length=len(body),
                                    content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code in (400, 413)
    assert stored_files(instance_path) == [] and rows(app) == []
    with app.app_context():
        assert db.session.scalars(select(Report)).all() == []
