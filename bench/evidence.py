"""Upload and download throughput of attachments through HTTP, against a plaintext baseline; worker memory.

Run with the project's interpreter: ``.venv/bin/python bench/evidence.py [--database-url URL]``. It makes
a temporary instance, enrols a coordinator the real way, serves the instance with gunicorn (1 sync
worker, 127.0.0.1 only; the application with the baseline routes of bench/baseline_app.py added), and
then, from one client:

1. uploads `--files` files of `--mib` MiB of each of `--kinds` (a photo, a PDF, text) through
   ``POST /report`` (one file per report: the whole path, sniffing, hashing, scrubbing in the sandbox,
   sealing, routing, encryption into the store, one transaction) and the same files through
   ``POST /bench/baseline-evidence``: the same route without encryption and without the sandbox
   (same form, limit and inspection, scrubbed in the worker; plaintext row and plain file, flushed;
   one commit), in ABBA order;
2. downloads every text file as the logged-in coordinator: ``GET /staff/cases/<id>/attachments/<aid>``
   (unseal the case key, authenticate the whole file, audit, stream it decrypted) against
   ``GET /bench/baseline-evidence/<id>/<file>``: the same guard, holder check, rows and audit event,
   streaming the plain file; then the plain files once more with no guard or database at all
   (``/bench/plain-file/<file>``), printed for comparison. Downloads are repeated `--rounds` times
   (default 5) and the median round of each variant is reported;
3. measures the worker's memory when it has just started and served the login, while it streams a
   10 MiB file and while it takes a 10 MiB upload: resident (VmRSS, and the kernel's high-water mark
   VmHWM, reset through /proc/<pid>/clear_refs), and from smaps_rollup, sampled every 2 ms, its
   proportional share (PSS) and what it alone holds (private). gunicorn runs with the project's
   settings (`reporter/gunicorn_conf.py`: the application preloaded in the master and shared);
4. measures the sandbox apart (one file scrubbed in process and in the sandbox) and posts every upload
   bomb of tests/evidence/bombs.py to the worker (bench/evidence_sandbox.py).

With ``--s3`` the attachments go to a bucket of a SeaweedFS server the benchmark starts on 127.0.0.1
(tests/objectstore.py; `weed` comes with the test extras), with ``--attachments-url URL`` to the store
that URL names (credentials from REPORTER_S3_ACCESS_KEY_ID/REPORTER_S3_SECRET_ACCESS_KEY or AWS_*). The
baseline then keeps its plain files as objects under `bench-plain/` in the same bucket
(bench/baseline_app.py), so the ratios show what encryption costs on the same storage; the output says
which baseline was used.

See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import evidence_sandbox  # noqa: E402 - the sandbox's share of this benchmark
from intake import (  # noqa: E402 - the sibling benchmark's server helpers
    HOST,
    bench_environment,
    check_empty_database,
    drop_created_objects,
    free_port,
    initialise,
    report_fields,
    start_gunicorn,
    stop_gunicorn,
)

MiB = 1024 * 1024
CSRF = re.compile(rb'name="csrf_token" value="([^"]+)"')
EMAIL, PASSWORD = "bench.coordinator@example.org", "a long benchmark passphrase 2026"


class Browser:
    """A cookie-keeping HTTP client speaking to the benchmark server."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        """Send one request on a new connection return status, headers, body."""
        conn = http.client.HTTPConnection(HOST, self.port, timeout=120)
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn.request(method, path, body, sent)
        response = conn.getresponse()
        data = response.read()
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name] = value
        conn.close()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data

    def token(self, path: str) -> str:
        """Return the CSRF token of the form at `path`."""
        status, _, page = self.request("GET", path)
        match = CSRF.search(page)
        if status != 200 or not match:
            raise RuntimeError(f"GET {path} gave {status} without a form")
        return match.group(1).decode()

    def post_form(self, path: str, fields: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        """POST urlencoded fields."""
        from urllib.parse import urlencode

        return self.request("POST", path, urlencode(fields).encode(),
                            {"Content-Type": "application/x-www-form-urlencoded"})


def multipart(fields: dict[str, str], content: bytes, filename: str) -> tuple[bytes, str]:
    """Return a multipart body with the fields and one file in `attachments`, and its content type."""
    boundary = "----bench" + os.urandom(8).hex()
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
             for name, value in fields.items()]
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="attachments"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n")
    parts.append(head.encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def enrol_coordinator(instance: Path, env: dict[str, str]) -> str:
    """Invite and enrol the bootstrap coordinator of GE in-process, the real way; return the TOTP secret."""
    from sqlalchemy import select

    from reporter import create_app
    from reporter.extensions import db
    from reporter.models import StaffMember
    from reporter.models.base import utcnow
    from reporter.staff import enrolment, lifecycle
    from reporter.web.context import kdf_params

    saved = dict(os.environ)
    os.environ.update({k: v for k, v in env.items() if k.startswith("REPORTER_")})
    try:
        app = create_app()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    with app.app_context():
        keyring = app.extensions["reporter.keyring"]
        invitation = lifecycle.invite(EMAIL, "coordinator", "GE", session=db.session, invited_by=None,
                                  now=utcnow(), lifetime=timedelta(hours=1))
        chosen = enrolment.choose_password(invitation.token, PASSWORD, session=db.session, keyring=keyring,
                                           params=kdf_params(app), now=utcnow())
        import pyotp

        # confirmed with the code of the previous step, so the current one is still unspent for log_in
        earlier = pyotp.TOTP(chosen.totp_secret).at(time.time() - 30)
        person = enrolment.confirm_totp(invitation.token, chosen.binding, earlier,
                                        session=db.session, keyring=keyring, now=utcnow())
        if person.state != "active":  # the instance has Georgia's coordinator: they approve the newcomer
            vetter = db.session.scalars(select(StaffMember).where(
                StaffMember.role == "coordinator", StaffMember.state == "active")).first()
            lifecycle.vet(person.id, "approve", session=db.session, vetter=vetter, now=utcnow())
        assert db.engine is not None
        db.engine.dispose()
    return str(chosen.totp_secret)


def log_in(browser: Browser, totp_secret: str) -> None:
    """Log the coordinator in through password and TOTP."""
    import pyotp

    status, headers, _ = browser.post_form("/staff/login", {
        "email": EMAIL, "password": PASSWORD, "csrf_token": browser.token("/staff/login"), "next": ""})
    if status != 302:
        raise RuntimeError(f"password step gave {status}")
    step = headers["location"].replace(f"http://{HOST}:{browser.port}", "")
    status, _, _ = browser.post_form("/staff/login/totp", {
        "code": pyotp.TOTP(totp_secret).now(), "csrf_token": browser.token(step), "next": ""})
    if status != 302:
        raise RuntimeError(f"TOTP step gave {status}")


def worker_pid(master: int) -> int:
    """Return the pid of gunicorn's one worker."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return int(children[0])


