"""`reporter keys rotate --escrow`, and rotations killed with SIGKILL halfway then run again."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import select

from reporter.extensions import db
from reporter.keyring import escrow_key_id, read_escrow_private_key
from reporter.models import Report, Seal
from tests.lifecycle.installation import Installation, app_for, check_working, console, populate
from tests.tampering import tamper

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def installation(app, reporter, make_staff) -> Installation:
    """Return an installation with a focal point and three routed reports (one with a file)."""
    made = populate(app, reporter, make_staff)
    for _ in range(2):
        assert reporter.submit().status_code == 200
    return made


def _url(app) -> str:
    return str(app.config["REPORTER_DATABASE_URL"])


def _escrow_seals(app) -> dict[str, set[str]]:
    with app.app_context():
        query = select(Seal.report_id, Seal.recipient_id).where(Seal.recipient_kind == "escrow")
        rows = db.session.execute(query)
        found: dict[str, set[str]] = {}
        for report_id, recipient in rows:
            found.setdefault(report_id, set()).add(recipient)
        reports = set(db.session.scalars(select(Report.id)))
    assert set(found) == reports, "every case holds an escrow seal"
    return found


def _new_private_files(instance_path: Path) -> list[Path]:
    return sorted(instance_path.glob("escrow-private-*.key.MOVE-OFFLINE"))


def test_escrow_rotation_seals_every_case_to_the_new_key_which_then_recovers_alone(
        app, installation, instance_path, escrow_private_key_path):
    url = _url(app)
    old_id = escrow_key_id(read_escrow_private_key(escrow_private_key_path).public)
    rotated = console(instance_path, url, "keys", "rotate", "--escrow", "--old-escrow-key",
                      str(escrow_private_key_path))
    assert rotated.exit_code == 0, rotated.output
    assert "sealed 3 case(s)" in rotated.output and "MOVE IT OFFLINE" in rotated.output
    [new_file] = _new_private_files(instance_path)
    new_id = escrow_key_id(read_escrow_private_key(new_file).public)
    assert all(held == {new_id} for held in _escrow_seals(app).values())
    assert old_id not in str(_escrow_seals(app))

    email = installation.focal_point.email
    refused = console(instance_path, url, "keys", "recover", "--escrow-key", str(escrow_private_key_path),
                      "--user", email)
    assert refused.exit_code != 0  # the old escrow key opens nothing any more
    recovered = console(instance_path, url, "keys", "recover", "--escrow-key", str(new_file), "--user", email)
    assert recovered.exit_code == 0 and "re-sealed 3 case(s)" in recovered.output, recovered.output

    status = console(instance_path, url, "keys", "status")
    assert f"0 escrow seals ({old_id})  -> can be removed" in status.output, status.output
    assert f"3 escrow seals ({new_id})" in status.output


def test_a_case_whose_old_escrow_seal_does_not_open_is_reported_and_keeps_it(
        app, installation, instance_path, escrow_private_key_path, backend):
    tamper(backend, "UPDATE seals SET sealed_key = :junk WHERE report_id = :id AND recipient_kind = 'escrow'",
           junk=os.urandom(1200), id=installation.report_id)
    rotated = console(instance_path, _url(app), "keys", "rotate", "--escrow", "--old-escrow-key",
                      str(escrow_private_key_path))
    assert rotated.exit_code == 0, rotated.output
    assert f"case {installation.report_id}: its old escrow seal does not open" in rotated.output
    old_id = escrow_key_id(read_escrow_private_key(escrow_private_key_path).public)
    assert _escrow_seals(app)[installation.report_id] == {old_id}
    status = console(instance_path, _url(app), "keys", "status")
    assert f"1 escrow seals ({old_id})  -> still needed" in status.output


def _killed_run(instance_path: Path, url: str, setup: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `reporter ARGS` in a process that SIGKILLs itself where `setup` says."""
    script = textwrap.dedent("""
        import os, signal, sys
        calls = {"n": 0}
        def kill_on(count):
            def wrap(function):
                def wrapped(*args, **kwargs):
                    calls["n"] += 1
                    if calls["n"] == count:
                        os.kill(os.getpid(), signal.SIGKILL)
                    return function(*args, **kwargs)
                return wrapped
            return wrap
    """) + textwrap.dedent(setup) + textwrap.dedent("""
        from reporter.cli import main
        main(sys.argv[1:])
    """)
    environment = {**os.environ, "REPORTER_INSTANCE_PATH": str(instance_path),
                   "REPORTER_KEYS_PATH": str(instance_path / "keys"), "REPORTER_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-c", script, *args], env=environment, cwd=ROOT,  # noqa: S603
                          capture_output=True, text=True, timeout=300, check=False)


