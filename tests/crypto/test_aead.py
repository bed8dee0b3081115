"""AES-256-GCM field encryption: round trips, place binding, tamper evidence, padding, fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reporter.crypto import CiphertextInvalid, aead

PLACE = {"table": "reports", "column": "description_ct", "row_id": "a" * 32}


@pytest.fixture(scope="module")
def key() -> bytes:
    return aead.new_key()


@pytest.fixture(scope="module")
def blob(key: bytes) -> bytes:
    return aead.encrypt_field(key, "Тайна: my address is 12 Rustaveli".encode(), **PLACE)


@pytest.mark.parametrize(
    "plaintext",
    [b"", b"x", "Пример: незнакомый мужчина ждёт меня у подъезда".encode(), bytes(range(256)), b"z" * 20000],
    ids=["empty", "one-byte", "cyrillic", "binary", "20k"],
)
def test_field_round_trips(key, plaintext):
    blob = aead.encrypt_field(key, plaintext, **PLACE)
    assert aead.decrypt_field(key, blob, **PLACE) == plaintext


def test_new_keys_are_256_bit_and_distinct():
    keys = {aead.new_key() for _ in range(100)}
    assert len(keys) == 100
    assert all(len(k) == 32 for k in keys)


@pytest.mark.parametrize(
    "place",
    [
        {**PLACE, "row_id": "b" * 32},
        {**PLACE, "column": "perpetrator_ct"},
        {**PLACE, "table": "notes"},
        {**PLACE, "row_id": "A" * 32},
    ],
    ids=["other-row", "other-column", "other-table", "row-id-case"],
)
def test_ciphertext_moved_to_another_place_fails(key, blob, place):
    with pytest.raises(CiphertextInvalid):
        aead.decrypt_field(key, blob, **place)


def test_ciphertext_relabelled_with_another_key_version_fails(key):
    blob = aead.encrypt_field(key, b"secret", key_version=1, **PLACE)
    relabelled = blob[:1] + (2).to_bytes(2, "big") + blob[3:]
    assert aead.field_key_version(relabelled) == 2
    with pytest.raises(CiphertextInvalid):
        aead.decrypt_field(key, relabelled, **PLACE)


def test_key_version_is_written_in_the_header_and_bound(key):
    blob = aead.encrypt_field(key, b"secret", key_version=7, **PLACE)
    assert aead.field_key_version(blob) == 7
    assert aead.decrypt_field(key, blob, **PLACE) == b"secret"


def test_ciphertext_under_another_key_fails(blob):
    with pytest.raises(CiphertextInvalid):
        aead.decrypt_field(aead.new_key(), blob, **PLACE)


def test_every_flipped_bit_is_detected(key, blob):
    for position in range(len(blob)):
        for bit in (0x01, 0x80):
            tampered = bytearray(blob)
            tampered[position] ^= bit
            with pytest.raises(CiphertextInvalid):
                aead.decrypt_field(key, bytes(tampered), **PLACE)


@pytest.mark.parametrize("keep", [0, 1, 3, 15, 30, -16, -1], ids=lambda n: f"keep{n}")
def test_truncated_ciphertext_fails(key, blob, keep):
    with pytest.raises(CiphertextInvalid):
        aead.decrypt_field(key, blob[:keep], **PLACE)


@pytest.mark.parametrize("suffix", [b"\x00", b"A" * 16, bytes(4096)], ids=["1", "16", "4096"])
def test_appended_bytes_fail(key, blob, suffix):
    with pytest.raises(CiphertextInvalid):
        aead.decrypt_field(key, blob + suffix, **PLACE)


def test_unknown_format_byte_fails_clearly(key, blob):
    with pytest.raises(CiphertextInvalid, match="format"):
        aead.decrypt_field(key, b"\x02" + blob[1:], **PLACE)


def test_ten_thousand_encryptions_of_one_plaintext_never_repeat_a_nonce(key):
    header, nonce = 3, aead.NONCE_BYTES
    blobs = [aead.encrypt_field(key, b"the same words", **PLACE) for _ in range(10_000)]
    assert len({b[header : header + nonce] for b in blobs}) == 10_000
    assert len(set(blobs)) == 10_000


@pytest.mark.parametrize(("short", "long"), [(1, 200), (0, 252), (253, 508), (2000, 2044)])
def test_padding_hides_the_exact_length(key, short, long):
    a = aead.encrypt_field(key, b"s" * short, **PLACE)
    b = aead.encrypt_field(key, b"l" * long, **PLACE)
    assert len(a) == len(b)


def test_lengths_fall_into_power_of_two_buckets(key):
    overhead = 3 + aead.NONCE_BYTES + 16
    sizes = {len(aead.encrypt_field(key, b"x" * n, **PLACE)) - overhead for n in range(0, 3000, 7)}
    assert sizes == {256, 512, 1024, 2048, 4096}


@pytest.mark.parametrize("padded", [b"", b"\x00\x00\x00", b"\x00\x00\x01\x00" + b"x" * 10])
def test_unpad_rejects_impossible_lengths(padded):
    with pytest.raises(CiphertextInvalid):
        aead.unpad(padded)


def test_bad_padding_inside_an_authentic_ciphertext_fails_clearly(key, monkeypatch):
    monkeypatch.setattr(aead, "pad", lambda plaintext: b"\xff\xff\xff\xff" + plaintext)
    blob = aead.encrypt_field(key, b"abc", **PLACE)
    monkeypatch.undo()
    with pytest.raises(CiphertextInvalid, match="padding"):
        aead.decrypt_field(key, blob, **PLACE)


@given(garbage=st.binary(max_size=600))
def test_random_bytes_raise_only_ciphertext_invalid(key, garbage):
    with pytest.raises(CiphertextInvalid):
        aead.decrypt_field(key, garbage, **PLACE)


@given(garbage=st.binary(min_size=31, max_size=600))
def test_random_bytes_behind_a_valid_header_raise_only_ciphertext_invalid(key, garbage):
    with pytest.raises(CiphertextInvalid):
        aead.decrypt_field(key, b"\x01\x00\x01" + garbage, **PLACE)


@given(plaintext=st.binary(max_size=3000), row_id=st.text(max_size=40), version=st.integers(0, 65535))
def test_every_plaintext_round_trips(key, plaintext, row_id, version):
    place = {**PLACE, "row_id": row_id}
    blob = aead.encrypt_field(key, plaintext, key_version=version, **place)
    assert aead.decrypt_field(key, blob, **place) == plaintext