def memory_kib(pid: int) -> dict[str, int]:
    """Return VmRSS and VmHWM of a process in KiB."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return values


def footprint_kib(pid: int) -> dict[str, int]:
    """Return a process's resident, proportional and private memory in KiB (from smaps_rollup).

    RSS counts pages shared with gunicorn's master and the other workers in full; PSS divides them
    among the processes sharing them; private memory (USS) is what this worker alone holds.
    """
    values = dict.fromkeys(("rss", "pss", "private"), 0)
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("Rss", "Pss"):
            values[name.lower()] = int(rest.split()[0])
        elif name in ("Private_Clean", "Private_Dirty"):
            values["private"] += int(rest.split()[0])
    return values


class PeakSampler(threading.Thread):
    """Read a process's footprint every few milliseconds until stopped; keep the highest of each figure."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak = pid, footprint_kib(pid)
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.002):
            now = footprint_kib(self.pid)
            self.peak = {name: max(value, now[name]) for name, value in self.peak.items()}

    def __enter__(self) -> PeakSampler:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.done.set()
        self.join()


def reset_peak(pid: int) -> None:
    """Reset the kernel's resident high-water mark of a process (needs Linux 4.0+, same user)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def stored_ids(url: str, kind: str | None = None) -> list[tuple[str, str]]:
    """Return (report id, attachment id) of every stored attachment (of `kind`), oldest first."""
    from sqlalchemy import select

    from reporter.database import make_engine
    from reporter.models import Attachment

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            query = select(Attachment.report_id, Attachment.id).order_by(Attachment.created_at, Attachment.id)
            if kind is not None:
                query = query.where(Attachment.kind == kind)
            return [(r, a) for r, a in connection.execute(query)]
    finally:
        engine.dispose()


def content_of(mib: float) -> bytes:
    """Return plain UTF-8 text of `mib` MiB (random words, so it neither compresses nor repeats)."""
    size = int(mib * MiB)
    words = os.urandom(size // 2).hex()
    lines = [words[i:i + 79] for i in range(0, len(words), 80)]
    return "\n".join(lines).encode()[:size]


def timed_uploads(browser: Browser, path: str, count: int, content: bytes,
                  filename: str = "evidence.txt") -> tuple[float, list[str]]:
    """Upload `content` `count` times to `path`; return seconds and the baseline ids (if any)."""
    fields = {**report_fields(), "csrf_token": browser.token("/report")}
    body, content_type = multipart(fields, content, filename)
    ids: list[str] = []
    started = time.perf_counter()
    for _ in range(count):
        status, _, page = browser.request("POST", path, body, {"Content-Type": content_type})
        if status != 200:
            raise RuntimeError(f"POST {path} gave {status}: {page[:300]!r}")
        if path.startswith("/bench/"):
            ids.extend(page.decode().split())
    return time.perf_counter() - started, ids


def timed_downloads(browser: Browser, paths: list[str], expected: int) -> float:
    """Download every path; check each body's size; return seconds."""
    started = time.perf_counter()
    for path in paths:
        status, _, body = browser.request("GET", path)
        if status != 200 or len(body) != expected:
            raise RuntimeError(f"GET {path} gave {status} with {len(body)} bytes")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=40, help="files per variant and kind (default 40)")
    parser.add_argument("--kinds", default="jpeg,pdf,text", help="kinds of file uploaded (jpeg,pdf,text)")
    parser.add_argument("--mib", type=float, default=5, help="size of each file in MiB (default 5)")
    parser.add_argument("--rounds", type=int, default=5, help="download rounds, median reported (default 5)")
    parser.add_argument("--database-url", help="an empty PostgreSQL database (default: temporary SQLite)")
    parser.add_argument("--attachments-url", help="REPORTER_ATTACHMENTS_URL of the store to use "
                        "(default: the instance folder)")
    parser.add_argument("--s3", action="store_true", help="keep the attachments in a bucket of a SeaweedFS "
                        "server started for the run")
    args = parser.parse_args(argv)
    args.files = max(2, args.files + args.files % 2)  # uploads go in ABBA pairs
    if args.database_url:
        check_empty_database(args.database_url)
    with tempfile.TemporaryDirectory(prefix="reporter-bench-evidence-") as folder, \
            contextlib.ExitStack() as cleanup:
        instance = Path(folder) / "instance"
        if args.database_url:
            os.environ["REPORTER_DATABASE_URL"] = args.database_url
        os.environ["REPORTER_INSTANCE_PATH"] = str(instance)
        url = initialise(instance)
        env = bench_environment(instance, args.database_url, "100000 per minute")
        env.update(store_settings(args, Path(folder), cleanup))
        totp_secret = enrol_coordinator(instance, env)
        port = free_port()
        server = start_gunicorn(env, port, 1, Path(folder) / "gunicorn.log")
        try:
            return run(args, server.pid, port, url, totp_secret)
        finally:
            stop_gunicorn(server)
            if args.database_url:
                drop_created_objects(args.database_url)


