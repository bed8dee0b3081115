"""gunicorn settings for serving the application in production.

    gunicorn -c python:reporter.gunicorn_conf -w 2 -b 127.0.0.1:8000 'reporter:create_app()'

- `preload_app`: the master imports the application and builds it once (code, templates, instance keys,
  configuration), then forks the workers, which share those pages instead of each loading its own copy.
  `create_app` opens no database connection and starts no thread, so nothing crosses the fork: every
  worker opens its own connections, and the notification sender starts in a worker on first use.
- The garbage collector is frozen in the master just before each fork (`gc.freeze`): objects the
  workers inherit are never visited by their collections, so their memory pages stay shared instead of
  being copied into each worker as soon as a collection runs.
- In each worker, buffers of 256 KiB and more are given their own memory mappings and handed back to
  the system when freed (glibc `mallopt(M_MMAP_THRESHOLD)`). By default glibc raises that threshold
  after the first large buffer is freed, so the memory of a 10 MiB upload stays in the worker's heap
  for good; uploads are held in memory, and a worker would otherwise keep the high-water mark of the
  largest ones it ever took.
- `accesslog` stays off: an access log would hold every client's address.
- Several workers need a shared rate-limit store (`REPORTER_REDIS_URL`): with the default memory
  store each worker counts on its own, so every limit would be as many times looser as there are
  workers. The master refuses to start like that (`on_starting`); one worker may use memory.

Measured by `bench/evidence.py`: see bench/README.md.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from typing import Any

preload_app = True
accesslog = None

M_MMAP_THRESHOLD = -3  # glibc's malloc.h
LARGE_BUFFER_BYTES = 256 * 1024


def on_starting(server: Any) -> None:
    """In the master, before any worker: refuse several workers that would each keep their own limits."""
    from reporter.config import check_workers

    app = server.app.wsgi()  # already built by preload_app
    check_workers(int(server.cfg.workers), str(app.config["RATELIMIT_STORAGE_URI"]))


def pre_fork(server: Any, worker: Any) -> None:
    """In the master, just before a worker is forked: keep inherited objects out of its collections."""
    gc.freeze()


def post_fork(server: Any, worker: Any) -> None:
    """In each new worker: give large buffers back to the system when they are freed (glibc only), and
    start the upload sandbox now rather than on the first upload (reporter/evidence/sandbox.py)."""
    return_large_buffers()
    from reporter.evidence.sandbox import SANDBOX, SandboxUnavailable

    try:
        SANDBOX.start()
    except SandboxUnavailable:
        server.log.error("the upload sandbox did not start; the first upload will try again")


def return_large_buffers() -> bool:
    """Fix glibc's mmap threshold so large buffers are unmapped when freed; False where there is no glibc."""
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
        mallopt = libc.mallopt if libc is not None else None
    except (OSError, AttributeError):
        return False
    return mallopt is not None and bool(mallopt(M_MMAP_THRESHOLD, LARGE_BUFFER_BYTES))
