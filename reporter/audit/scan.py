"""Recomputing the audit chain over its stored rows, fast enough for millions of events.

Rows are read straight from the database driver, a batch at a time (`reporter.audit.rows`), and the
canonical text of each row is built in one f-string. The event time arrives as text (SQLite's stored
text; PostgreSQL's output with DateStyle ISO) and is put in ISO form by string operations instead of
a datetime and isoformat(); a row whose hash does not match that way is recomputed the exact way, with
the time read as SQLAlchemy reads it, before it is called broken. Hashes are always recomputed here and
never by the database: the database is what the chain distrusts.

A long chain is split into seq ranges verified at the same time: the last range by this process, in
the caller's transaction, and the others by worker processes that open their own connections from the
database URL. Each range is recomputed from the stored prev_hash of its own first row; `join` then
checks that the first range starts at genesis and each other range where the one before it ended, so
the first broken seq and its reason are the ones a single pass from genesis finds.
"""

from __future__ import annotations

import gc
import hashlib
import itertools
import multiprocessing
import os
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from datetime import datetime
from json.encoder import encode_basestring_ascii
from typing import Any, NamedTuple

from sqlalchemy import URL, Dialect, func, select
from sqlalchemy.orm import Session

from reporter.audit.rows import chain_rows
from reporter.database import make_engine
from reporter.models import AuditEvent

GENESIS_HASH = "0" * 64
#: Below this many events one process verifies the whole chain: starting workers costs more.
PARALLEL_THRESHOLD = 50_000
_FORMAT = "reporter/audit/v1"
# The function json.dumps(ensure_ascii=True) applies to each str: quotes, backslashes, control and
# non-ASCII characters escaped, so no value can break the array apart.
_quote = encode_basestring_ascii
_OPEN = f"[{_quote(_FORMAT)},"
_sha256 = hashlib.sha256

Broken = tuple[int, str]
"""The first bad event's seq and the reason, as ChainBroken reports them."""
Checkpoints = Mapping[int, tuple[str, str]]
"""Signed checkpoints by seq: (the hash they sign, the time by which the next one is due, ISO text).

A checkpoint signed before intervals were enforced has NO_DEADLINE."""
#: Later than every ISO time: no event is ever late after such a checkpoint.
NO_DEADLINE = "9999"


class ChainBroken(Exception):
    """The chain does not verify; `seq` names the first bad event."""

    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"broken at seq {seq}: {reason}")
        self.seq = seq
        self.reason = reason


class RangeScan(NamedTuple):
    """What the rows of one seq range showed: where they start and end, and their first break."""

    first_seq: int
    first_prev_hash: str
    last_seq: int
    last_hash: str
    broken: Broken | None


def canonical_text(
    seq: int, at: str, actor_id: str | None, actor_role: str | None, action: str | None,
    object_type: str | None, object_id: str | None, detail: str | None,
) -> str:
    """Return the canonical JSON array of an event's content, with `at` in ISO format.

    The same text as json.dumps([...], ensure_ascii=True, separators=(",", ":")), built directly.
    """
    return (f"{_OPEN}{seq},{_quote(at)},{_json(actor_id)},{_json(actor_role)},{_json(action)},"
            f"{_json(object_type)},{_json(object_id)},{_json(detail)}]")


def _json(value: str | None) -> str:
    return "null" if value is None else _quote(value)


def _exact_hash(prev: str, row: tuple[Any, ...]) -> str | None:
    """Return the row's hash with its time read as SQLAlchemy reads it, or None if it cannot be read."""
    seq, at, actor_id, actor_role, action, object_type, object_id, detail = row[:8]
    try:
        moment = datetime.fromisoformat(at) if isinstance(at, str) else at
        content = canonical_text(seq, moment.isoformat(), actor_id, actor_role, action, object_type,
                                 object_id, detail)
    except (AttributeError, TypeError, ValueError):
        return None
    return _sha256((prev + content).encode()).hexdigest()


def scan(batches: Iterable[Iterable[tuple[Any, ...]]], checkpoints: Checkpoints,
         at_text: Callable[[Any], str] = datetime.isoformat, deadline: str = NO_DEADLINE) -> RangeScan | None:
    """Recompute the rows (in seq order) from the first one's stored prev_hash; None if no rows.

    `checkpoints` are the signed checkpoints; `at_text` turns a stored time into its ISO form;
    `deadline` is when the checkpoint due after the last one before these rows was due. An event at
    or after the deadline that is not itself a checkpoint breaks the chain: the log went more than
    the interval without the signed checkpoint the application writes.
    """
    rows = itertools.chain.from_iterable(batches)
    first = next(rows, None)
    if first is None:
        return None
    first_seq, first_prev = first[0], first[8]

    def broken(seq: int, reason: str) -> RangeScan:
        return RangeScan(first_seq, first_prev, seq - 1, "", (seq, reason))

    expected, prev = first_seq, first_prev
    # Measured on SQLite, one process: the driver fetch takes about 1.8 us a row and this loop about
    # 2.1 us, mostly in C (the JSON escaping of seven values, SHA-256, hexdigest). Two batch-wise
    # forms measured slower and were not kept: map() with str.format over the batch's columns (about
    # 50% slower; str.format costs twice the f-string), and one check that a batch's short values need
    # no escaping so _quote() can be skipped (2-6% more instructions: the join and the check cost what
    # the escaping saved).
    for row in itertools.chain((first,), rows):
        seq, at, actor_id, role, action, object_type, object_id, detail, prev_hash, stored = row
        if seq != expected:
            return broken(expected, f"event {expected} is missing (found {seq} next)")
        if prev_hash != prev:
            return broken(seq, "prev_hash does not match the previous event")
        # canonical_text() inlined: a call per row would add about 15% to the scan.
        try:
            at_iso = at_text(at)
            prev = _sha256(
                f"{prev_hash}{_OPEN}{seq},{_quote(at_iso)},"
                f"{'null' if actor_id is None else _quote(actor_id)},{_quote(role)},{_quote(action)},"
                f"{'null' if object_type is None else _quote(object_type)},"
                f"{'null' if object_id is None else _quote(object_id)},{_quote(detail)}]".encode()
            ).hexdigest()
        except (AttributeError, TypeError, ValueError):
            prev = at_iso = ""
        if prev != stored and _exact_hash(prev_hash, row) != stored:
            return broken(seq, "hash does not match the event's content")
        prev = stored
        signed = checkpoints.get(seq)
        if signed is not None:
            if signed[0] != stored:
                return broken(seq, "event differs from its signed checkpoint")
            deadline = signed[1]
        elif at_iso >= deadline:
            return broken(seq, "no signed checkpoint within the interval before this event")
        expected += 1
    return RangeScan(first_seq, first_prev, expected - 1, prev, None)


