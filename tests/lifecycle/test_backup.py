"""`reporter backup`: a backup restored onto an empty instance works; a bad backup or target is refused."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from reporter.evidence.store import FIXED_TIME
from reporter.keyring import ESCROW_PRIVATE_FILE
from reporter.lifecycle import backup_keys
from reporter.models import AuditEvent, Report
from tests.conftest import TEST_DATABASE_URL
from tests.lifecycle.installation import (
    Installation,
    app_for,
    check_working,
    console,
    fresh_postgresql,
    populate,
)


@pytest.fixture
def backup_key(instance_path: Path) -> Path:
    """Return the offline backup private key of the test's instance (made with `reporter backup keygen`)."""
    private = instance_path.parent / "backup-private.key"
    result = console(instance_path, "sqlite://", "backup", "keygen", "--private-to", str(private))
    assert result.exit_code == 0, result.output
    return private


@pytest.fixture
def installation(app: Any, reporter: Any, make_staff: Any, backup_key: Path) -> Installation:
    """Return a populated installation with a backup key."""
    return populate(app, reporter, make_staff)


@pytest.fixture
def target(tmp_path: Path) -> tuple[Path, str]:
    """Return an empty instance folder (not yet created) and its database URL."""
    folder = tmp_path / "restored"
    if TEST_DATABASE_URL:
        return folder, fresh_postgresql(TEST_DATABASE_URL, "restore")
    return folder, f"sqlite:///{folder / 'reporter.db'}"


def make_backup(app: Any, destination: Path) -> Any:
    """Run `reporter backup create` for the test's instance."""
    return console(Path(app.instance_path), app.config["REPORTER_DATABASE_URL"], "backup", "create",
                   "--to", str(destination))


def restore(backup: Path, key: Path, target: tuple[Path, str]) -> Any:
    """Run `reporter backup restore` onto the target instance."""
    return console(target[0], target[1], "backup", "restore", str(backup), "--backup-key", str(key))


def nothing_written(target: tuple[Path, str]) -> bool:
    """Tell whether the target instance is still as empty as before the refused restore."""
    folder, url = target
    keys = folder / "keys"
    if keys.exists() and any(keys.iterdir()):
        return False
    if (folder / "attachments").exists() and any((folder / "attachments").iterdir()):
        return False
    if url.startswith("sqlite"):
        return not (folder / "reporter.db").exists()
    engine = create_engine(url)
    with engine.connect() as connection:
        tables = connection.exec_driver_sql(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'").scalar()
    engine.dispose()
    return tables == 0


def test_a_restored_backup_opens_receipts_cases_and_files_and_continues_the_chain(
        app, installation, backup_key, target, tmp_path, monkeypatch):
    destination = tmp_path / "site.backup"
    made = make_backup(app, destination)
    assert made.exit_code == 0, made.output
    assert "backup written" in made.output and destination.is_file()
    assert b"Someone published" not in destination.read_bytes()
    assert [p.name for p in destination.parent.iterdir() if "partial" in p.name] == []

    restored = restore(destination, backup_key, target)
    assert restored.exit_code == 0, restored.output
    assert "the audit chain verifies" in restored.output
    keys = target[0] / "keys"
    assert (keys / "backup.pub").is_file() and not (target[0] / ESCROW_PRIVATE_FILE).exists()
    assert all((path.stat().st_mode & 0o077) == 0 for path in keys.iterdir())
    files = list((target[0] / "attachments").iterdir())
    assert files and all(path.stat().st_mtime == FIXED_TIME for path in files)

    copy = app_for(target[0], target[1], monkeypatch)
    check_working(copy, installation)
    with copy.app_context():
        from reporter.extensions import db

        actions = list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))
        assert db.session.scalar(select(func.count()).select_from(Report)) == 2  # restored, then one new
    # The backup holds the chain as it was when the backup began; the restore continues it.
    assert "instance.restored" in actions
    assert "backup.created" not in actions[:actions.index("instance.restored")]


def test_the_escrow_private_key_never_goes_into_a_backup(app, installation, backup_key, target, tmp_path):
    keys = Path(app.config["REPORTER_KEYS_PATH"])
    escrow_private = (tmp_path / "escrow-private.key").read_bytes()
    (keys / ESCROW_PRIVATE_FILE).write_bytes(escrow_private)
    (keys / "renamed.key").write_bytes(escrow_private)  # left by hand under another name
    for path in (keys / ESCROW_PRIVATE_FILE, keys / "renamed.key"):
        os.chmod(path, 0o600)
    destination = tmp_path / "site.backup"
    made = make_backup(app, destination)
    assert made.exit_code == 0, made.output
    assert "left out renamed.key" in made.output
    assert restore(destination, backup_key, target).exit_code == 0
    restored = {path.name for path in (target[0] / "keys").iterdir()}
    assert ESCROW_PRIVATE_FILE not in restored and "renamed.key" not in restored
    assert "escrow.pub" in restored and "audit_signing.key" in restored


