"""HPKE seals of data keys: round trips per suite, info binding, wrong keys, unknown suites, fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reporter.crypto import CiphertextInvalid, seals

SUITES = [seals.HYBRID, seals.CLASSIC]
DATA_KEY = bytes(range(32))
INFO = seals.seal_info("r" * 32, "escrow:0123456789abcdef", 1)


@pytest.fixture(scope="module", params=SUITES, ids=["hybrid", "classic"])
def pair(request) -> seals.KeyPair:
    return seals.generate_keypair(request.param)


@pytest.fixture(scope="module")
def sealed(pair: seals.KeyPair) -> bytes:
    return seals.seal(DATA_KEY, pair.public, info=INFO, suite=pair.suite)


def test_default_suite_is_the_post_quantum_hybrid():
    assert seals.DEFAULT_SUITE == seals.HYBRID
    assert seals.generate_keypair().suite == seals.HYBRID


def test_seal_round_trips(pair, sealed):
    assert seals.open_seal(sealed, pair.private, info=INFO, suite=pair.suite) == DATA_KEY


def test_public_key_is_derived_from_the_private_key(pair):
    assert seals.public_key_of(pair.private, pair.suite) == pair.public


def test_hybrid_keys_have_the_documented_raw_sizes():
    pair = seals.generate_keypair(seals.HYBRID)
    assert (len(pair.private), len(pair.public)) == (64 + 32, 1184 + 32)


def test_two_seals_of_one_key_differ(pair):
    first = seals.seal(DATA_KEY, pair.public, info=INFO, suite=pair.suite)
    second = seals.seal(DATA_KEY, pair.public, info=INFO, suite=pair.suite)
    assert first != second
    assert DATA_KEY not in first


@pytest.mark.parametrize(
    "info",
    [
        seals.seal_info("s" * 32, "escrow:0123456789abcdef", 1),
        seals.seal_info("r" * 32, "escrow:fedcba9876543210", 1),
        seals.seal_info("r" * 32, "escrow:0123456789abcdef", 2),
        b"",
    ],
    ids=["other-report", "other-recipient", "other-version", "no-info"],
)
def test_seal_opened_for_another_report_recipient_or_version_fails(pair, sealed, info):
    with pytest.raises(CiphertextInvalid):
        seals.open_seal(sealed, pair.private, info=info, suite=pair.suite)


def test_seal_info_names_report_recipient_and_version():
    assert seals.seal_info("abc", "staff:7", 3) == b"reporter/seal/v1|report:abc|recipient:staff:7|version:3"


def test_another_private_key_of_the_same_suite_does_not_open(pair, sealed):
    stranger = seals.generate_keypair(pair.suite)
    with pytest.raises(CiphertextInvalid):
        seals.open_seal(sealed, stranger.private, info=INFO, suite=pair.suite)


def test_private_key_of_another_suite_fails_clearly(pair, sealed):
    other = seals.CLASSIC if pair.suite == seals.HYBRID else seals.HYBRID
    stranger = seals.generate_keypair(other)
    with pytest.raises(CiphertextInvalid):
        seals.open_seal(sealed, stranger.private, info=INFO, suite=pair.suite)


def test_seal_opened_under_the_wrong_suite_fails(pair, sealed):
    other = seals.CLASSIC if pair.suite == seals.HYBRID else seals.HYBRID
    with pytest.raises(CiphertextInvalid):
        seals.open_seal(sealed, pair.private, info=INFO, suite=other)


@pytest.mark.parametrize(
    "suite", ["", "RSA-OAEP", "mlkem768_x25519-hkdf_sha256-aes_256_gcm", "RECEIPT-HKDF_SHA256-AES_256_GCM"]
)
def test_unknown_suite_fails_clearly(pair, sealed, suite):
    with pytest.raises(CiphertextInvalid, match="unknown seal suite"):
        seals.open_seal(sealed, pair.private, info=INFO, suite=suite)
    with pytest.raises(CiphertextInvalid, match="unknown seal suite"):
        seals.seal(DATA_KEY, pair.public, info=INFO, suite=suite)
    with pytest.raises(CiphertextInvalid, match="unknown seal suite"):
        seals.generate_keypair(suite)


@pytest.mark.parametrize(
    "public", [b"", b"\x00" * 31, b"\x01" * 1215, b"\x01" * 1217], ids=lambda b: f"{len(b)}-bytes"
)
def test_malformed_public_key_is_refused(public):
    with pytest.raises(CiphertextInvalid, match="public key"):
        seals.seal(DATA_KEY, public, info=INFO, suite=seals.HYBRID)


@pytest.mark.parametrize("private", [b"", b"\x00" * 95, b"\x00" * 97], ids=lambda b: f"{len(b)}-bytes")
def test_malformed_private_key_is_refused(sealed, private):
    with pytest.raises(CiphertextInvalid, match="private key"):
        seals.open_seal(sealed, private, info=INFO, suite=seals.HYBRID)


def test_every_flipped_byte_of_a_seal_is_detected(pair, sealed):
    step = max(1, len(sealed) // 64)
    for position in [*range(0, len(sealed), step), len(sealed) - 1]:
        tampered = bytearray(sealed)
        tampered[position] ^= 0x01
        with pytest.raises(CiphertextInvalid):
            seals.open_seal(bytes(tampered), pair.private, info=INFO, suite=pair.suite)


@pytest.mark.parametrize("change", ["truncate-1", "truncate-16", "append-1", "empty"])
def test_truncated_or_extended_seal_fails(pair, sealed, change):
    changed = {
        "truncate-1": sealed[:-1],
        "truncate-16": sealed[:-16],
        "append-1": sealed + b"\x00",
        "empty": b"",
    }[change]
    with pytest.raises(CiphertextInvalid):
        seals.open_seal(changed, pair.private, info=INFO, suite=pair.suite)


@given(garbage=st.binary(max_size=1400))
def test_random_bytes_as_a_seal_raise_only_ciphertext_invalid(pair, garbage):
    with pytest.raises(CiphertextInvalid):
        seals.open_seal(garbage, pair.private, info=INFO, suite=pair.suite)


@given(private=st.binary(max_size=120), suite=st.sampled_from([*SUITES, "bogus"]))
def test_random_private_keys_raise_only_ciphertext_invalid(sealed, private, suite):
    with pytest.raises(CiphertextInvalid):
        seals.open_seal(sealed, private, info=INFO, suite=suite)
