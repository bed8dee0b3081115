"""Proof under load and faults: many concurrent submissions against gunicorn, with crashes, then checks.

    .venv/bin/python bench/load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_load \
        --submissions 10000 --clients 50 --workers 4 --faults worker,server,postgres
    .venv/bin/python bench/load.py --submissions 2000 --clients 20 --workers 4 --faults worker,server

It makes a temporary instance (`reporter init`, a coordinator and a focal point of Georgia with a rule,
so every report is routed and sealed to staff), serves the real application with gunicorn, rate limits
in Redis, and runs `--clients` client processes (bench/load_clients.py): submissions (one in
`--file-every` with a file), follow-ups on earlier receipts, staff queue views. Faults, each once when
its share of the submissions has been sent: `worker` kills one gunicorn worker with SIGKILL (the
master starts another), `server` kills the master and every worker with SIGKILL and starts the server
again, `postgres` restarts PostgreSQL (`--postgres-restart`, run as given). Afterwards it checks every
report (bench/load_checks.py), runs `reporter audit verify` and `reporter vault check`, and prints
throughput, p50/p99 per request kind and the counts. Exit 1 if any invariant is broken.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from intake import bench_environment, check_empty_database, drop_created_objects  # noqa: E402
from load_checks import check_run  # noqa: E402
from load_clients import client_main  # noqa: E402

from tests.scaleout.hosts import Visitor, log_in  # noqa: E402
from tests.servers import Gunicorn  # noqa: E402

FAULT_AT = {"worker": 0.25, "server": 0.5, "postgres": 0.75}
REDIS_URL = "redis://127.0.0.1:6379/13"
HIGH_LIMIT = "1000000 per minute"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="an EMPTY PostgreSQL database (default: SQLite)")
    parser.add_argument("--submissions", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--faults", default="", help="comma-separated: worker, server, postgres")
    parser.add_argument("--postgres-restart", default="pg_ctlcluster 15 main restart")
    parser.add_argument("--attachments-url", default="", help="REPORTER_ATTACHMENTS_URL (default: local)")
    parser.add_argument("--file-every", type=int, default=10)
    parser.add_argument("--followup-every", type=int, default=10)
    parser.add_argument("--queue-every", type=int, default=20)
    parser.add_argument("--time-cap", type=float, default=3600, help="stop sending after this many seconds")
    return parser.parse_args()


def prepare(instance: Path, env: dict[str, str]) -> tuple[Any, dict[str, Any]]:
    """Initialise the instance and make its staff; return the in-process app and the focal point."""
    os.environ.update({name: value for name, value in env.items() if name.startswith("REPORTER_")})
    subprocess.run([sys.executable, "-m", "reporter.cli", "init"], env=env, check=True, capture_output=True)
    prefix = "reporter-load-" + secrets.token_hex(6)
    with (instance / "config.py").open("a") as config:
        config.write(f"RATELIMIT_STORAGE_OPTIONS = {{'key_prefix': {prefix!r}}}\n")
    from reporter import create_app
    from tests.staffing import directory_of, route_georgia_to

    app = create_app({"TESTING": True, "REPORTER_ARGON2_TEST_FAST": True})
    focal_point = directory_of(app).make(role="focal_point", region="GE")
    route_georgia_to(app, focal_point.id)
    return app, {"account": focal_point, "redis_prefix": prefix}


def inject(fault: str, server: Gunicorn, args: argparse.Namespace) -> str:
    """Cause one fault; return what was done."""
    if fault == "worker":
        victim = server.worker_pids()[0]
        os.kill(victim, 9)
        return f"killed worker {victim} with SIGKILL"
    if fault == "server":
        server.kill()
        time.sleep(1)
        server.start()
        return "killed the whole server with SIGKILL and started it again"
    subprocess.run(args.postgres_restart.split(), check=True, capture_output=True, timeout=120)
    return f"restarted PostgreSQL ({args.postgres_restart})"


def run_clients(args: argparse.Namespace, server: Gunicorn, staff_cookies: dict[str, str],
                logs: Path) -> float:
    """Run the client processes and the fault schedule; return the seconds the run took."""
    counter = mp.Value("i", 0)
    options = {"file_every": args.file_every, "followup_every": args.followup_every,
               "queue_every": args.queue_every}
    clients = [mp.Process(target=client_main, args=(n, server.url, staff_cookies, str(logs / f"c-{n}.jsonl"),
                                                    counter, args.submissions, options))
               for n in range(args.clients)]
    pending = [fault for fault in args.faults.split(",") if fault]
    started = time.monotonic()
    for client in clients:
        client.start()
    while any(client.is_alive() for client in clients):
        done = counter.value / args.submissions
        for fault in [f for f in pending if done >= FAULT_AT[f]]:
            pending.remove(fault)
            print(f"  at {counter.value} submissions: {inject(fault, server, args)}", flush=True)
        if time.monotonic() - started > args.time_cap:
            with counter.get_lock():
                counter.value = args.submissions
        time.sleep(0.1)
    for fault in pending:
        print(f"PROBLEM: the run ended before the {fault} fault was caused", flush=True)
    return time.monotonic() - started


def report_figures(outcomes: list[dict[str, Any]], seconds: float) -> None:
    receipts = sum(1 for entry in outcomes if entry["outcome"] == "receipt")
    print(f"\n{receipts} submissions with a receipt in {seconds:.1f} s: {receipts / seconds:.1f} per second "
          f"(load average {' '.join(f'{x:.2f}' for x in os.getloadavg())})")
    print(f"{'kind':<10}{'requests':>10}{'p50 ms':>10}{'p99 ms':>10}   outcomes")
    for kind in ("submit", "followup", "queue"):
        mine = [entry for entry in outcomes if entry["kind"] == kind]
        if not mine:
            continue
        times = sorted(entry["seconds"] for entry in mine)
        counts: dict[str, int] = {}
        for entry in mine:
            outcome = f"error {entry['status']}" if entry["outcome"] == "error" else entry["outcome"]
            counts[outcome] = counts.get(outcome, 0) + 1
        p50, p99 = times[len(times) // 2], times[min(len(times) - 1, int(len(times) * 0.99))]
        print(f"{kind:<10}{len(mine):>10}{p50 * 1000:>10.0f}{p99 * 1000:>10.0f}   {counts}")


def main() -> int:
    args = parse_args()
    if args.database_url:
        check_empty_database(args.database_url)
    work = Path(tempfile.mkdtemp(prefix="reporter-load-"))
    instance = work / "instance"
    env = bench_environment(instance, args.database_url, HIGH_LIMIT, REDIS_URL)
    env.update(REPORTER_FOLLOWUP_LIMIT=HIGH_LIMIT, REPORTER_FOLLOWUP_GLOBAL_LIMIT=HIGH_LIMIT)
    if args.attachments_url:
        env["REPORTER_ATTACHMENTS_URL"] = args.attachments_url
    try:
        app, staff = prepare(instance, env)
        server = Gunicorn(env, work / "gunicorn.log", workers=args.workers).start()
        try:
            staff_browser = Visitor()
            log_in(staff_browser, server, staff["account"])
            cookies = {name: value for name, value in staff_browser.cookies.items()}
            database = "PostgreSQL" if args.database_url else "SQLite"
            print(f"{args.submissions} submissions, {args.clients} clients, {args.workers} workers, "
                  f"{database}, faults: {args.faults or 'none'}", flush=True)
            seconds = run_clients(args, server, cookies, work)
        finally:
            server.stop()
        outcomes = [json.loads(line) for path in sorted(work.glob("c-*.jsonl"))
                    for line in path.read_text().splitlines()]
        report_figures(outcomes, seconds)
        escrow = (instance / "escrow-private.key.MOVE-OFFLINE")
        from reporter.keyring import read_escrow_private_key

        findings = check_run(app, outcomes, read_escrow_private_key(escrow).private, args.file_every, env)
        for name, count in findings.counts.items():
            print(f"  {name}: {count}")
        for problem in findings.problems:
            print(f"PROBLEM: {problem}")
        return 1 if findings.problems else 0
    finally:
        if args.database_url:
            from reporter.extensions import db

            if db.engine is not None:
                db.engine.dispose()
            drop_created_objects(args.database_url)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