def test_backup_create_refuses_without_a_backup_public_key(app, reporter, tmp_path):
    result = make_backup(app, tmp_path / "site.backup")
    assert result.exit_code == 1
    assert "no backup public key" in result.output and "reporter backup keygen" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "site.backup").exists()


def test_keygen_refuses_to_replace_a_backup_key(instance_path, backup_key):
    again = console(instance_path, "sqlite://", "backup", "keygen", "--private-to", str(backup_key) + ".2")
    assert again.exit_code == 1 and "exists already" in again.output


@pytest.mark.parametrize("damage", ["truncated", "cut at a chunk", "flipped byte", "flipped header byte"])
def test_a_damaged_backup_is_refused_before_anything_is_written(app, installation, backup_key, target,
                                                                tmp_path, damage):
    destination = tmp_path / "site.backup"
    assert make_backup(app, destination).exit_code == 0
    data = bytearray(destination.read_bytes())
    if damage == "truncated":
        data = data[: len(data) - 1000]
    elif damage == "cut at a chunk":
        data = data[: len(data) - (4 + 1024 * 1024 + 16)]
    elif damage == "flipped byte":
        data[len(data) // 2] ^= 0x01
    else:
        data[100] ^= 0x01  # inside the sealed file key
    destination.write_bytes(bytes(data))
    result = restore(destination, backup_key, target)
    assert result.exit_code == 1, result.output
    assert "altered" in result.output or "cut short" in result.output
    assert "Traceback" not in result.output
    assert nothing_written(target)


def test_a_wrong_backup_key_is_refused_before_anything_is_written(app, installation, backup_key, target,
                                                                  tmp_path):
    destination = tmp_path / "site.backup"
    assert make_backup(app, destination).exit_code == 0
    other = tmp_path / "other"
    backup_keys.create_backup_keys(other, tmp_path / "other-private.key")
    result = restore(destination, tmp_path / "other-private.key", target)
    assert result.exit_code == 1
    assert "does not open with this backup key" in result.output
    assert nothing_written(target)
    public = restore(destination, other / "backup.pub", target)
    assert public.exit_code == 1 and "not a backup private key" in public.output
    assert nothing_written(target)


def test_restore_refuses_an_instance_that_is_not_empty(app, installation, backup_key, tmp_path):
    destination = tmp_path / "site.backup"
    assert make_backup(app, destination).exit_code == 0
    instance = Path(app.instance_path)
    url = app.config["REPORTER_DATABASE_URL"]
    result = console(instance, url, "backup", "restore", str(destination), "--backup-key", str(backup_key))
    assert result.exit_code == 1 and "is not empty" in result.output
    # Keys gone but the database still full: refused as well.
    keyless = tmp_path / "keyless"
    keyless.mkdir()
    result = console(keyless, url, "backup", "restore", str(destination), "--backup-key", str(backup_key))
    assert result.exit_code == 1 and "target database is not empty" in result.output
    assert not (keyless / "keys").exists()


def test_a_backup_after_key_rotation_holds_every_key_version(app, installation, backup_key, target, tmp_path,
                                                             monkeypatch):
    rotated = app.test_cli_runner().invoke(args=["keys", "rotate"])
    assert rotated.exit_code == 0, rotated.output
    keys = Path(app.config["REPORTER_KEYS_PATH"])
    before = sorted(path.relative_to(keys).as_posix() for path in keys.rglob("*") if path.is_file())
    destination = tmp_path / "site.backup"
    assert make_backup(app, destination).exit_code == 0
    result = restore(destination, backup_key, target)
    assert result.exit_code == 0, result.output
    after = sorted(path.relative_to(target[0] / "keys").as_posix()
                   for path in (target[0] / "keys").rglob("*") if path.is_file())
    assert after == before and len(before) > 7
    check_working(app_for(target[0], target[1], monkeypatch), installation)


def test_keys_from_the_environment_are_named_not_copied(app, installation, backup_key, target, tmp_path):
    keys = Path(app.config["REPORTER_KEYS_PATH"])
    totp = (keys / "totp.key").read_text().strip()
    destination = tmp_path / "site.backup"
    made = console(Path(app.instance_path), app.config["REPORTER_DATABASE_URL"], "backup", "create",
                   "--to", str(destination), REPORTER_TOTP_KEY=totp)
    assert made.exit_code == 0, made.output
    assert "Keys set in the environment are not in the backup: REPORTER_TOTP_KEY" in made.output
    result = console(target[0], target[1], "backup", "restore", str(destination), "--backup-key",
                     str(backup_key), REPORTER_TOTP_KEY=totp)
    assert result.exit_code == 0, result.output
    assert "set them before starting" not in result.output
