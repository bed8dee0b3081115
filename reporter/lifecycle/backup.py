"""`reporter backup create`: one encrypted file holding the database, the attachment files and the keys.

What goes in, and what never does:

- Every table of the models, read in one consistent transaction (reporter.lifecycle.snapshot), and
  the schema revision it is at.
- The attachment files the snapshot's rows name, read while that transaction is open: a file an
  upload adds meanwhile belongs to a row the snapshot does not have, and is left out with it.
- Every file of the instance key folder, whatever its name (new key versions are included as they
  appear), except private seal keys: the escrow private key opens every case and the backup private
  key every backup, so neither may travel in one, even when left in the folder by hand or renamed.
- Keys given in REPORTER_* environment variables are NOT copied: they live in the deployment's secret
  store, which keeps (and backs up) them; copying them into a file would widen where they exist. The
  backup names them, and the operator is told at creation and at restore that they must be set again.

The file is written under a temporary name beside the destination and renamed only once complete and
on disk, so an interrupted backup never leaves a file that looks like a valid one.
"""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, select

from reporter.crypto import chunks, seals
from reporter.evidence.store import AttachmentStore, fsync_folder
from reporter.keyring import ESCROW_PRIVATE_FILE
from reporter.lifecycle import backup_format as fmt
from reporter.lifecycle import backup_keys, snapshot
from reporter.models import Attachment
from reporter.models.base import utcnow

#: Environment variables that carry key material (REPORTER_KEYS_PATH only names a folder).
KEY_VARIABLE = re.compile(r"REPORTER_\w*KEY\w*")
FILE_PIECE_BYTES = 1024 * 1024
OFFLINE_NAMES = ("escrow-private", ESCROW_PRIVATE_FILE, backup_keys.PRIVATE_FILE)


class BackupRefused(RuntimeError):
    """A backup cannot be made; the message says why and what to do."""


@dataclass
class BackupSummary:
    """What a backup holds."""

    rows: dict[str, int] = field(default_factory=dict)
    files: int = 0
    missing_files: list[str] = field(default_factory=list)
    key_files: list[str] = field(default_factory=list)
    skipped_keys: list[str] = field(default_factory=list)
    keys_not_included: list[str] = field(default_factory=list)


def key_variables() -> list[str]:
    """Return the names of the REPORTER_* environment variables that hold keys and are set."""
    return sorted(name for name, value in os.environ.items()
                  if value and KEY_VARIABLE.fullmatch(name) and name != "REPORTER_KEYS_PATH")


def key_files(keys_path: Path) -> tuple[list[Path], list[Path]]:
    """Return (files to back up, private keys left out) of the key folder, each sorted."""
    included: list[Path] = []
    skipped: list[Path] = []
    if not keys_path.is_dir():
        return included, skipped
    for path in sorted(keys_path.rglob("*")):
        if path.is_symlink() or not path.is_file():
            continue
        private = path.name.endswith("MOVE-OFFLINE") or any(path.name.startswith(n) for n in OFFLINE_NAMES)
        (skipped if private or backup_keys.holds_private_key(path) else included).append(path)
    return included, skipped


def create_backup(destination: str | Path, *, engine: Engine, keys_path: str | Path, store: AttachmentStore,
                  public: seals.KeyPair, keys_not_included: list[str] | None = None) -> BackupSummary:
    """Write one encrypted backup of the database, the attachment files and the instance keys."""
    target = Path(destination)
    if target.exists():
        raise BackupRefused(f"{target} exists already; give the new backup a new name")
    if not target.parent.is_dir():
        raise BackupRefused(f"the folder {target.parent} does not exist")
    summary = BackupSummary(keys_not_included=sorted(keys_not_included or []))
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.partial-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as sink:
            with fmt.open_writer(sink, public) as writer:
                _write_dump(writer, engine, Path(keys_path), store, summary)
            sink.flush()
            os.fsync(sink.fileno())
        os.replace(temporary, target)
    finally:
        with suppress(FileNotFoundError):
            os.unlink(temporary)
    fsync_folder(target.parent)
    return summary


def _write_dump(writer: chunks.EncryptingWriter, engine: Engine, keys_path: Path, store: AttachmentStore,
                summary: BackupSummary) -> None:
    included, skipped = key_files(keys_path)
    summary.skipped_keys = [path.name for path in skipped]
    with snapshot.read_transaction(engine) as connection:
        writer.write(fmt.json_record(fmt.MANIFEST, {
            "application": "reporter", "backup_id": secrets.token_hex(16), "created_at": utcnow().isoformat(),
            "schema_revision": snapshot.schema_revision(connection), "source_dialect": engine.dialect.name,
            "tables": [{"name": table.name, "columns": snapshot.column_names(table)}
                       for table in snapshot.table_order()],
            "keys_not_included": summary.keys_not_included,
        }))
        for table in snapshot.table_order():
            columns = snapshot.column_names(table)
            writer.write(fmt.json_record(fmt.TABLE, {"name": table.name, "columns": columns}))
            count = 0
            for batch in snapshot.stream_rows(connection, table):
                writer.write(fmt.json_record(fmt.ROWS, [[fmt.encode_value(v) for v in row] for row in batch]))
                count += len(batch)
            writer.write(fmt.json_record(fmt.TABLE_END, {"name": table.name, "rows": count}))
            summary.rows[table.name] = count
        for store_id in _stored_ids(connection):
            try:
                source = store.open(store_id)
            except FileNotFoundError:
                summary.missing_files.append(store_id)
                continue
            with source:
                _write_file(writer, "attachments", store_id, source)
            summary.files += 1
        # Keys are read inside the snapshot too. A rotation keeps retired versions beside the new one
        # (reporter.lifecycle.keyfiles), so keys read a moment after the rows still open them.
        for path in included:
            name = path.relative_to(keys_path).as_posix()
            with open(path, "rb") as key_file:
                _write_file(writer, "keys", name, key_file)
            summary.key_files.append(name)
    writer.write(fmt.json_record(fmt.END, {"rows": summary.rows, "files": summary.files,
                                           "key_files": len(summary.key_files)}))


def _stored_ids(connection: Connection) -> Iterator[str]:
    """Yield the store id of every file the snapshot's attachment rows name (scrubbed copy, original)."""
    statement = select(Attachment.id, Attachment.original_id).order_by(Attachment.id)
    streaming = connection.execution_options(stream_results=True, yield_per=snapshot.BATCH_ROWS)
    for attachment_id, original_id in streaming.execute(statement):
        yield attachment_id
        if original_id:
            yield original_id


def _write_file(writer: chunks.EncryptingWriter, area: str, name: str, source: Any) -> None:
    size = source.seek(0, os.SEEK_END)  # a file, or a bucket object spooled into a temporary file
    source.seek(0)
    writer.write(fmt.json_record(fmt.FILE, {"area": area, "name": name, "size": size}))
    written = 0
    while piece := source.read(FILE_PIECE_BYTES):
        writer.write(fmt.record(fmt.DATA, piece))
        written += len(piece)
    if written != size:
        raise BackupRefused(f"the file {name} changed while it was being backed up; run the backup again")
    writer.write(fmt.json_record(fmt.FILE_END, {"name": name, "size": written}))