def join(scans: Iterable[RangeScan | None]) -> tuple[int, Broken | None]:
    """Chain consecutive range scans from genesis; return the event count and the first break."""
    expected, prev = 1, GENESIS_HASH
    for scanned in scans:
        if scanned is None:
            continue
        if scanned.first_seq != expected:
            return expected - 1, (expected, f"event {expected} is missing (found {scanned.first_seq} next)")
        if scanned.first_prev_hash != prev:
            return expected - 1, (scanned.first_seq, "prev_hash does not match the previous event")
        if scanned.broken is not None:
            return scanned.broken[0] - 1, scanned.broken
        expected, prev = scanned.last_seq + 1, scanned.last_hash
    return expected - 1, None


def scan_chain(session: Session, checkpoints: Checkpoints, *, workers: int | None = None,
               parallel_threshold: int = PARALLEL_THRESHOLD) -> tuple[int, Broken | None]:
    """Recompute every stored event; return the count of events that verify and the first break.

    From `parallel_threshold` events on, with more than one worker (default: one per CPU), the chain
    is split into `workers` ranges: this process verifies the last one in the session's transaction
    while worker processes verify the others.
    """
    if workers is None:
        workers = os.cpu_count() or 1
    connection = session.connection()
    last = session.scalar(select(func.max(AuditEvent.seq))) or 0
    url = connection.engine.url
    if workers <= 1 or last < parallel_threshold or not _shared(url):
        return join([_scan_connection(connection.connection.driver_connection, connection.dialect,
                                      None, None, checkpoints, NO_DEADLINE)])
    cuts = [last * part // workers for part in range(1, workers)]
    ranges = list(zip([None, *cuts], [*cuts, None], strict=True))
    with worker_pool(len(ranges) - 1) as pool:
        futures = [
            pool.submit(scan_range, url.render_as_string(hide_password=False), after, upto,
                        _within(checkpoints, after, upto), _deadline_after(checkpoints, after))
            for after, upto in ranges[:-1]
        ]
        tail = _scan_connection(connection.connection.driver_connection, connection.dialect,
                                ranges[-1][0], None, checkpoints, _deadline_after(checkpoints, ranges[-1][0]))
        return join([*(future.result() for future in futures), tail])


def _shared(url: URL) -> bool:
    """Tell whether other processes can open the database at `url` (an in-memory SQLite cannot)."""
    if url.get_backend_name() != "sqlite":
        return True
    return ":memory:" not in (url.database or ":memory:") and url.query.get("mode") != "memory"


@contextmanager
def worker_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """Yield a pool of `workers` processes, started the way scan_chain starts its workers.

    Workers are forked when this process runs a single thread on Linux: they start in milliseconds
    instead of the second a fresh interpreter takes to import the app. A forked worker never uses the
    connections it inherits (it opens its own from the URL, as SQLite requires of a child process),
    and the objects it inherits stay frozen out of its garbage collector, so it cannot finalise an
    inherited connection and close it under this process. With other threads running, a fork could
    copy a lock one of them holds and hang the worker: then workers start as fresh interpreters.
    """
    fork = sys.platform == "linux" and threading.active_count() == 1
    freeze = fork and gc.get_freeze_count() == 0
    if freeze:
        gc.freeze()
    try:
        context = multiprocessing.get_context("fork" if fork else "spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            yield pool
    finally:
        if freeze:
            gc.unfreeze()


def scan_range(url: str, after: int | None, upto: int | None, checkpoints: Checkpoints,
               deadline: str = NO_DEADLINE) -> RangeScan | None:
    """Recompute the events with after < seq <= upto on a connection of this process's own."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return _scan_connection(connection.connection.driver_connection, connection.dialect,
                                    after, upto, checkpoints, deadline)
    finally:
        engine.dispose()


def _within(checkpoints: Checkpoints, after: int | None, upto: int | None) -> dict[int, tuple[str, str]]:
    return {seq: value for seq, value in checkpoints.items()
            if (after is None or seq > after) and (upto is None or seq <= upto)}


def _deadline_after(checkpoints: Checkpoints, after: int | None) -> str:
    """Return the deadline in force just after seq `after`: that of the last checkpoint at or before it."""
    before = [seq for seq in checkpoints if after is not None and seq <= after]
    return checkpoints[max(before)][1] if before else NO_DEADLINE


def _scan_connection(driver: Any, dialect: Dialect, after: int | None, upto: int | None,
                     checkpoints: Checkpoints, deadline: str) -> RangeScan | None:
    with chain_rows(driver, dialect, after, upto) as (batches, at_text):
        return scan(batches, checkpoints, at_text, deadline)
