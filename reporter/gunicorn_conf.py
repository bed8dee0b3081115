"""gunicorn settings for serving the application in production.

    gunicorn -c python:reporter.gunicorn_conf -w 2 -b 127.0.0.1:8000 'reporter:create_app()'

- `preload_app`: the master imports the application and builds it once (code, templates, instance keys,
  configuration), then forks the workers, which share those pages instead of each loading its own copy.
  `create_app` opens no database connection and starts no thread, so nothing crosses the fork: every
  worker opens its own connections, and the notification sender starts in a worker on first use.
- The garbage collector is frozen in the master just before each fork (`gc.freeze`): objects the
  workers inherit are never visited by their collections, so their memory pages stay shared instead of
  being copied into each worker as soon as a collection runs.
- `accesslog` stays off: an access log would hold every client's address.

Measured by `bench/evidence.py`: see bench/README.md.
"""

from __future__ import annotations

import gc
from typing import Any

preload_app = True
accesslog = None


def pre_fork(server: Any, worker: Any) -> None:
    """In the master, just before a worker is forked: keep inherited objects out of its collections."""
    gc.freeze()
