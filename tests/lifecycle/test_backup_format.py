"""The backup file format: values round-trip exactly; chunks cannot be reordered, dropped or moved."""

from __future__ import annotations

import io
import os
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from reporter.crypto import chunks, seals
from reporter.lifecycle import backup_format as fmt

FRAME = chunks.HEADER_BYTES  # the chunk stream's own header, after the backup header


@pytest.mark.parametrize("value", [
    None, True, False, 0, -1, 2**62, 1.5, "", "текст", b"", bytes(range(256)),
    datetime(2026, 12, 6, 6, 5, 4, 321), datetime(2026, 1, 1, tzinfo=UTC), date(2026, 3, 8),
    Decimal("12.340"), {"a": [1, "b"]}, [1, 2],
])
def test_every_column_value_comes_back_exactly(value):
    import json

    decoded = fmt.decode_row(json.loads(json.dumps([fmt.encode_value(value)])))[0]
    assert decoded == value and type(decoded) is type(value)


def write(pair: seals.KeyPair, payload: bytes) -> bytes:
    sink = io.BytesIO()
    with fmt.open_writer(sink, pair) as writer:
        writer.write(payload)
    return sink.getvalue()


def read(pair: seals.KeyPair, data: bytes) -> bytes:
    return b"".join(fmt.open_reader(io.BytesIO(data), pair))


@pytest.fixture(scope="module")
def pair() -> seals.KeyPair:
    return seals.generate_keypair()


def test_a_backup_opens_with_its_key(pair):
    payload = os.urandom(3 * fmt.CHUNK_BYTES + 5)
    assert read(pair, write(pair, payload)) == payload


def _chunk_layout(data: bytes) -> tuple[int, int]:
    frame = 4 + fmt.CHUNK_BYTES + 16
    start = len(data) - ((len(data) - FRAME) // frame) * frame
    return start, frame


@pytest.mark.parametrize("damage", ["swap", "drop last", "drop middle", "duplicate"])
def test_chunks_cannot_be_reordered_dropped_or_repeated(pair, damage):
    data = write(pair, os.urandom(3 * fmt.CHUNK_BYTES))
    start, frame = _chunk_layout(data)
    body = [data[i:i + frame] for i in range(start, len(data), frame)]
    assert len(body) >= 3
    if damage == "swap":
        body[0], body[1] = body[1], body[0]
    elif damage == "drop last":
        body.pop()
    elif damage == "drop middle":
        body.pop(1)
    else:
        body.insert(1, body[1])
    with pytest.raises(fmt.BackupInvalid, match="altered or cut short"):
        read(pair, data[:start] + b"".join(body))


def test_chunks_of_another_backup_do_not_fit(pair):
    one, two = write(pair, b"a" * 100), write(pair, b"a" * 100)
    start, _ = _chunk_layout(one)
    with pytest.raises(fmt.BackupInvalid):
        read(pair, one[:start] + two[start:])


def test_another_key_or_a_file_that_is_no_backup_is_refused(pair):
    data = write(pair, b"rows")
    with pytest.raises(fmt.BackupInvalid, match="does not open with this backup key"):
        read(seals.generate_keypair(), data)
    with pytest.raises(fmt.BackupInvalid, match="not a reporter backup"):
        read(pair, b"SQLite format 3\x00" + bytes(100))
    with pytest.raises(fmt.BackupInvalid, match="cut short"):
        read(pair, data[:30])