def store_settings(args: Any, folder: Path, cleanup: contextlib.ExitStack) -> dict[str, str]:
    """Return the settings of the attachment store asked for; start a SeaweedFS server for --s3."""
    if args.s3:
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from tests.objectstore import SeaweedServer

        server = SeaweedServer.start(folder / "seaweed")
        cleanup.callback(server.stop)
        args.store = f"a bucket of SeaweedFS {server.endpoint} (started for the run)"
        args.baseline = "the same bucket (plain objects under bench-plain/)"
        return server.settings()
    args.store = "the instance folder"
    args.baseline = "local files (the instance folder)"
    if not args.attachments_url:
        return {}
    args.store = args.attachments_url
    if args.attachments_url.startswith("s3:"):
        args.baseline = "the same bucket (plain objects under bench-plain/, left there)"
    given = {name: os.environ[name] for name in ("REPORTER_S3_ACCESS_KEY_ID", "REPORTER_S3_SECRET_ACCESS_KEY")
             if os.environ.get(name)}
    return {"REPORTER_ATTACHMENTS_URL": args.attachments_url, **given}


def samples_of(kinds: list[str], mib: float) -> dict[str, bytes]:
    """Return one normal file of each kind, of about `mib` MiB."""
    makers = {"jpeg": evidence_sandbox.photo_jpeg, "pdf": evidence_sandbox.document_pdf, "text": content_of}
    return {kind: makers[kind](mib) for kind in kinds}


