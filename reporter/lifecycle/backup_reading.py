"""Reading the records of a decrypted backup: their order, their sizes and their names are checked.

The records are authenticated before this module sees them, so what is checked here is that the
backup is one this release wrote whole: a manifest first, every table announced by it in its place
with the columns it named, each table's and file's size as announced, file names the application
makes (never a path that leaves the folder it is restored into), and the end record last.
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from reporter.evidence.store import ID_PATTERN
from reporter.lifecycle import backup_format as fmt
from reporter.lifecycle.backup_format import BackupInvalid

AREAS = ("attachments", "keys")
_KEY_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}")


@dataclass(frozen=True)
class Manifest:
    """What the first record of a backup says about it."""

    backup_id: str
    created_at: str
    schema_revision: str | None
    source_dialect: str
    tables: list[tuple[str, list[str]]]
    keys_not_included: list[str]


@dataclass(frozen=True)
class TableStart:
    """A table's rows follow."""

    name: str
    columns: list[str]


@dataclass(frozen=True)
class Rows:
    """A batch of one table's rows, decoded."""

    rows: Sequence[Sequence[Any]]


@dataclass(frozen=True)
class FileStart:
    """A file's bytes follow."""

    area: str
    name: str
    size: int


@dataclass(frozen=True)
class FileData:
    """A piece of the current file."""

    data: bytes


@dataclass(frozen=True)
class FileEnd:
    """The current file is complete."""


Event = Manifest | TableStart | Rows | FileStart | FileData | FileEnd


def _json(payload: bytes) -> Any:
    try:
        return json.loads(payload)
    except ValueError:
        raise BackupInvalid("a record in the backup is not readable") from None


def _manifest(payload: bytes) -> Manifest:
    document = _json(payload)
    try:
        if document["application"] != "reporter":
            raise BackupInvalid("this backup was not made by reporter")
        return Manifest(str(document["backup_id"]), str(document["created_at"]), document["schema_revision"],
                        str(document["source_dialect"]),
                        [(str(t["name"]), [str(c) for c in t["columns"]]) for t in document["tables"]],
                        [str(name) for name in document["keys_not_included"]])
    except (KeyError, TypeError):
        raise BackupInvalid("the backup's manifest is incomplete") from None


def safe_name(area: str, name: str) -> str:
    """Return a file name from a backup if it is one the application makes for `area`, else refuse it."""
    if area == "attachments" and ID_PATTERN.fullmatch(name):
        return name
    parts = PurePosixPath(name).parts
    if area == "keys" and parts and all(_KEY_NAME.fullmatch(part) for part in parts) and len(parts) <= 4:
        return name
    raise BackupInvalid(f"the backup names a file this release would not write: {area}/{name!r}")


def events(reader: fmt.RecordReader, *, decode: bool = True) -> Iterator[Event]:
    """Yield the backup's content as events, checking order, sizes and names; raise BackupInvalid if wrong.

    Without `decode`, rows are checked for their number of columns only and yielded as read (a pass
    that verifies the whole file need not rebuild every value).
    """
    first = reader.next()
    if first is None or first[0] != fmt.MANIFEST:
        raise BackupInvalid("the backup has no manifest")
    manifest = _manifest(first[1])
    yield manifest
    tables = iter(manifest.tables)
    counts: dict[str, int] = {}
    files = 0
    while (item := reader.next()) is not None:
        kind, payload = item
        if kind == fmt.TABLE:
            expected = next(tables, None)
            document = _json(payload)
            if expected is None or [document.get("name"), document.get("columns")] != list(expected):
                raise BackupInvalid("the backup's tables are not in the order its manifest names")
            yield TableStart(*expected)
            counts[expected[0]] = yield from _table_rows(reader, expected, decode)
        elif kind == fmt.FILE:
            document = _json(payload)
            area, size = document.get("area"), document.get("size")
            if area not in AREAS or not isinstance(size, int) or size < 0:
                raise BackupInvalid("the backup describes a file badly")
            yield FileStart(area, safe_name(area, str(document.get("name"))), size)
            yield from _file_data(reader, size)
            files += 1
        elif kind == fmt.END:
            _check_end(_json(payload), counts, files, manifest)
            if reader.next() is not None:
                raise BackupInvalid("the backup goes on after its end record")
            return
        else:
            raise BackupInvalid("the backup holds a record out of place")
    raise BackupInvalid("the backup has no end record (it is incomplete)")


def _table_rows(reader: fmt.RecordReader, table: tuple[str, list[str]],
                decode: bool) -> Generator[Event, None, int]:
    count = 0
    while (item := reader.next()) is not None:
        kind, payload = item
        if kind == fmt.ROWS:
            rows = _json(payload)
            width = len(table[1])
            if not isinstance(rows, list) or any(not isinstance(r, list) or len(r) != width for r in rows):
                raise BackupInvalid(f"rows of table {table[0]} do not fit its columns")
            try:
                yield Rows([fmt.decode_row(row) for row in rows] if decode else rows)
            except (ValueError, KeyError, TypeError):
                raise BackupInvalid(f"a value in table {table[0]} is not readable") from None
            count += len(rows)
        elif kind == fmt.TABLE_END:
            if _json(payload) != {"name": table[0], "rows": count}:
                raise BackupInvalid(f"table {table[0]} does not hold the rows the backup announced")
            return count
        else:
            raise BackupInvalid(f"the rows of table {table[0]} are not followed by its end")
    raise BackupInvalid("the backup ends inside a table")


def _file_data(reader: fmt.RecordReader, size: int) -> Iterator[Event]:
    seen = 0
    while (item := reader.next()) is not None:
        kind, payload = item
        if kind == fmt.DATA:
            seen += len(payload)
            if seen > size:
                raise BackupInvalid("a file in the backup is longer than announced")
            yield FileData(payload)
        elif kind == fmt.FILE_END:
            if seen != size:
                raise BackupInvalid("a file in the backup is shorter than announced")
            yield FileEnd()
            return
        else:
            raise BackupInvalid("a file in the backup is not followed by its end")
    raise BackupInvalid("the backup ends inside a file")


def _check_end(document: Any, counts: dict[str, int], files: int, manifest: Manifest) -> None:
    if not isinstance(document, dict) or document.get("rows") != counts or \
            document.get("files", 0) + document.get("key_files", 0) != files:
        raise BackupInvalid("the backup's end record does not match its content")
    if len(counts) != len(manifest.tables):
        raise BackupInvalid("the backup lacks tables its manifest names")
