"""Throughput and latency of report submission through HTTP: the real /report against a plaintext baseline.

Run with the project's interpreter: ``.venv/bin/python bench/intake.py [--database-url URL]``. It makes a
temporary instance, serves it with gunicorn (2 workers, 127.0.0.1 only; the application with the baseline
routes of bench/baseline_app.py added), and drives both variants with a bounded pool of client processes,
alternating them (ABBA) so drift in load or database size hits both alike. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import io
import multiprocessing as mp
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

HOST = "127.0.0.1"
BENCH = Path(__file__).resolve().parent  # on gunicorn's path for baseline_app, whatever its working folder
VARIANTS = {"baseline": "/bench/baseline-report", "real": "/report"}
RECEIPT = b'id="receipt"'
CSRF = re.compile(rb'name="csrf_token" value="([^"]+)"')
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
DESCRIPTION = (
    "Since March a group of accounts has been posting my home address and photos of my children's "
    "school in two public channels, with messages saying that people should 'pay us a visit'. "
) * 3


def report_fields() -> dict[str, str]:
    """Return the fields of one valid report, as a browser would post them (CSRF token added later)."""
    return {
        "incident_kind": "online", "category": "doxxing", "country": "GE",
        "occurred_on": (date.today() - timedelta(days=10)).isoformat(), "description": DESCRIPTION,
        "perpetrator": "Two anonymous channels", "contact": "Signal +995 555 000 000", "consent": "y",
    }


# --- the client side: one process per simulated reporter, each with its own session and keep-alive ---


@dataclass
class PhaseResult:
    """What one client measured in one phase."""

    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    sample: str = ""
    started: float = 0.0
    ended: float = 0.0
    capped: bool = False


def open_session(conn: http.client.HTTPConnection) -> tuple[str, str]:
    """GET /report as a browser does; return the session cookie and the form's CSRF token."""
    conn.request("GET", "/report")
    response = conn.getresponse()
    page = response.read()
    cookies = [c.split(";", 1)[0] for c in response.headers.get_all("Set-Cookie") or []]
    match = CSRF.search(page)
    if response.status != 200 or not cookies or not match:
        raise RuntimeError(f"GET /report gave {response.status}, cookie={bool(cookies)}, token={bool(match)}")
    return "; ".join(cookies), match.group(1).decode()


def post_once(conn: http.client.HTTPConnection, path: str, body: bytes, headers: dict[str, str]) -> str:
    """POST the form once; return '' on a 200 page with a receipt, else a short description."""
    try:
        conn.request("POST", path, body, headers)
        response = conn.getresponse()
        page = response.read()
    except (OSError, http.client.HTTPException) as exc:
        conn.close()
        return f"{type(exc).__name__}: {exc}"
    if response.status == 200 and RECEIPT in page:
        return ""
    return f"status {response.status}: {page[:200]!r}"


def client_main(port: int, fields: dict[str, str], commands: Any, results: Any) -> None:
    """Serve phase commands from `commands` until None arrives; put one PhaseResult per phase."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops us
    try:
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        cookie, token = open_session(conn)
        body = urlencode({**fields, "csrf_token": token}).encode()
        headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
        results.put(("ready", None))
        while (command := commands.get()) is not None:
            path, count, start_at, deadline = command
            result = PhaseResult()
            time.sleep(max(0.0, start_at - time.monotonic()))
            result.started = time.monotonic()
            for _ in range(count):
                if time.monotonic() > deadline:
                    result.capped = True
                    break
                began = time.monotonic()
                problem = post_once(conn, path, body, headers)
                result.latencies.append(time.monotonic() - began)
                if problem:
                    result.failures += 1
                    result.sample = result.sample or problem
            result.ended = time.monotonic()
            results.put(("done", result))
    except Exception as exc:  # reported to the parent, which stops the run
        results.put(("error", f"{type(exc).__name__}: {exc}"))


# --- the server side: a temporary instance behind gunicorn ---


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def bench_environment(
    instance: Path, database_url: str | None, submit_limit: str, redis_url: str | None = None
) -> dict[str, str]:
    """Return this process's environment without any REPORTER_* setting, plus the benchmark's own."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("REPORTER_")}
    # The same limit for the site's ceiling and the flood threshold: the benchmark measures the normal
    # path, never a refused or marked report.
    env.update(REPORTER_INSTANCE_PATH=str(instance), REPORTER_HTTPS="0", REPORTER_SUBMIT_LIMIT=submit_limit,
               REPORTER_SUBMIT_GLOBAL_LIMIT=submit_limit, REPORTER_SUBMIT_FLOOD_LIMIT=submit_limit)
    if database_url:
        env["REPORTER_DATABASE_URL"] = database_url
    if redis_url:
        env["REPORTER_REDIS_URL"] = redis_url
    return env


