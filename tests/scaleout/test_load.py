"""bench/load.py at a small size: concurrent submissions through gunicorn with a worker killed, the whole
server killed and (on PostgreSQL, where this machine lets the suite restart it) the database restarted.

The benchmark itself checks every report afterwards (bench/load_checks.py) and exits 1 if a submission
that got a receipt is missing or incomplete, if one that got an error page left a report, if the audit
chain does not verify or if the store and the database disagree.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import make_url

from tests.conftest import TEST_DATABASE_URL

LOAD = Path(__file__).resolve().parents[2] / "bench" / "load.py"
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="gunicorn serves on POSIX systems")


def _can_restart_postgres() -> bool:
    return os.geteuid() == 0 and shutil.which("pg_ctlcluster") is not None


@pytest.fixture
def empty_database() -> Iterator[str | None]:
    """An empty PostgreSQL database of its own for the run (the benchmark refuses `test`), or None."""
    if not TEST_DATABASE_URL:
        yield None
        return
    url = make_url(TEST_DATABASE_URL)
    name = "reporter_load_" + secrets.token_hex(4)
    admin = f"host={url.host} port={url.port or 5432} user={url.username} dbname={url.database}"
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"CREATE DATABASE {name}")
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_nothing_is_lost_or_half_written_under_load_and_crashes(empty_database):
    faults = ["worker", "server"]
    command = [sys.executable, str(LOAD), "--submissions", "240", "--clients", "8", "--workers", "2",
               "--file-every", "8", "--time-cap", "300"]
    if empty_database:
        command += ["--database-url", empty_database]
        faults += ["postgres"] if _can_restart_postgres() else []
    env = {name: value for name, value in os.environ.items() if not name.startswith("REPORTER_")}
    result = subprocess.run([*command, "--faults", ",".join(faults)], env=env, capture_output=True, text=True,
                            timeout=900)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "PROBLEM" not in output
    assert "error pages that left a report: 0" in output
    assert "reporter audit verify: exit 0" in output
    # Clean at once, or clean once the files of submissions killed before their commit are removed.
    assert ("reporter vault check: exit 0" in output
            or "reporter vault check --discard-stale --older-than 0: exit 0" in output), output[-3000:]
    for fault in faults:
        assert {"worker": "killed worker", "server": "killed the whole server",
                "postgres": "restarted PostgreSQL"}[fault] in output
