"""Chunked AES-256-GCM for attachment files: round trips, padding, and every kind of tampering (C03)."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reporter.crypto import CiphertextInvalid, aead, chunks

SMALL = 64  # chunk size for fast tests; the format does not depend on it
FILE_ID = "a" * 32


@pytest.fixture(scope="module")
def key() -> bytes:
    return aead.new_key()


def encrypt(key: bytes, plaintext: bytes, *, file_id: str = FILE_ID, chunk_size: int = SMALL,
            pieces: int = 1, key_version: int = 1) -> bytes:
    sink = io.BytesIO()
    with chunks.EncryptingWriter(sink, key, file_id=file_id, chunk_size=chunk_size,
                                 key_version=key_version) as writer:
        step = max(1, len(plaintext) // pieces)
        for start in range(0, len(plaintext), step):
            writer.write(plaintext[start : start + step])
    return sink.getvalue()


def decrypt(key: bytes, blob: bytes, *, file_id: str = FILE_ID) -> bytes:
    return b"".join(chunks.decrypt_chunks(io.BytesIO(blob), key, file_id=file_id))


def split(blob: bytes, chunk_size: int = SMALL) -> tuple[bytes, list[bytes]]:
    frame = 4 + chunk_size + chunks.TAG_BYTES
    body = blob[chunks.HEADER_BYTES :]
    return blob[: chunks.HEADER_BYTES], [body[i : i + frame] for i in range(0, len(body), frame)]


BOUNDARY_SIZES = [0, 1, SMALL - 1, SMALL, SMALL + 1, 2 * SMALL, 3 * SMALL + 5, 17 * SMALL - 1]


@pytest.mark.parametrize("size", BOUNDARY_SIZES)
def test_round_trip_at_chunk_boundaries(key, size):
    plaintext = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    assert decrypt(key, encrypt(key, plaintext)) == plaintext


@settings(max_examples=60, deadline=None)
@given(
    size=st.one_of(st.sampled_from(BOUNDARY_SIZES), st.integers(min_value=0, max_value=20 * SMALL)),
    pieces=st.integers(min_value=1, max_value=9),
    data=st.data(),
)
def test_round_trip_whatever_the_size_and_the_pieces_written(key, size, pieces, data):
    plaintext = data.draw(st.binary(min_size=size, max_size=size))
    assert decrypt(key, encrypt(key, plaintext, pieces=pieces)) == plaintext


@pytest.mark.parametrize("size", [0, 1, chunks.CHUNK_BYTES - 1, chunks.CHUNK_BYTES, chunks.CHUNK_BYTES + 1,
                                  3 * chunks.CHUNK_BYTES + 7])
def test_round_trip_with_the_real_chunk_size(key, size):
    plaintext = bytes(size)
    blob = encrypt(key, plaintext, chunk_size=chunks.CHUNK_BYTES)
    assert decrypt(key, blob) == plaintext
    assert len(blob) == chunks.stored_size(size)


def test_the_size_on_disk_shows_only_a_bucket(key):
    assert len(encrypt(key, b"x")) == len(encrypt(key, b"x" * SMALL)) == len(encrypt(key, b""))
    assert len(encrypt(key, b"x" * (8 * SMALL + 1))) == len(encrypt(key, b"x" * 10 * SMALL))
    assert chunks.padded_size(1) == chunks.padded_size(chunks.CHUNK_BYTES) == chunks.CHUNK_BYTES
    assert chunks.padded_size(81 * chunks.CHUNK_BYTES) == chunks.padded_size(88 * chunks.CHUNK_BYTES)
    assert chunks.padded_size(10 * 1024 * 1024 - 1) == 10 * 1024 * 1024


@pytest.mark.parametrize("count", [1, 7, 8, 9, 80, 81, 161, 1000, 4097, 65_535])
def test_padding_never_adds_more_than_an_eighth_and_buckets_are_coarse(count):
    padded = chunks.padded_chunk_count(count * chunks.CHUNK_BYTES)
    assert count <= padded <= count * 9 // 8
    buckets = {chunks.padded_chunk_count(n * chunks.CHUNK_BYTES) for n in range(1, count + 1)}
    assert len(buckets) <= max(8, count.bit_length() ** 2)  # far fewer buckets than sizes


def test_the_same_plaintext_never_encrypts_the_same_way(key):
    assert len({encrypt(key, b"same evidence") for _ in range(50)}) == 50


def test_ciphertext_holds_none_of_the_plaintext(key):
    plaintext = b"Rustaveli Avenue 12, flat 4 " * 100
    blob = encrypt(key, plaintext)
    assert all(plaintext[i : i + 16] not in blob for i in range(0, len(plaintext) - 16, 7))


@pytest.fixture
def blob(key) -> bytes:
    return encrypt(key, bytes(range(200)) * 3)  # 600 bytes: 10 chunks, the last one padding


def test_every_flipped_bit_fails_closed(key, blob):
    for position in range(len(blob)):
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        with pytest.raises(CiphertextInvalid):
            decrypt(key, bytes(tampered))


def test_a_file_missing_its_last_chunk_is_detected_by_the_final_flag(key, blob):
    header, frames = split(blob)
    with pytest.raises(CiphertextInvalid, match="chunk 8"):
        decrypt(key, header + b"".join(frames[:-1]))


def test_a_file_cut_inside_a_chunk_or_to_its_header_fails(key, blob):
    for length in (len(blob) - 1, len(blob) - 20, chunks.HEADER_BYTES, chunks.HEADER_BYTES - 1, 3, 0):
        with pytest.raises(CiphertextInvalid):
            decrypt(key, blob[:length])


@pytest.mark.parametrize(
    "rearrange",
    [
        lambda frames: [frames[1], frames[0], *frames[2:]],
        lambda frames: [frames[0], frames[0], *frames[2:]],
        lambda frames: [*frames, frames[-1]],
        lambda frames: [frames[0], *frames[2:]],
        lambda frames: [*frames[:-1], frames[-2]],
    ],
    ids=["reordered", "duplicated", "final-chunk-repeated", "middle-dropped", "final-replaced"],
)
def test_chunks_reordered_duplicated_or_dropped_fail(key, blob, rearrange):
    header, frames = split(blob)
    with pytest.raises(CiphertextInvalid):
        decrypt(key, header + b"".join(rearrange(frames)))


def test_bytes_appended_after_the_last_chunk_fail(key, blob):
    with pytest.raises(CiphertextInvalid):
        decrypt(key, blob + b"\x00")


def test_a_file_moved_to_another_attachment_id_fails(key, blob):
    with pytest.raises(CiphertextInvalid):
        decrypt(key, blob, file_id="b" * 32)


def test_a_chunk_spliced_in_from_another_file_under_the_same_key_fails(key, blob):
    other = encrypt(key, bytes(range(200)) * 2)
    header, frames = split(blob)
    _, other_frames = split(other)
    with pytest.raises(CiphertextInvalid):
        decrypt(key, header + b"".join([other_frames[0], *frames[1:]]))


def test_another_key_fails(blob):
    with pytest.raises(CiphertextInvalid):
        decrypt(aead.new_key(), blob)


def test_the_key_version_in_the_header_is_bound(key):
    blob = encrypt(key, b"evidence", key_version=3)
    assert decrypt(key, blob) == b"evidence"
    relabelled = bytearray(blob)
    relabelled[5:7] = (4).to_bytes(2, "big")
    with pytest.raises(CiphertextInvalid):
        decrypt(key, bytes(relabelled))


@pytest.mark.parametrize(
    ("offset", "value", "message"),
    [(0, b"XPAT", "not an encrypted attachment"), (4, b"\x02", "unknown attachment format"),
     (7, (1 << 30).to_bytes(4, "big"), "chunk size out of range")],
)
def test_a_forged_header_is_refused_before_anything_is_allocated(key, blob, offset, value, message):
    forged = blob[:offset] + value + blob[offset + len(value) :]
    with pytest.raises(CiphertextInvalid, match=message):
        decrypt(key, forged)


class RecordingSink(io.BytesIO):
    def __init__(self) -> None:
        super().__init__()
        self.largest_write = 0

    def write(self, data) -> int:  # type: ignore[override]
        self.largest_write = max(self.largest_write, len(data))
        return super().write(data)


class RecordingSource(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.largest_read = 0

    def read(self, size: int | None = -1) -> bytes:
        assert size is not None and size >= 0, "the reader must never read without a bound"
        self.largest_read = max(self.largest_read, size)
        return super().read(size)

    def readinto(self, buffer: Any) -> int:
        self.largest_read = max(self.largest_read, len(buffer))
        return super().readinto(buffer)


def test_memory_stays_bounded_to_a_chunk_whatever_the_file_size(key):
    sink = RecordingSink()
    with chunks.EncryptingWriter(sink, key, file_id=FILE_ID, chunk_size=SMALL) as writer:
        writer.write(bytes(100 * SMALL))  # one large write is still cut into chunks
    frame = 4 + SMALL + chunks.TAG_BYTES
    assert sink.largest_write == frame
    source = RecordingSource(sink.getvalue())
    pieces = list(chunks.decrypt_chunks(source, key, file_id=FILE_ID))
    assert max(len(piece) for piece in pieces) == SMALL
    assert source.largest_read == frame


def test_an_unfinished_writer_leaves_a_file_that_never_decrypts(key):
    sink = io.BytesIO()
    with pytest.raises(RuntimeError), chunks.EncryptingWriter(sink, key, file_id=FILE_ID,
                                                               chunk_size=SMALL) as writer:
        writer.write(bytes(5 * SMALL))
        raise RuntimeError("client went away")
    with pytest.raises(CiphertextInvalid):
        decrypt(key, sink.getvalue())


def test_chunk_size_outside_the_bounds_is_refused(key):
    with pytest.raises(ValueError):
        chunks.EncryptingWriter(io.BytesIO(), key, file_id=FILE_ID, chunk_size=8)