# Schema objects of the current PostgreSQL schema, each as (kind for DROP, name as DROP takes it).
_PG_OBJECTS = """
SELECT CASE c.relkind WHEN 'v' THEN 'VIEW' WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, c.oid::regclass::text
  FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'v', 'S')
UNION ALL
SELECT 'FUNCTION', p.oid::regprocedure::text FROM pg_proc p
  WHERE p.pronamespace = current_schema()::regnamespace
UNION ALL
SELECT 'TYPE', t.oid::regtype::text FROM pg_type t
  WHERE t.typnamespace = current_schema()::regnamespace AND t.typtype IN ('e', 'd')
"""
_DROP_ORDER = ("TABLE", "VIEW", "SEQUENCE", "FUNCTION", "TYPE")


def database_objects(url: str) -> set[tuple[str, str]]:
    """Return the tables (and on PostgreSQL views, sequences, functions, types) the database holds."""
    from sqlalchemy import inspect, text

    from reporter.database import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            if engine.dialect.name == "postgresql":
                return {(kind, name) for kind, name in connection.execute(text(_PG_OBJECTS))}
            quote = engine.dialect.identifier_preparer.quote
            return {("TABLE", quote(name)) for name in inspect(connection).get_table_names()}
    finally:
        engine.dispose()


def check_empty_database(url: str) -> None:
    """Refuse a database named `test` or one that holds anything: cleanup drops all that we create."""
    from sqlalchemy import make_url

    if make_url(url).database == "test":
        raise SystemExit("refusing the database named `test`: it belongs to the test suite")
    existing = database_objects(url)
    if existing:
        names = ", ".join(sorted(name for _kind, name in existing))
        raise SystemExit(f"the database is not empty ({names}); give an empty one: "
                         "psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE bench_intake'")


def drop_created_objects(url: str) -> None:
    """Drop everything in the (formerly empty) database: the migrated schema and the baseline table."""
    from sqlalchemy import text

    from reporter.database import make_engine

    created = database_objects(url)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            for kind in _DROP_ORDER:
                for name in sorted(name for k, name in created if k == kind):
                    cascade = " CASCADE" if engine.dialect.name == "postgresql" else ""
                    connection.execute(text(f"DROP {kind} IF EXISTS {name}{cascade}"))
    finally:
        engine.dispose()
    left = database_objects(url)
    print(f"cleaned up the database: dropped {len(created)} objects, {len(left)} left")


def staff_georgia(engine: Any, instance: Path) -> None:
    """Add the coordinator and one focal point of Georgia (rows with real key pairs, signed with the
    instance directory key as the application signs them) and a rule, so every benchmark report is
    routed and sealed to two staff members, as in a real installation."""
    from sqlalchemy.orm import Session

    from reporter.crypto import seals
    from reporter.crypto.records import RecordKeys
    from reporter.database import RECORD_KEYS_INFO_KEY
    from reporter.keyring import load_keyring
    from reporter.models import RoutingRule, RoutingRuleMember, StaffMember
    from reporter.models.base import new_id

    keys = RecordKeys(load_keyring(instance / "keys").directory_key)
    with Session(engine, info={RECORD_KEYS_INFO_KEY: keys}) as session:
        people = []
        for role in ("coordinator", "focal_point"):
            pair = seals.generate_keypair()
            people.append(StaffMember(id=new_id(), email=f"{role}@bench.invalid", role=role, region="GE",
                                      state="active", public_key=pair.public, key_suite=pair.suite))
        session.add_all(people)
        rule = RoutingRule(id=new_id(), country="GE", category="*", language="*")
        session.add(rule)
        session.flush()
        rule.members = [RoutingRuleMember(rule_id=rule.id, staff_id=people[1].id)]
        session.commit()


def initialise(instance: Path) -> str:
    """Create keys, config and the migrated database as `reporter init` does; return the database URL."""
    from reporter.cli.instance import initialise_instance
    from reporter.extensions import db

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        initialise_instance(str(instance))  # migrates: reporter.migrate.upgrade(make_engine(url))
    assert db.engine is not None
    url = db.engine.url.render_as_string(hide_password=False)
    staff_georgia(db.engine, instance)
    if db.engine.dialect.name == "sqlite":
        with db.engine.connect() as connection:
            mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
            sync = connection.exec_driver_sql("PRAGMA synchronous").scalar()
        print(f"sqlite: journal_mode={mode} synchronous={sync} (2 = FULL)")
    db.engine.dispose()
    return url


