"""An installation whose attachments live in an S3-compatible bucket (a real SeaweedFS server): the
reporter's upload, the staff download, what the bucket's operator can read, `reporter vault check`,
a failed or unreachable store, and a backup restored onto an empty bucket."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from reporter.cli import main
from reporter.evidence.bucket import BucketStore, parse_url
from reporter.evidence.store import Credentials
from reporter.extensions import db
from reporter.intake import submission
from reporter.models import Attachment, AuditEvent, Report
from reporter.web import context
from tests.conftest import TEST_DATABASE_URL, VALID_REPORT
from tests.lifecycle.installation import EVIDENCE, app_for, check_working, console, fresh_postgresql, populate
from tests.objectstore import SeaweedServer, free_ports

PREFIX = "site/attachments"
NOTES = b"The officer at the Lilo checkpoint took my phone; the car was GE-404-XX.\n" * 30


@pytest.fixture
def bucket(seaweed: SeaweedServer) -> str:
    """Return a fresh, empty bucket of the run's server for this test."""
    return seaweed.new_bucket()


@pytest.fixture
def app(app_factory: Any, seaweed: SeaweedServer, bucket: str) -> Any:
    """The test's installation, keeping its attachments in the test's bucket under a prefix."""
    return app_factory(**seaweed.settings(bucket, PREFIX))


@pytest.fixture
def staff_client(app: Any, staff_directory: Any, login: Any) -> Any:
    """A browser logged in as the bootstrap coordinator, who holds every GE report."""
    client = app.test_client()
    assert login(client, staff_directory.coordinator).status_code == 302
    return client


def rows(app: Any, model: Any) -> list[Any]:
    with app.app_context():
        return list(db.session.scalars(select(model)))


def download_link(staff_client: Any, report_id: str) -> str:
    page = staff_client.get(f"/staff/cases/{report_id}").get_data(as_text=True)
    start = page.index(f'href="/staff/cases/{report_id}/attachments/') + len('href="')
    return page[start:page.index('"', start)]


def test_a_file_goes_up_as_bare_ciphertext_and_comes_back_whole_to_staff(app, reporter, staff_client,
                                                                          seaweed, bucket, instance_path):
    response = reporter.submit(attachments=[(io.BytesIO(NOTES), "lilo-notes.txt")])
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    (row,) = rows(app, Attachment)
    assert staff_client.get(download_link(staff_client, row.report_id)).get_data() == NOTES

    objects = seaweed.objects(bucket)
    assert list(objects) == [f"{PREFIX}/{row.id}"]
    client = seaweed.client()
    head = client.head_object(Bucket=bucket, Key=f"{PREFIX}/{row.id}")
    assert head["Metadata"] == {} and head["ContentType"] == "application/octet-stream"
    everything = b"".join(objects.values()) + seaweed.raw_bytes()
    for plaintext in (NOTES[:40], b"Lilo checkpoint", b"GE-404-XX", b"lilo-notes",
                      VALID_REPORT["description"].encode(), VALID_REPORT["contact"].encode()):
        assert plaintext not in everything
    assert not (instance_path / "attachments").exists()


def vault_check(instance_path: Path, database_url: str, settings: dict[str, str]) -> Any:
    environment = {"REPORTER_INSTANCE_PATH": str(instance_path), "REPORTER_DATABASE_URL": database_url,
                   **settings}
    return CliRunner().invoke(main, ["vault", "check", "--discard-stale"], env=environment)


def test_vault_check_is_clean_and_then_finds_an_orphan_object(app, reporter, seaweed, bucket, instance_path,
                                                              database_url):
    assert reporter.submit(attachments=[(io.BytesIO(b"one\n"), "1.txt")]).status_code == 200
    settings = seaweed.settings(bucket, PREFIX)
    result = vault_check(instance_path, database_url, settings)
    assert result.exit_code == 0 and "consistent: 1 file(s)" in result.output, result.output
    assert "removed 0 stale" in result.output
    seaweed.client().put_object(Bucket=bucket, Key=f"{PREFIX}/{'f' * 32}", Body=b"RPAT left by a crash")
    result = vault_check(instance_path, database_url, settings)
    assert result.exit_code == 1 and f"file without row: {'f' * 32}" in result.output


