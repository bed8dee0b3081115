"""`reporter vault check --discard-stale` removes the files a killed submission left, and nothing else.

A submission writes its encrypted files before its transaction; a process killed between the two
leaves files whose data key was never committed. The check removes them once they are older than
`--older-than` (an upload in progress is younger), on the local folder and on a real bucket
(SeaweedFS), and never a file that has a row or that the purge still has to remove.
"""

from __future__ import annotations

import io
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from reporter.cli import main
from reporter.crypto import chunks
from reporter.evidence.store import TEMPORARY_PREFIX, AttachmentStore, FolderStore
from reporter.extensions import db
from reporter.lifecycle import purge
from reporter.models import Attachment, AuditEvent, PurgedFile
from reporter.models.base import new_id
from reporter.web import context

PREFIX = "site/attachments"


@pytest.fixture(params=["folder", "bucket"])
def settings(request: Any) -> dict[str, str]:
    """The attachment store of the test's installation: the instance folder, or a fresh bucket."""
    if request.param == "folder":
        return {}
    seaweed = request.getfixturevalue("seaweed")
    return dict(seaweed.settings(seaweed.new_bucket(), PREFIX))


@pytest.fixture
def app(app_factory: Any, settings: dict[str, str]) -> Any:
    return app_factory(**settings)


def store_of(app: Any) -> AttachmentStore:
    return context.attachment_store(app)


def plant(app: Any) -> str:
    """Write an encrypted-looking file as a submission killed before its commit leaves it; return its id."""
    file_id = new_id()
    with store_of(app).create(file_id) as sink:
        sink.write(chunks.MAGIC + b" ciphertext whose key was never committed")
    return file_id


def vault_check(instance_path: Path, database_url: str, settings: dict[str, str], *args: str) -> Any:
    environment = {"REPORTER_INSTANCE_PATH": str(instance_path), "REPORTER_DATABASE_URL": database_url,
                   **settings}
    return CliRunner().invoke(main, ["vault", "check", *args], env=environment)


def removals(app: Any) -> list[dict[str, Any]]:
    with app.app_context():
        found = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "vault.orphans_removed"))
        return [json.loads(event.detail) for event in found]


def test_an_old_file_without_row_is_removed_a_young_one_kept_and_a_file_with_a_row_never(
        app, reporter, settings, instance_path, database_url):
    assert reporter.submit(attachments=[(io.BytesIO(b"kept\n"), "kept.txt")]).status_code == 200
    with app.app_context():
        (kept,) = db.session.scalars(select(Attachment.id))
    orphan = plant(app)

    young = vault_check(instance_path, database_url, settings, "--discard-stale")
    assert young.exit_code == 1 and f"file without row: {orphan}" in young.output
    assert "removed 0 file(s) without row written more than 60 minute(s) ago" in young.output
    assert store_of(app).exists(orphan) and removals(app) == []

    cleaned = vault_check(instance_path, database_url, settings, "--discard-stale", "--older-than", "0")
    assert cleaned.exit_code == 0, cleaned.output
    assert f"removed file without row: {orphan}" in cleaned.output
    assert kept not in cleaned.output and "consistent: 1 file(s)" in cleaned.output
    assert not store_of(app).exists(orphan) and store_of(app).exists(kept)
    assert removals(app) == [{"files": 1, "older_than_minutes": 0}]
    assert vault_check(instance_path, database_url, settings).exit_code == 0


def test_a_file_the_purge_still_has_to_remove_is_left_to_the_purge(app, settings, instance_path,
                                                                    database_url):
    pending = plant(app)
    with app.app_context(), db.writing() as session:  # a purge that committed, then died before the file
        session.add(PurgedFile(store_id=pending, purged_at=datetime(2026, 1, 1)))
        session.commit()
    result = vault_check(instance_path, database_url, settings, "--discard-stale", "--older-than", "0")
    assert "removed 0 file(s) without row" in result.output
    assert f"removed file without row: {pending}" not in result.output
    assert "1 file(s) of purged cases still to be removed" in result.output
    assert store_of(app).exists(pending) and removals(app) == []
    with app.app_context(), db.writing() as session:
        assert purge.remove_purged_files(session, store_of(app)) == (1, 0)
    assert vault_check(instance_path, database_url, settings).exit_code == 0


def test_the_age_comes_from_the_time_the_store_wrote_the_file(app):
    written = plant(app)
    store = store_of(app)
    assert store.written_before(time.time() + 5) == {written}
    assert store.written_before(time.time() - 3600) == set()
    if isinstance(store, FolderStore):  # the fixed modification time, which hides when it came, is not used
        assert store.path_of(written).stat().st_mtime < time.time() - 3600
        (store.root / f"{TEMPORARY_PREFIX}left").write_bytes(chunks.MAGIC)
        assert store.written_before(time.time() + 5) == {written}


def test_older_than_goes_with_discard_stale(app, settings, instance_path, database_url):
    result = vault_check(instance_path, database_url, settings, "--older-than", "0")
    assert result.exit_code == 2 and "--older-than goes with --discard-stale" in result.output
    negative = vault_check(instance_path, database_url, settings, "--discard-stale", "--older-than", "-1")
    assert negative.exit_code == 2 and "Traceback" not in negative.output