def start_gunicorn(env: dict[str, str], port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    """Serve the baseline app on 127.0.0.1:`port` in its own session and wait until /healthz answers."""
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"{HOST}:{port}",
               "--backlog", "2048", "--graceful-timeout", "10", "--log-level", "warning",
               "--pythonpath", str(BENCH), "-c", "python:reporter.gunicorn_conf",
               "baseline_app:create_baseline_app()"]
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, cwd=log.parent, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}:\n{log.read_text()[-2000:]}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return server
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer /healthz within 60 s")


def stop_gunicorn(server: subprocess.Popen[bytes]) -> None:
    """Stop gunicorn gracefully (SIGTERM to its master), then by force if it lingers."""
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)  # its own session: the master and its workers only
            server.wait()


def server_cpu_seconds(master: int) -> float:
    """Return user+system CPU time of the gunicorn master and its workers so far."""
    pids = [master]
    with contextlib.suppress(OSError):
        pids += [int(p) for p in Path(f"/proc/{master}/task/{master}/children").read_text().split()]
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(stat[11]) + int(stat[12])
    return total / CLOCK_TICKS


# --- the run ---


def preflight(port: int, fields: dict[str, str]) -> None:
    """Post one report to each variant, one after the other, before any concurrency (creates the table)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=60)
    cookie, token = open_session(conn)
    body = urlencode({**fields, "csrf_token": token}).encode()
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
    for name, path in VARIANTS.items():
        problem = post_once(conn, path, body, headers)
        if problem:
            raise RuntimeError(f"preflight {name} ({path}): {problem}")
    conn.close()


@dataclass
class Totals:
    """Measurements of one variant over all its measured phases."""

    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    cpu: float = 0.0
    rounds: list[float] = field(default_factory=list)


def run_phase(
    clients: list[Any], results: Any, path: str, total: int, deadline: float
) -> tuple[list[PhaseResult], float]:
    """Have every client post its share of `total` requests to `path`; return results and wall time."""
    start_at = time.monotonic() + 0.2
    shares = [total // len(clients) + (i < total % len(clients)) for i in range(len(clients))]
    for (commands, _process), share in zip(clients, shares, strict=True):
        commands.put((path, share, start_at, deadline))
    phase = []
    for _ in clients:
        kind, payload = results.get(timeout=max(60.0, deadline - time.monotonic() + 120))
        if kind != "done":
            raise RuntimeError(f"a client failed: {payload}")
        phase.append(payload)
    wall = max(r.ended for r in phase) - min(r.started for r in phase)
    return phase, wall


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Return the nearest-rank percentile of already sorted values."""
    return sorted_values[min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))]


def drive(port: int, server_pid: int, args: argparse.Namespace) -> int:
    """Warm up, then run the measured ABBA rounds and print the figures; return the exit status."""
    context = mp.get_context("spawn")
    results = context.Queue()
    clients = []
    fields = report_fields()
    preflight(port, fields)
    for _ in range(args.clients):
        commands = context.Queue()
        process = context.Process(target=client_main, args=(port, fields, commands, results), daemon=True)
        process.start()
        clients.append((commands, process))
    try:
        for _ in clients:
            kind, payload = results.get(timeout=60)
            if kind != "ready":
                raise RuntimeError(f"a client failed to start: {payload}")
        deadline = time.monotonic() + args.time_cap
        totals = {name: Totals() for name in VARIANTS}
        failed = {name: 0 for name in VARIANTS}
        capped = False
        for name, path in VARIANTS.items():  # warm-up; counted for correctness only
            phase, _ = run_phase(clients, results, path, args.warmup, deadline)
            failed[name] += sum(r.failures for r in phase)
        pairs = [("baseline", "real") if r % 2 == 0 else ("real", "baseline") for r in range(args.rounds)]
        order = [name for pair in pairs for name in pair]
        for name in order:
            cpu_before = server_cpu_seconds(server_pid)
            phase, wall = run_phase(clients, results, VARIANTS[name], args.requests, deadline)
            cpu = server_cpu_seconds(server_pid) - cpu_before
            done = [latency for r in phase for latency in r.latencies]
            failed[name] += sum(r.failures for r in phase)
            for sample in {r.sample for r in phase if r.sample}:
                print(f"  {name} failure: {sample}")
            capped = capped or any(r.capped for r in phase)
            total = totals[name]
            total.latencies += done
            total.seconds += wall
            total.cpu += cpu
            total.rounds.append(len(done) / wall if wall else 0.0)
            per_request = cpu / max(1, len(done)) * 1000
            print(f"  phase {name:8s} {len(done):6d} req  {len(done) / wall:8.1f}/s  "
                  f"server CPU {per_request:.2f} ms/req  load {os.getloadavg()[0]:.2f}")
            if capped:
                print(f"time cap of {args.time_cap} s reached: the figures cover the requests done so far")
                break
        print_summary(totals, failed, args)
        return 1 if failed["real"] or failed["baseline"] else 0
    finally:
        for commands, _process in clients:
            commands.put(None)
        stop_by = time.monotonic() + 5  # idle clients leave at once; one still mid-phase is stopped
        for _commands, process in clients:
            process.join(timeout=max(0.1, stop_by - time.monotonic()))
            if process.is_alive():
                process.terminate()
                process.join()


