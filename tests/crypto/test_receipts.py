"""Receipts: 100 random bits as 20 Crockford characters, tolerant parsing, keyed lookup, seal keys."""

from __future__ import annotations

import secrets

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reporter.crypto import receipts

RECEIPT = "0123456789ABCDEFGHJK"


def test_receipt_is_twenty_crockford_characters():
    receipt = receipts.new_receipt()
    assert len(receipt) == 20
    assert set(receipt) <= set(receipts.ALPHABET)
    assert len(receipts.ALPHABET) == 32
    assert not set("ILOU") & set(receipts.ALPHABET)


def test_receipt_encodes_exactly_one_hundred_random_bits(monkeypatch):
    asked: list[int] = []

    def randbits(bits: int) -> int:
        asked.append(bits)
        return (1 << bits) - 1

    monkeypatch.setattr(secrets, "randbits", randbits)
    assert receipts.new_receipt() == "Z" * 20
    assert asked == [100]
    monkeypatch.setattr(secrets, "randbits", lambda bits: 0)
    assert receipts.new_receipt() == "0" * 20
    monkeypatch.setattr(secrets, "randbits", lambda bits: 1 << 99)
    assert receipts.new_receipt() == "G" + "0" * 19


def test_every_character_position_carries_all_32_symbols():
    drawn = [receipts.new_receipt() for _ in range(3000)]
    assert len(set(drawn)) == len(drawn)
    for position in range(20):
        assert {receipt[position] for receipt in drawn} == set(receipts.ALPHABET)


def test_display_shows_five_groups_of_four():
    assert receipts.display(RECEIPT) == "0123-4567-89AB-CDEF-GHJK"


@pytest.mark.parametrize(
    "typed",
    [
        "0123-4567-89AB-CDEF-GHJK",
        "0123456789abcdefghjk",
        "0123 4567 89ab cdef ghjk",
        "  0123-4567-89ab-CDEF-GHJK\n",
        "0-1-2-3-4-5-6-7-8-9-A-B-C-D-E-F-G-H-J-K",
        "\t0123\t4567\r\n89AB CDEF GHJK",
        "O123-4567-89AB-CDEF-GHJK",
        "o123-4567-89AB-CDEF-GHJK",
    ],
)
def test_normalise_ignores_spaces_dashes_and_case(typed):
    assert receipts.normalise(typed) == RECEIPT


@pytest.mark.parametrize(("typed", "canonical"), [("I", "1"), ("i", "1"), ("L", "1"), ("l", "1"), ("O", "0")])
def test_normalise_reads_look_alike_letters_as_digits(typed, canonical):
    assert receipts.normalise(typed * 20) == canonical * 20


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "0123456789ABCDEFGHJ",
        "0123456789ABCDEFGHJKM",
        "0123-4567-89AB-CDEF",
        "U123456789ABCDEFGHJK",
        "!123456789ABCDEFGHJK",
        "_123456789ABCDEFGHJK",
        "А123456789ABCDEFGHJK",  # Cyrillic А looks like Latin A
        "０123456789ABCDEFGHJK",  # full-width zero
        "0123456789ABCDEFGHJ\x00",
        "0123.4567.89AB.CDEF.GHJK",
    ],
    ids=["empty", "19", "21", "16", "U", "bang", "underscore", "cyrillic", "fullwidth", "nul", "dots"],
)
def test_normalise_rejects_wrong_length_or_characters(typed):
    with pytest.raises(receipts.ReceiptMalformed):
        receipts.normalise(typed)


def test_malformed_receipt_is_a_value_error():
    assert issubclass(receipts.ReceiptMalformed, ValueError)


def test_lookup_id_is_keyed_and_hides_the_receipt():
    key, other_key = secrets.token_bytes(32), secrets.token_bytes(32)
    lookup = receipts.lookup_id(key, RECEIPT)
    assert lookup == receipts.lookup_id(key, RECEIPT)
    assert len(lookup) == 64 and int(lookup, 16) >= 0
    assert lookup != receipts.lookup_id(other_key, RECEIPT)
    assert lookup != receipts.lookup_id(key, "0123456789ABCDEFGHJM")
    assert RECEIPT not in lookup.upper()


def test_seal_key_depends_on_receipt_salt_and_report():
    base = receipts.seal_key(RECEIPT, salt=b"s" * 16, report_id="r1")
    assert len(base) == 32
    assert base == receipts.seal_key(RECEIPT, salt=b"s" * 16, report_id="r1")
    variants = {
        receipts.seal_key("0123456789ABCDEFGHJM", salt=b"s" * 16, report_id="r1"),
        receipts.seal_key(RECEIPT, salt=b"t" * 16, report_id="r1"),
        receipts.seal_key(RECEIPT, salt=b"s" * 16, report_id="r2"),
    }
    assert base not in variants and len(variants) == 3


@given(st.text(max_size=60))
def test_normalise_of_any_text_returns_a_receipt_or_raises_malformed(text):
    try:
        result = receipts.normalise(text)
    except receipts.ReceiptMalformed:
        return
    assert len(result) == 20 and set(result) <= set(receipts.ALPHABET)


@given(st.binary(max_size=60))
def test_normalise_of_random_bytes_decoded_leniently_raises_only_malformed(raw):
    text = raw.decode("utf-8", "replace")
    try:
        receipts.normalise(text)
    except receipts.ReceiptMalformed:
        pass


@given(st.text(alphabet=receipts.ALPHABET, min_size=20, max_size=20))
def test_displayed_receipt_normalises_back(receipt):
    assert receipts.normalise(receipts.display(receipt)) == receipt
    assert receipts.normalise(receipts.display(receipt).lower()) == receipt
