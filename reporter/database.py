"""Engine and sessions for SQLite (embedded default) and PostgreSQL (scale-out).

SQLite runs in WAL mode with ``synchronous=FULL``: a receipt is shown only after the report is on
disk. Write transactions on SQLite start with ``BEGIN IMMEDIATE`` so that a transaction which reads
before it writes (the audit chain head, a case before its update) takes the single writer lock up
front instead of failing with SQLITE_BUSY when another writer committed in between. Read-only
requests begin deferred and never block writers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, g, request
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
SIGNER_INFO_KEY = "reporter.audit_signer"
#: The instance directory key (reporter.crypto.records.RecordKeys) that signs and checks records.
RECORD_KEYS_INFO_KEY = "reporter.record_keys"
#: The audit checkpoint interval: (events, seconds).
CHECKPOINT_INFO_KEY = "reporter.audit_checkpoint_every"
#: Where signed audit heads are appended as they are made (a file path or "syslog:"), if anywhere.
HEAD_TARGET_INFO_KEY = "reporter.audit_head_target"
#: True when notifications can be sent: only then are outbox rows written.
NOTIFY_INFO_KEY = "reporter.notify"
#: (low, high) minutes: a notification is sent at a random moment of this window after its cause.
NOTIFY_DELAY_INFO_KEY = "reporter.notify_delay"
#: REPORTER_RETENTION_DAYS: how long a closed case is kept after its last reporter activity.
RETENTION_INFO_KEY = "reporter.retention_days"


def make_engine(url: str) -> Engine:
    """Create an engine with the durability and safety settings of this project."""
    options: dict[str, Any] = {"hide_parameters": True, "future": True}
    if url.startswith("sqlite"):
        options["connect_args"] = {"timeout": 30, "check_same_thread": False}
    else:
        options["pool_pre_ping"] = True
    engine = create_engine(url, **options)
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Deleted and overwritten content is zeroed in the file instead of left on free pages: a purge
        # (reporter.lifecycle.purge) must not leave the ciphertexts it removed readable in the file.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection: Any) -> None:
        immediate = connection.get_execution_options().get("sqlite_begin_immediate")
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


class Database:
    """Holds the engine and hands out sessions: one per request, or explicit ones for the CLI."""

    def __init__(self) -> None:
        self.engine: Engine | None = None
        self._read: sessionmaker[Session] | None = None
        self._write: sessionmaker[Session] | None = None

    def init_app(self, app: Flask, *, audit_signer: Any = None, record_keys: Any = None,
                 notify: bool = False) -> None:
        """Create the engine for the app's database URL and close sessions after each request.

        Sessions carry the audit signing key in ``info`` so that reporter.audit can sign a checkpoint
        in the same transaction as the event that makes one due, the checkpoint interval, the
        directory key that signs and checks records (reporter.directory), and whether notifications
        are sent (reporter.notifications writes outbox rows only then).
        """
        self.engine = make_engine(app.config["REPORTER_DATABASE_URL"])
        write_engine = self.engine.execution_options(sqlite_begin_immediate=True)
        info: dict[str, Any] = {NOTIFY_INFO_KEY: notify}
        if audit_signer is not None:
            info[SIGNER_INFO_KEY] = audit_signer
        if record_keys is not None:
            info[RECORD_KEYS_INFO_KEY] = record_keys
        info[CHECKPOINT_INFO_KEY] = (int(app.config["REPORTER_AUDIT_CHECKPOINT_EVERY"]), 3600)
        info[HEAD_TARGET_INFO_KEY] = app.config.get("REPORTER_AUDIT_HEAD_LOG")
        info[NOTIFY_DELAY_INFO_KEY] = app.config["REPORTER_NOTIFY_DELAY_MINUTES"]
        info[RETENTION_INFO_KEY] = int(app.config["REPORTER_RETENTION_DAYS"])
        self._read = sessionmaker(self.engine, expire_on_commit=False, info=info)
        self._write = sessionmaker(write_engine, expire_on_commit=False, info=info)
        app.extensions["reporter.db"] = self
        app.teardown_appcontext(self._close_request_session)

    def new_session(self, *, write: bool) -> Session:
        """Return a new session; `write` makes SQLite transactions take the writer lock at BEGIN."""
        maker = self._write if write else self._read
        assert maker is not None, "Database.init_app was not called"
        return maker()

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """Yield a write session for the CLI and tests; it is closed afterwards."""
        session = self.new_session(write=True)
        try:
            yield session
        finally:
            session.close()

    @property
    def session(self) -> Session:
        """Return this request's session (a write session for unsafe methods)."""
        if "db_session" not in g:
            write = True
            try:
                write = request.method not in _SAFE_METHODS
            except RuntimeError:  # outside a request: an app context in the CLI or a test
                pass
            g.db_session = self.new_session(write=write)
        session: Session = g.db_session
        return session

    @staticmethod
    def _close_request_session(_exc: BaseException | None) -> None:
        session = g.pop("db_session", None)
        if session is not None:
            session.close()