def timed_kind(browser: Browser, kind: str, content: bytes, files: int) -> tuple[dict[str, float], list[str]]:
    """Upload `files` copies of `content` through each variant in ABBA order; return seconds, baseline ids."""
    name = f"evidence.{'txt' if kind == 'text' else kind}"
    half = max(1, files // 2)  # files per variant: 2 * half
    timed_uploads(browser, "/report", 1, content, name)  # warm-up, not counted
    timed_uploads(browser, "/bench/baseline-evidence", 1, content, name)
    upload = {"baseline": 0.0, "real": 0.0}
    baseline_ids: list[str] = []
    # ABBA one file at a time, so a burst of other work on the machine falls on both variants alike
    for variant in ("baseline", "real", "real", "baseline") * half:
        path = "/report" if variant == "real" else "/bench/baseline-evidence"
        seconds, ids = timed_uploads(browser, path, 1, content, name)
        upload[variant] += seconds
        baseline_ids += ids
    return upload, baseline_ids


def run(args: Any, master: int, port: int, url: str, totp_secret: str) -> int:
    """Drive both variants and print the results."""
    samples = samples_of(args.kinds.split(","), args.mib)
    content = samples.get("text") or content_of(args.mib)
    reporter, staff = Browser(port), Browser(port)
    log_in(staff, totp_secret)
    fresh = footprint_kib(worker_pid(master))
    half = max(1, args.files // 2)
    uploads = {kind: timed_kind(reporter, kind, data, args.files) for kind, data in samples.items()}
    if "text" not in uploads:
        uploads["text"] = timed_kind(reporter, "text", content, args.files)
    baseline_ids = uploads["text"][1]
    stored = stored_ids(url, "text")[-args.files:]
    real_paths = [f"/staff/cases/{r}/attachments/{a}" for r, a in stored]
    plain_paths = [f"/bench/baseline-evidence/{report}/{plain}"
                   for (report, _), plain in zip(stored, baseline_ids, strict=True)]
    bare_paths = [f"/bench/plain-file/{i}" for i in baseline_ids]
    assert len(real_paths) == len(plain_paths) == args.files
    # Downloading every file is cheap next to uploading it, so it is repeated: each round downloads
    # every file of both variants in ABBA order, and the median round of each variant is reported.
    rounds: dict[str, list[float]] = {"baseline": [], "real": [], "bare": []}
    for _ in range(args.rounds):
        spent = {"baseline": 0.0, "real": 0.0}
        for variant, part in (("baseline", 0), ("real", 0), ("real", 1), ("baseline", 1)):
            paths = real_paths if variant == "real" else plain_paths
            chosen = paths[:half] if part == 0 else paths[half:]
            spent[variant] += timed_downloads(staff, chosen, len(content))
        rounds["baseline"].append(spent["baseline"])
        rounds["real"].append(spent["real"])
        rounds["bare"].append(timed_downloads(reporter, bare_paths, len(content)))
    download = {variant: statistics.median(times) for variant, times in rounds.items()}
    bare_download = download["bare"]

    worker = worker_pid(master)
    big = content_of(10)
    idle = memory_kib(worker)
    earlier = set(stored_ids(url, "text"))
    reset_peak(worker)
    with PeakSampler(worker) as upload_sampler:
        timed_uploads(reporter, "/report", 1, big)
    upload_peak = memory_kib(worker)["VmHWM"]
    # rows are stored to the hour, so "the newest" is the one that was not there before
    (report_id, attachment_id), = set(stored_ids(url, "text")) - earlier
    timed_downloads(staff, [f"/staff/cases/{report_id}/attachments/{attachment_id}"], len(big))  # warm
    reset_peak(worker)
    before = memory_kib(worker)["VmRSS"]
    private_before = footprint_kib(worker)["private"]
    with PeakSampler(worker) as download_sampler:
        timed_downloads(staff, [f"/staff/cases/{report_id}/attachments/{attachment_id}"], len(big))
    download_peak = memory_kib(worker)["VmHWM"]
    cost = evidence_sandbox.sandbox_cost({kind: data for kind, data in samples.items()})
    bombs = evidence_sandbox.bomb_figures(lambda data, name: post_file(reporter, data, name), worker)

    total = args.files * len(content) / 1e6
    print(f"\n{args.files} files of {args.mib:g} MiB each way (downloads: median of {args.rounds} rounds), "
          "one client, gunicorn 1 sync worker; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"attachments in {args.store}; the baseline keeps plain files in {args.baseline}")
    print(f"{'':14} {'baseline MB/s':>14} {'real MB/s':>10} {'ratio':>7}")
    measured_ways = [(f"upload {kind}", measured) for kind, (measured, _) in uploads.items()]
    for name, measured in (*measured_ways, ("download text", download)):
        size = len(samples.get(name.split()[-1], content)) * args.files / 1e6
        base, real = size / measured["baseline"], size / measured["real"]
        print(f"{name:14} {base:14.1f} {real:10.1f} {real / base:7.2f}")
    bare = total / bare_download
    print(f"bare file stream (no guard, no database): {bare:.1f} MB/s; "
          f"the real download is {total / download['real'] / bare:.2f} of it")
    mib = 1024
    print(f"\nworker memory, MiB: fresh (served the login) RSS {fresh['rss'] / mib:.1f}, "
          f"PSS {fresh['pss'] / mib:.1f}, private {fresh['private'] / mib:.1f}; "
          f"RSS after the transfers {idle['VmRSS'] / mib:.1f}")
    print(f"streaming a 10 MiB download: peak RSS {download_peak / mib:.1f} "
          f"(+{(download_peak - before) / mib:.1f} over the {before / mib:.1f} before it), "
          f"peak private {download_sampler.peak['private'] / mib:.1f} "
          f"(+{(download_sampler.peak['private'] - private_before) / mib:.1f}), "
          f"peak PSS {download_sampler.peak['pss'] / mib:.1f}")
    print(f"taking a 10 MiB upload: peak RSS {upload_peak / mib:.1f}, "
          f"peak private {upload_sampler.peak['private'] / mib:.1f}")
    evidence_sandbox.print_sandbox(cost, bombs)
    return 0


def post_file(browser: Browser, content: bytes, filename: str) -> tuple[int, bytes]:
    """Post the report form with one file; return the status and the page."""
    fields = {**report_fields(), "csrf_token": browser.token("/report")}
    body, content_type = multipart(fields, content, filename)
    status, _, page = browser.request("POST", "/report", body, {"Content-Type": content_type})
    return status, page


if __name__ == "__main__":
    sys.exit(main())
