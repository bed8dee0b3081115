"""Raw views of everything the app keeps at rest, for tests that grep storage for secrets."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

Dump = dict[str, bytes]
ENCODINGS = ("utf-8", "utf-16-le")


def _cell_bytes(value: object) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode("utf-8")


def _postgresql_cells(url: str) -> Dump:
    engine = create_engine(url)
    cells: Dump = {}
    try:
        with engine.connect() as connection:
            for table in inspect(connection).get_table_names():
                rows = connection.execute(text(f'SELECT * FROM "{table}"')).mappings()  # noqa: S608
                for number, row in enumerate(rows):
                    for column, value in row.items():
                        cells[f"{table}[{number}].{column}"] = _cell_bytes(value)
    finally:
        engine.dispose()
    return cells


def _occurrences(needles: Iterable[str | bytes], dump: Dump) -> list[str]:
    found = []
    for needle in needles:
        patterns = [needle] if isinstance(needle, bytes) else [needle.encode(e) for e in ENCODINGS]
        for pattern in patterns:
            found.extend(
                f"{needle!r} as {pattern!r} in {where}" for where, data in dump.items() if pattern in data
            )
    return found


@pytest.fixture
def stored_bytes(backend: str, instance_path: Path, database_url: str) -> Callable[[], Dump]:
    """Return a function dumping storage raw: every file beside and under the instance folder
    (database, -wal, -shm, keys, config, the attachment store), with every file's name as well; on
    PostgreSQL every cell of every table and the files of the attachment store."""

    def files_under(root: Path) -> Dump:
        found: Dump = {}
        for path in sorted(path for path in root.rglob("*") if path.is_file()):
            where = str(path.relative_to(root))
            found[where] = path.read_bytes()
            found[f"name of {where}"] = where.encode()
        return found

    def dump() -> Dump:
        if backend == "postgresql":
            return {**_postgresql_cells(database_url), **files_under(instance_path / "attachments")}
        return files_under(instance_path.parent)

    return dump


@pytest.fixture
def find_at_rest(stored_bytes: Callable[[], Dump]) -> Callable[[Iterable[str | bytes]], list[str]]:
    """Return a function naming every place at rest where one of the needles appears (text is
    searched as UTF-8 and UTF-16, bytes as given)."""

    def find(needles: Iterable[str | bytes]) -> list[str]:
        return _occurrences(needles, stored_bytes())

    return find
