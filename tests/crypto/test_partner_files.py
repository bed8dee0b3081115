"""Partner key files and export files: they open only with the partner's key and unchanged."""

from __future__ import annotations

import pytest

from reporter.crypto import partner_files, seals, wrapping

FIELDS = {"description": "A threat sent to me on Telegram.", "contact": "Signal only"}
FILES = [({"name": "shot.png", "kind": "png", "extension": ".png"}, b"\x89PNG picture bytes")]


def _export(pair: seals.KeyPair) -> bytes:
    return partner_files.seal_export(export_id="e" * 32, partner_public=pair.public, suite=pair.suite,
                                     created="2026-12-06", fields=FIELDS, files=FILES)


@pytest.fixture(scope="module")
def pair() -> seals.KeyPair:
    return seals.generate_keypair()


def test_an_export_opens_with_the_partner_key_and_holds_no_plaintext(pair):
    data = _export(pair)
    assert b"Telegram" not in data and b"PNG picture" not in data and b"Signal" not in data
    opened = partner_files.open_export(data, pair)
    assert opened.fields == FIELDS
    assert [(meta["name"], body) for meta, body in opened.files] == [("shot.png", b"\x89PNG picture bytes")]
    assert opened.header["partner"] == partner_files.fingerprint(pair.public, pair.suite)


def test_another_partner_key_does_not_open_it(pair):
    other = seals.generate_keypair()
    with pytest.raises(partner_files.PartnerFileInvalid, match="another key"):
        partner_files.open_export(_export(pair), other)
    # even with the header rewritten to name the other key, the seal does not open
    data = _export(pair).replace(partner_files.fingerprint(pair.public, pair.suite).encode(),
                                 partner_files.fingerprint(other.public, other.suite).encode())
    with pytest.raises(partner_files.PartnerFileInvalid, match="does not open"):
        partner_files.open_export(data, other)


@pytest.mark.parametrize("where", ["header", "seal", "body", "end"])
def test_a_changed_byte_is_refused(pair, where):
    data = bytearray(_export(pair))
    header_end = data.index(b"\n")
    position = {"header": data.index(b"2026-12-06") + 9, "seal": header_end + 10, "body": len(data) - 40,
                "end": len(data) - 1}[where]
    data[position] ^= 0x01
    with pytest.raises(partner_files.PartnerFileInvalid):
        partner_files.open_export(bytes(data), pair)


def test_a_cut_or_foreign_file_is_refused(pair):
    data = _export(pair)
    for broken in (data[:50], data[:data.index(b"\n") + 3], b"hello\nworld", b"", b"\xff" * 100):
        with pytest.raises(partner_files.PartnerFileInvalid):
            partner_files.open_export(broken, pair)


def test_the_private_key_file_needs_its_passphrase(pair):
    text = partner_files.private_key_text(pair, "a long passphrase here", wrapping.MINIMAL_PARAMS)
    assert partner_files.read_private_key(text, "a long passphrase here") == pair
    with pytest.raises(partner_files.PartnerFileInvalid, match="passphrase"):
        partner_files.read_private_key(text, "another passphrase")
    with pytest.raises(partner_files.PartnerFileInvalid):
        partner_files.read_private_key(text.replace("fingerprint: ", "fingerprint: 00"),
                                       "a long passphrase here")


def test_public_key_files_are_checked(pair):
    text = partner_files.public_key_text(pair.public, pair.suite)
    assert partner_files.read_public_key(text) == (pair.public, pair.suite)
    for bad in ("", "garbage", text.replace("key: ", "key: !!"), text.replace(pair.suite, "ROT13"),
                text.replace("key: ", "key: AAAA"), "x" * (partner_files.MAX_PUBLIC_TEXT + 1)):
        with pytest.raises(partner_files.PartnerFileInvalid):
            partner_files.read_public_key(bad)
