"""`reporter backup restore`: a backup onto an empty instance, all of it or nothing.

1. The whole file is read once and every chunk authenticated, its records checked
   (reporter.lifecycle.backup_reading); a wrong key, a changed byte or a cut is refused here, before
   anything is written.
2. The target must be empty: no file in the key folder, no attachment file, a database without rows
   (reporter.lifecycle.loading). Only then is anything written: an empty database is migrated to this
   release's schema, and must then be at the backup's revision.
3. The file is read a second time (and authenticated again): rows go into ONE database transaction;
   attachment files and key files into a staging folder inside the instance. The audit chain is
   verified inside that transaction, against the restored audit key, and an `instance.restored` event
   is appended; only then is the transaction committed.
4. The staged files are moved into place: attachments first, the keys last.

A restore killed before the commit leaves the database as it was (the transaction is rolled back), a
migrated empty schema at most, and a staging folder the next attempt discards. Killed after the
commit, a marker in the staging folder names the backup, and running the same restore again moves
the remaining files into place. A marker is written just before the commit; if the database is
still empty on the next attempt, the commit never happened and the restore starts over.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from reporter import database
from reporter.audit import chain
from reporter.crypto import seals
from reporter.evidence.store import ID_PATTERN, AttachmentStore, FolderStore
from reporter.keyring import KeyringError, load_keyring
from reporter.lifecycle import backup_format as fmt
from reporter.lifecycle import backup_reading as reading
from reporter.lifecycle import loading
from reporter.lifecycle.backup_format import BackupInvalid

STAGING = ".restore-partial"
COMMITTING = "committing"


class RestoreRefused(RuntimeError):
    """The restore cannot go ahead; the message says why and what to do."""


@dataclass
class Restored:
    """What a restore put in place."""

    manifest: reading.Manifest
    rows: int
    files: int
    key_files: int
    resumed: bool = False


def verify_backup(path: str | Path, private: seals.KeyPair) -> tuple[reading.Manifest, int, int]:
    """Authenticate and check the whole backup, writing nothing; return (manifest, rows, files)."""
    rows = files = 0
    manifest: reading.Manifest | None = None
    with _open(path) as source:
        for event in reading.events(fmt.RecordReader(fmt.open_reader(source, private)), decode=False):
            if isinstance(event, reading.Manifest):
                manifest = event
            elif isinstance(event, reading.Rows):
                rows += len(event.rows)
            elif isinstance(event, reading.FileStart):
                files += 1
    assert manifest is not None
    return manifest, rows, files


def _open(path: str | Path) -> BinaryIO:
    try:
        return open(path, "rb")  # noqa: SIM115 - the caller closes it
    except OSError as exc:
        raise RestoreRefused(f"cannot read the backup {path}: {exc.strerror}") from None


def check_empty_folders(keys_path: Path, store: AttachmentStore) -> None:
    """Refuse a target whose key folder holds any file, or whose store holds attachment files."""
    held = [path.name for path in keys_path.rglob("*") if not path.is_dir()] if keys_path.is_dir() else []
    if held:
        raise RestoreRefused(f"the key folder {keys_path} is not empty ({', '.join(sorted(held)[:5])}): "
                             "a backup is restored only onto an instance without keys")
    if store.ids():
        raise RestoreRefused(f"{store.describe()} holds files: restore only onto an empty instance")


def restore_backup(path: str | Path, private: seals.KeyPair, *, engine: Engine, instance_path: str | Path,
                   keys_path: str | Path, checkpoint_every: int,
                   store: AttachmentStore | None = None) -> Restored:
    """Restore a backup onto an empty instance: verify it whole, then load it in one transaction.

    The attachment files go into `store` (default: the instance's folder), through its `create`.
    """
    instance, keys = Path(instance_path), Path(keys_path)
    store = store or FolderStore.in_instance(instance)
    manifest, rows, files = verify_backup(path, private)
    staging = instance / STAGING
    if _resumable(staging, manifest, engine):
        key_files = _move_into_place(staging, store, keys)
        return Restored(manifest, rows, files - key_files, key_files, resumed=True)
    check_empty_folders(keys, store)
    loading.check_target(engine, revision=manifest.schema_revision)
    assert manifest.schema_revision is not None
    if staging.exists():
        shutil.rmtree(staging)  # an attempt killed before its commit
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    for folder in (staging, staging / "attachments", staging / "keys"):
        folder.mkdir(mode=0o700, exist_ok=True)
    try:
        loading.migrate_target(engine, revision=manifest.schema_revision)
        _load(path, private, engine, staging, keys, checkpoint_every)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    key_files = _move_into_place(staging, store, keys)
    return Restored(manifest, rows, files - key_files, key_files)


def _resumable(staging: Path, manifest: reading.Manifest, engine: Engine) -> bool:
    marker = staging / COMMITTING
    if not marker.is_file():
        return False
    if marker.read_text().strip() != manifest.backup_id:
        raise RestoreRefused(f"{staging} holds an interrupted restore of another backup: run that restore "
                             "again to finish it, or remove the folder if that backup was abandoned")
    with engine.connect() as connection:
        return bool(loading.occupied_tables(connection))


def _load(path: str | Path, private: seals.KeyPair, engine: Engine, staging: Path, keys: Path,
          checkpoint_every: int) -> None:
    writing = engine.execution_options(sqlite_begin_immediate=True)
    with writing.connect() as connection, connection.begin() as transaction, _open(path) as source:
        manifest: reading.Manifest | None = None
        loader: loading.TableLoader | None = None
        sink: BinaryIO | None = None
        for event in reading.events(fmt.RecordReader(fmt.open_reader(source, private))):
            if isinstance(event, reading.Manifest):
                manifest = event
            elif isinstance(event, reading.TableStart):
                if loader is not None:
                    loader.finish()
                loader = loading.TableLoader(connection, _table(event.name), event.columns)
            elif isinstance(event, reading.Rows):
                assert loader is not None
                loader.add(event.rows)
            elif isinstance(event, reading.FileStart):
                sink = _create_private(staging / event.area / event.name)
            elif isinstance(event, reading.FileData):
                assert sink is not None
                sink.write(event.data)
            elif isinstance(event, reading.FileEnd):
                assert sink is not None
                sink.flush()
                os.fsync(sink.fileno())
                sink.close()
        if loader is not None:
            loader.finish()
        loading.reset_sequences(connection)
        assert manifest is not None
        _verify_and_record(connection, staging / "keys", checkpoint_every, manifest)
        marker = _create_private(staging / COMMITTING)
        marker.write(manifest.backup_id.encode())
        marker.flush()
        os.fsync(marker.fileno())
        marker.close()
        transaction.commit()


def _table(name: str) -> Any:
    from reporter.models import Base

    table = Base.metadata.tables.get(name)
    if table is None:
        raise BackupInvalid(f"the backup holds table {name}, which this release does not have")
    return table


def _create_private(path: Path) -> BinaryIO:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def _verify_and_record(connection: Any, staged_keys: Path, checkpoint_every: int,
                       manifest: reading.Manifest) -> None:
    """Verify the restored chain with the restored audit key, then append the restore to it."""
    try:
        keyring = load_keyring(staged_keys)
    except KeyringError as exc:
        raise RestoreRefused(f"the restored keys are incomplete: {exc}") from None
    info = {database.SIGNER_INFO_KEY: keyring.audit_signing_key,
            database.CHECKPOINT_INFO_KEY: (checkpoint_every, 3600)}
    with Session(bind=connection, info=info) as session:
        try:
            chain.verify_chain(session, keyring.audit_verification_keys(), workers=1)
        except chain.ChainBroken as broken:
            raise RestoreRefused(f"the audit chain in the backup does not verify: {broken}") from None
        chain.record(session, actor=chain.CONSOLE, action="instance.restored",
                     detail={"backup_created_at": manifest.created_at, "from": manifest.source_dialect})


def _move_into_place(staging: Path, store: AttachmentStore, keys: Path) -> int:
    """Put the staged attachment files into the store, then move the key files; return how many keys.

    Each file goes through the store's `create` (a folder or a bucket alike), then leaves the staging
    folder. A file already in the store was put there by a run stopped before its staged copy was
    removed: the store is empty when a restore starts, so it can only be this backup's.
    """
    for path in sorted((staging / "attachments").iterdir()):
        if ID_PATTERN.fullmatch(path.name):
            if not store.exists(path.name):
                with open(path, "rb") as source, store.create(path.name) as sink:
                    shutil.copyfileobj(source, sink, 1024 * 1024)
            path.unlink()
    keys.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(keys, 0o700)
    staged_keys = staging / "keys"
    for path in sorted(staged_keys.rglob("*")):
        if path.is_file():
            target = keys / path.relative_to(staged_keys)
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            shutil.move(path, target)  # the key folder may be on another file system
    _fsync(keys)
    moved = sum(1 for path in keys.rglob("*") if path.is_file())
    shutil.rmtree(staging)
    return moved


def _fsync(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
