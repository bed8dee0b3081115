"""Private-key wrapping: argon2id for passwords, HKDF for recovery codes, bound to row and column."""

from __future__ import annotations

import pytest

from reporter.crypto import CiphertextInvalid, wrapping

FAST = wrapping.MINIMAL_PARAMS


def test_password_wrap_opens_only_with_the_same_password_salt_and_params():
    salt = wrapping.new_salt()
    key = wrapping.password_key("a long enough passphrase", salt=salt, params=FAST)
    wrapped = wrapping.wrap(key, b"private", staff_id="s1", column=wrapping.PASSWORD_COLUMN)
    same = wrapping.password_key("a long enough passphrase", salt=salt, params=FAST)
    assert wrapping.unwrap(same, wrapped, staff_id="s1", column=wrapping.PASSWORD_COLUMN) == b"private"
    for other in (wrapping.password_key("another passphrase!!", salt=salt, params=FAST),
                  wrapping.password_key("a long enough passphrase", salt=wrapping.new_salt(), params=FAST)):
        with pytest.raises(CiphertextInvalid):
            wrapping.unwrap(other, wrapped, staff_id="s1", column=wrapping.PASSWORD_COLUMN)


def test_wrap_moved_to_another_person_or_column_does_not_open():
    key = wrapping.password_key("a long enough passphrase", salt=b"s" * 16, params=FAST)
    wrapped = wrapping.wrap(key, b"private", staff_id="alice", column=wrapping.PASSWORD_COLUMN)
    with pytest.raises(CiphertextInvalid):
        wrapping.unwrap(key, wrapped, staff_id="mallory", column=wrapping.PASSWORD_COLUMN)
    with pytest.raises(CiphertextInvalid):
        wrapping.unwrap(key, wrapped, staff_id="alice", column=wrapping.RECOVERY_COLUMN)


def test_unicode_passwords_are_normalised_before_derivation():
    composed, decomposed = "pass\u00e9word-long-enough", "passe\u0301word-long-enough"
    salt = wrapping.new_salt()
    assert (wrapping.password_key(composed, salt=salt, params=FAST)
            == wrapping.password_key(decomposed, salt=salt, params=FAST))


def test_recovery_codes_carry_130_bits_and_tolerate_typing():
    code = wrapping.new_recovery_code()
    assert len(code) == 26 and len({wrapping.new_recovery_code() for _ in range(100)}) == 100
    typed = wrapping.display_recovery_code(code).lower().replace("-", " - ")
    assert wrapping.normalise_recovery_code(typed) == code
    for bad in ("", "short", code + "X", "U" * 26):
        with pytest.raises(CiphertextInvalid):
            wrapping.normalise_recovery_code(bad)


def test_kdf_params_round_trip_and_refuse_garbage():
    assert wrapping.KdfParams.decode(wrapping.DEFAULT_PARAMS.encode()) == wrapping.DEFAULT_PARAMS
    assert wrapping.DEFAULT_PARAMS.memory_kib >= 19456 and wrapping.DEFAULT_PARAMS.time_cost >= 2
    for bad in ("", "argon2i:m=1,t=1,p=1", "argon2id:m=x,t=1,p=1"):
        with pytest.raises(CiphertextInvalid):
            wrapping.KdfParams.decode(bad)
