"""TOTP: drift of one step, replays refused, secrets encrypted and bound to their row."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest

from reporter.crypto import CiphertextInvalid
from reporter.staff import totp

NOW = datetime(2026, 3, 8, 12, 0, 10)


def _code(secret, at):
    return pyotp.TOTP(secret).at(at.replace(tzinfo=UTC))


def test_a_code_matches_its_step_and_one_step_either_side_only():
    secret = totp.new_secret()
    step = pyotp.TOTP(secret).timecode(NOW.replace(tzinfo=UTC))
    assert totp.matching_step(secret, _code(secret, NOW), now=NOW) == step
    assert totp.matching_step(secret, _code(secret, NOW - timedelta(seconds=30)), now=NOW) == step - 1
    assert totp.matching_step(secret, _code(secret, NOW + timedelta(seconds=30)), now=NOW) == step + 1
    assert totp.matching_step(secret, _code(secret, NOW - timedelta(seconds=90)), now=NOW) is None


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "１２３４５６", "12 34 5"])
def test_malformed_codes_never_match(typed):
    assert totp.normalise_code(typed) is None or len(totp.normalise_code(typed) or "") == 6
    assert totp.matching_step(totp.new_secret(), typed, now=NOW) is None


def test_spaces_in_a_code_are_ignored():
    secret = totp.new_secret()
    code = _code(secret, NOW)
    assert totp.matching_step(secret, f" {code[:3]} {code[3:]} ", now=NOW) is not None


def test_secret_is_encrypted_and_bound_to_the_staff_row():
    key = bytes(range(32))
    blob = totp.encrypt_secret(key, "JBSWY3DPEHPK3PXP", staff_id="alice")
    assert b"JBSWY3DPEHPK3PXP" not in blob
    assert totp.decrypt_secret(key, blob, staff_id="alice") == "JBSWY3DPEHPK3PXP"
    with pytest.raises(CiphertextInvalid):
        totp.decrypt_secret(key, blob, staff_id="mallory")
    with pytest.raises(ValueError):
        totp.encrypt_secret(b"", "JBSWY3DPEHPK3PXP", staff_id="alice")


def test_qr_code_is_plain_inline_svg():
    svg = totp.qr_svg(totp.provisioning_uri(totp.new_secret(), email="a@example.org"))
    assert svg.startswith("<svg") and "<script" not in svg and "style=" not in svg and "href" not in svg