def test_vault_check_says_clearly_when_the_bucket_cannot_be_reached(app, instance_path, database_url,
                                                                    seaweed):
    (port,) = free_ports(1)
    settings = {**seaweed.settings(), "REPORTER_ATTACHMENTS_URL": f"s3://gone?endpoint=http://127.0.0.1:{port}"}
    result = vault_check(instance_path, database_url, settings)
    assert result.exit_code == 1 and "cannot be reached" in result.output
    assert "Traceback" not in result.output


def test_a_failed_transaction_leaves_no_object_behind(app, reporter, seaweed, bucket, monkeypatch):
    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(submission.notifications, "enqueue", fail)
    response = reporter.submit(attachments=[(io.BytesIO(NOTES), "notes.txt")])
    assert response.status_code == 500
    assert seaweed.objects(bucket) == {} and rows(app, Report) == [] and rows(app, Attachment) == []


def dead_store() -> BucketStore:
    (port,) = free_ports(1)
    return BucketStore(parse_url(f"s3://reporter?endpoint=http://127.0.0.1:{port}&region=us-east-1"),
                       credentials=Credentials("id", "secret"))


def test_a_submission_while_the_bucket_is_down_gets_a_clear_page_and_stores_nothing(app, reporter):
    reporter.token()  # the installation is up; only its store is not
    app.extensions[context.ATTACHMENT_STORE] = dead_store()
    response = reporter.submit(attachments=[(io.BytesIO(NOTES), "notes.txt")])
    page = response.get_data(as_text=True)
    assert response.status_code == 503 and response.headers["Retry-After"]
    assert "Something went wrong on our side" in page and "please send it again" in page
    assert "Traceback" not in page and "botocore" not in page and "127.0.0.1" not in page
    assert rows(app, Report) == [] and rows(app, Attachment) == []


def test_a_download_while_the_bucket_is_down_is_not_taken_for_tampering(app, reporter, staff_client):
    assert reporter.submit(attachments=[(io.BytesIO(NOTES), "notes.txt")]).status_code == 200
    (row,) = rows(app, Attachment)
    link = download_link(staff_client, row.report_id)
    app.extensions[context.ATTACHMENT_STORE] = dead_store()
    response = staff_client.get(link)
    assert response.status_code == 503 and NOTES[:20] not in response.get_data()
    actions = {event.action for event in rows(app, AuditEvent)}
    assert "case.integrity_failure" not in actions and "attachment.downloaded" not in actions


def test_a_backup_is_restored_onto_an_empty_bucket_and_refused_onto_a_full_one(
        app, reporter, make_staff, seaweed, bucket, tmp_path, monkeypatch):
    source = Path(app.instance_path)
    key = tmp_path / "backup-private.key"
    assert console(source, "sqlite://", "backup", "keygen", "--private-to", str(key)).exit_code == 0
    installation = populate(app, reporter, make_staff)
    backup = tmp_path / "site.backup"
    made = console(source, app.config["REPORTER_DATABASE_URL"], "backup", "create", "--to", str(backup),
                   **seaweed.settings(bucket, PREFIX))
    assert made.exit_code == 0 and "1 attachment files" in made.output, made.output

    folder = tmp_path / "restored"
    url = f"sqlite:///{folder / 'r.db'}"
    if TEST_DATABASE_URL:
        url = fresh_postgresql(TEST_DATABASE_URL, "restore")
    full = console(folder, url, "backup", "restore", str(backup), "--backup-key", str(key),
                   **seaweed.settings(bucket, PREFIX))
    assert full.exit_code == 1 and "holds files" in full.output and "Traceback" not in full.output

    empty = seaweed.new_bucket()
    settings = seaweed.settings(empty, "restored")
    restored = console(folder, url, "backup", "restore", str(backup), "--backup-key", str(key), **settings)
    assert restored.exit_code == 0 and "1 attachment files" in restored.output, restored.output
    assert [name.split("/")[0] for name in seaweed.objects(empty)] == ["restored"]
    assert not (folder / "attachments").exists() or not any((folder / "attachments").iterdir())
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    check_working(app_for(folder, url, monkeypatch), installation)
    assert EVIDENCE[:30] not in b"".join(seaweed.objects(empty).values())
