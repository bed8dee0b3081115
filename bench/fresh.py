"""A fresh instance for a benchmark (keys in a temporary folder, an empty migrated database), and timing."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import Engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reporter import migrate  # noqa: E402
from reporter.database import make_engine  # noqa: E402
from reporter.keyring import create_instance_keys  # noqa: E402


class FreshInstance(NamedTuple):
    """Where a benchmark's instance lives and the engine of its migrated database."""

    instance: str
    url: str
    engine: Engine


def fresh_instance(prefix: str, database_url: str | None) -> FreshInstance:
    """Make instance keys in a new temporary folder and migrate an empty database.

    Without `database_url` the database is SQLite inside the instance. A PostgreSQL database has its
    public schema dropped first, so the one named `test` (the test suite's) is refused.
    """
    if database_url and database_url.rstrip("/").endswith("/test"):
        raise SystemExit("refusing the database named `test`; create one for the benchmark")
    workdir = tempfile.mkdtemp(prefix=prefix)
    instance = os.path.join(workdir, "instance")
    create_instance_keys(os.path.join(instance, "keys"),
                         escrow_private_path=os.path.join(workdir, "escrow.key"))
    url = database_url or f"sqlite:///{instance}/reporter.db"
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(engine)
    return FreshInstance(instance, url, engine)


def median_ms(action: Callable[[], Any], repeat: int) -> float:
    """Run `action` once to warm up, then `repeat` times; return the median in milliseconds."""
    action()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)