def print_summary(totals: dict[str, Totals], failed: dict[str, int], args: argparse.Namespace) -> None:
    """Print per-variant throughput, p50/p99 latency, server CPU per request and the real/baseline ratio."""
    print(f"\nCPUs: {os.cpu_count()} (usable {len(os.sched_getaffinity(0))}); load average now "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}; {args.clients} client processes, gunicorn "
          f"{args.workers} sync workers")
    rate, cpu = {}, {}
    for name, total in totals.items():
        values = sorted(total.latencies)
        if not values:
            print(f"{name:8s}: no measured requests")
            continue
        rate[name] = len(values) / total.seconds
        cpu[name] = total.cpu / len(values)
        print(f"{name:8s}: {rate[name]:8.1f} submissions/s  p50 {percentile(values, 0.50) * 1000:7.2f} ms  "
              f"p99 {percentile(values, 0.99) * 1000:7.2f} ms  "
              f"server CPU {cpu[name] * 1000:.2f} ms/req  "
              f"({len(values)} requests, {failed[name]} failed; per round: "
              f"{', '.join(f'{r:.0f}/s' for r in total.rounds)})")
    if len(rate) == 2:
        ratio = rate["real"] / rate["baseline"]
        verdict = "meets" if ratio >= 0.8 else "BELOW"
        print(f"ratio real/baseline throughput: {ratio:.2f} ({verdict} the 0.8 target)")
        drift = max(max(t.rounds) / min(t.rounds) for t in totals.values() if t.rounds and min(t.rounds) > 0)
        if drift > 1.25:
            print(f"warning: a variant's throughput moved by {(drift - 1) * 100:.0f}% between its rounds: "
                  "other load on the machine, not the code, decides this ratio; trust the CPU ratio below")
        # Less sensitive to other processes on the machine than wall-clock throughput.
        print(f"ratio baseline/real server CPU per request: {cpu['baseline'] / cpu['real']:.2f} "
              "(the throughput ratio to expect when the server is CPU-bound)")
    print("every real response was 200 with a receipt" if not failed["real"] else
          f"{failed['real']} real responses were not 200 with a receipt")


def parse_args() -> argparse.Namespace:
    """Read the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per variant per round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds; each runs both variants (ABBA order)")
    parser.add_argument("--warmup", type=int, default=200, help="unmeasured requests per variant first")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client processes")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--time-cap", type=float, default=600.0, help="seconds for all phases together")
    parser.add_argument("--database-url", help="an empty database to use instead of a temporary SQLite file")
    parser.add_argument("--submit-limit", default="1000000 per minute", help="REPORTER_SUBMIT_LIMIT")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15",
                        help="REPORTER_REDIS_URL: rate limits shared by the workers, as in production "
                             "(several workers refuse to start with limits kept in memory)")
    return parser.parse_args()


def main() -> int:
    """Set up the instance and server, run the benchmark, and clean up whatever happens."""
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the finally blocks below still run
    if args.database_url:
        check_empty_database(args.database_url)
    with tempfile.TemporaryDirectory(prefix="reporter-bench-") as tmp:
        instance = Path(tmp) / "instance"
        env = bench_environment(instance, args.database_url, args.submit_limit, args.redis_url)
        os.environ.clear()
        os.environ.update(env)
        server = None
        try:
            url = initialise(instance)
            print(f"database: {url.split('://', 1)[0]} at {url.rsplit('/', 1)[-1]}; instance {instance}")
            port = free_port()
            server = start_gunicorn(env, port, args.workers, Path(tmp) / "gunicorn.log")
            print(f"gunicorn pid {server.pid} on {HOST}:{port}; load average before "
                  f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
            return drive(port, server.pid, args)
        finally:
            if server is not None:
                stop_gunicorn(server)
                errors = (Path(tmp) / "gunicorn.log").read_text(errors="replace").strip()
                if errors:
                    print(f"gunicorn log:\n{errors[-3000:]}")
            if args.database_url:
                drop_created_objects(args.database_url)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("interrupted; gunicorn stopped and the database cleaned up")
