"""Password rules: length and a list of common passwords, no composition rules; hashing."""

from __future__ import annotations

import pytest

from reporter.crypto.wrapping import MINIMAL_PARAMS
from reporter.staff import passwords


@pytest.mark.parametrize("password", [
    "violet kettle harbour mist", "monkey-business-42", "Пароль-длинный-2024", "aaaa bbbb cccc d",
])
def test_long_uncommon_passwords_are_accepted_without_composition_rules(password):
    passwords.check_new_password(password, email="someone@example.org")


@pytest.mark.parametrize(("password", "reason"), [
    ("short pass", "too_short"),
    ("x" * 1025, "too_long"),
    ("password1234", "common"),
    ("Sunshine2024!!", "common"),
    ("qwertyuiop123", "common"),
    ("abcabcabcabc", "common"),
    ("correcthorsebatterystaple", "common"),
    ("someone@example.org", "email"),
])
def test_weak_passwords_are_refused_with_a_reason(password, reason):
    with pytest.raises(passwords.PasswordRejected) as refused:
        passwords.check_new_password(password, email="someone@example.org")
    assert refused.value.reason == reason


def test_the_shipped_list_holds_thousands_of_common_passwords():
    listed = passwords.common_passwords()
    assert len(listed) >= 10_000
    assert {"123456", "password", "qwerty", "iloveyou"} <= listed


def test_hash_verifies_only_the_right_password_and_unknown_hash_is_false():
    stored = passwords.hash_password("a long enough passphrase", MINIMAL_PARAMS)
    assert stored.startswith("$argon2id$")
    assert passwords.verify_password(stored, "a long enough passphrase", MINIMAL_PARAMS)
    assert not passwords.verify_password(stored, "a long enough passphrasE", MINIMAL_PARAMS)
    assert not passwords.verify_password(None, "a long enough passphrase", MINIMAL_PARAMS)
    assert not passwords.verify_password("not a hash", "a long enough passphrase", MINIMAL_PARAMS)
    too_long = "x" * 1024
    assert not passwords.verify_password(passwords.hash_password(too_long, MINIMAL_PARAMS), too_long + "y",
                                         MINIMAL_PARAMS)