def test_an_escrow_rotation_killed_halfway_is_finished_by_a_rerun_with_the_same_new_key(
        app, installation, instance_path, escrow_private_key_path, monkeypatch):
    url = _url(app)
    killed = _killed_run(instance_path, url, """
        from reporter.lifecycle import escrow_rotation
        escrow_rotation.BATCH = 1
        escrow_rotation._seal_one = kill_on(2)(escrow_rotation._seal_one)
    """, "keys", "rotate", "--escrow", "--old-escrow-key", str(escrow_private_key_path))
    assert killed.returncode == -9, killed.stderr[-2000:]
    [new_file] = _new_private_files(instance_path)
    new_id = escrow_key_id(read_escrow_private_key(new_file).public)
    halfway = _escrow_seals(app)  # every case still holds a seal that opens
    assert sum(new_id in held for held in halfway.values()) == 1

    rerun = console(instance_path, url, "keys", "rotate", "--escrow", "--old-escrow-key",
                    str(escrow_private_key_path))
    assert rerun.exit_code == 0, rerun.output
    assert "MOVE IT OFFLINE" not in rerun.output  # no new key was made
    assert _new_private_files(instance_path) == [new_file]
    assert all(held == {new_id} for held in _escrow_seals(app).values())
    recovered = console(instance_path, url, "keys", "recover", "--escrow-key", str(new_file),
                        "--user", installation.focal_point.email)
    assert recovered.exit_code == 0 and "re-sealed 3 case(s)" in recovered.output, recovered.output
    check_working(app_for(instance_path, url, monkeypatch), installation)


# Killed while preparing, and before and between the two writes of a promotion (audit, receipt).
@pytest.mark.parametrize("kill_at", [3, 7, 8, 12])
def test_an_instance_key_rotation_killed_halfway_leaves_a_working_installation_and_a_rerun_finishes(
        app, installation, instance_path, monkeypatch, kill_at):
    url = _url(app)
    before = {path.name: path.read_text() for path in (instance_path / "keys").iterdir()}
    killed = _killed_run(instance_path, url, f"""
        from reporter.lifecycle import keyfiles
        keyfiles.write_atomic = kill_on({kill_at})(keyfiles.write_atomic)
    """, "keys", "rotate")
    assert killed.returncode == -9, killed.stderr[-2000:]
    assert (instance_path / "keys" / "rotation.next").exists(), "the unfinished rotation is marked"
    # A server started now refuses to serve (it would sign with keys about to change)...
    halfway = app_for(instance_path, url, monkeypatch).test_client().get("/")
    assert halfway.status_code == 503 and "Maintenance" in halfway.get_data(as_text=True)
    # ...and the chain is intact as it stands: nothing was signed with a key the chain does not follow.
    verified = console(instance_path, url, "audit", "verify")
    assert verified.exit_code == 0, verified.output

    rerun = console(instance_path, url, "keys", "rotate")
    assert rerun.exit_code == 0 and "finishing the rotation" in rerun.output, rerun.output
    after = {path.name: path.read_text() for path in (instance_path / "keys").iterdir()}
    assert not [name for name in after if ".next" in name]
    assert after["receipt_lookup.key"] != before["receipt_lookup.key"]
    assert after["receipt_lookup.1.key"] == before["receipt_lookup.key"]
    assert "receipt_lookup.2.key" not in after  # exactly one new version, not two
    check_working(app_for(instance_path, url, monkeypatch), installation)
