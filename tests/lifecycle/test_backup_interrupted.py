"""Backups and restores killed halfway (kill -9): no file that looks like a backup, a target still empty."""
# ruff: noqa: F811 - the fixtures of test_backup are imported, and tests name them as arguments

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from reporter.audit import chain
from reporter.extensions import db
from reporter.lifecycle import loading, restore
from tests.lifecycle.installation import app_for, check_working, console
from tests.lifecycle.test_backup import backup_key, installation, make_backup, target  # noqa: F401

#: Enough audit events that creating or restoring a backup takes long enough to be killed halfway.
FILLER_EVENTS = 20000


def add_events(app: Any, count: int) -> None:
    """Append `count` console events to the audit chain (signed checkpoints as they fall due)."""
    with app.app_context(), db.writing() as session:
        for _ in range(count):
            chain.record(session, actor=chain.CONSOLE, action="test.filler")
        session.commit()


def start(instance: Path, url: str, *args: str) -> subprocess.Popen[bytes]:
    """Start `reporter ARGS` in a process of its own."""
    environment = {**os.environ, "REPORTER_INSTANCE_PATH": str(instance),
                   "REPORTER_KEYS_PATH": str(instance / "keys"), "REPORTER_DATABASE_URL": url}
    return subprocess.Popen([sys.executable, "-m", "reporter.cli", *args], env=environment,  # noqa: S603
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def kill_when(process: subprocess.Popen[bytes], ready: Any, *, delay: float = 0.0) -> None:
    """Kill the process with SIGKILL once `ready()` holds (after `delay` seconds more)."""
    deadline = time.monotonic() + 120
    while not ready():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.001)
    time.sleep(delay)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL, "the command finished before it could be killed"


def empty(instance: tuple[Path, str]) -> bool:
    """Tell whether the target instance has no keys, no files and no rows."""
    folder, url = instance
    if any((folder / "keys").glob("*")) or any((folder / "attachments").glob("*")):
        return False
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return not loading.occupied_tables(connection)
    finally:
        engine.dispose()


def test_a_backup_killed_halfway_leaves_no_file_under_the_backup_name(app, installation, tmp_path):
    add_events(app, FILLER_EVENTS)
    destination = tmp_path / "out" / "site.backup"
    destination.parent.mkdir()
    process = start(Path(app.instance_path), app.config["REPORTER_DATABASE_URL"], "backup", "create",
                    "--to", str(destination))
    # At once: on a fast machine the whole backup is written and renamed within a fraction of a second.
    kill_when(process, lambda: any(destination.parent.iterdir()))
    assert not destination.exists()
    assert all(path.name.startswith(".site.backup.partial-") for path in destination.parent.iterdir())


def test_a_restore_killed_halfway_leaves_the_target_empty_and_can_run_again(
        app, installation, backup_key, target, tmp_path, monkeypatch):
    add_events(app, FILLER_EVENTS)
    backup = tmp_path / "site.backup"
    assert make_backup(app, backup).exit_code == 0
    staging = target[0] / restore.STAGING
    process = start(target[0], target[1], "backup", "restore", str(backup), "--backup-key", str(backup_key))
    kill_when(process, staging.exists, delay=0.3)
    # Killed before its commit the target is empty; killed after it, the marker says what is left to do.
    assert empty(target) or (staging / restore.COMMITTING).is_file()

    again = console(target[0], target[1], "backup", "restore", str(backup), "--backup-key", str(backup_key))
    assert again.exit_code == 0, again.output
    assert not staging.exists()
    check_working(app_for(target[0], target[1], monkeypatch), installation)


def test_a_restore_stopped_after_its_commit_is_finished_by_running_it_again(
        app, installation, backup_key, target, tmp_path, monkeypatch):
    backup = tmp_path / "site.backup"
    assert make_backup(app, backup).exit_code == 0

    def die(*_args: Any) -> int:
        raise SystemExit(137)  # as if killed between the commit and moving the files into place

    with monkeypatch.context() as patched:
        patched.setattr(restore, "_move_into_place", die)
        stopped = console(target[0], target[1], "backup", "restore", str(backup), "--backup-key",
                          str(backup_key))
    assert stopped.exit_code == 137
    assert (target[0] / restore.STAGING / restore.COMMITTING).is_file()
    assert not any((target[0] / "keys").glob("*"))

    again = console(target[0], target[1], "backup", "restore", str(backup), "--backup-key", str(backup_key))
    assert again.exit_code == 0, again.output
    assert "finished the interrupted restore" in again.output
    check_working(app_for(target[0], target[1], monkeypatch), installation)


@pytest.mark.parametrize("leftover", ["staging without marker"])
def test_a_staging_folder_from_an_attempt_before_the_commit_is_discarded(
        app, installation, backup_key, target, tmp_path, monkeypatch, leftover):
    backup = tmp_path / "site.backup"
    assert make_backup(app, backup).exit_code == 0
    staging = target[0] / restore.STAGING / "keys"
    staging.mkdir(parents=True)
    (staging / "secret_key").write_text("left by a killed attempt\n")
    result = console(target[0], target[1], "backup", "restore", str(backup), "--backup-key", str(backup_key))
    assert result.exit_code == 0, result.output
    assert (target[0] / "keys" / "secret_key").read_text() != "left by a killed attempt\n"
