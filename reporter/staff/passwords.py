"""Password rules and password hashing for staff accounts.

The rules follow NIST SP 800-63B: a minimum length (12), no composition rules, and a check against a
list of passwords known to be common (``reporter/data/common-passwords.txt``). A password is refused
if, lower-cased, it is on the list, or is a listed password with digits and symbols added before or
after it (``Sunshine2024!``), or a repetition of a short piece (``abcabcabcabc``), or the person's
own e-mail address.

Hashing uses argon2id through argon2-cffi's PasswordHasher with the same cost as key wrapping
(reporter.crypto.wrapping). Unknown e-mail addresses are checked against a dummy hash of the same
cost, so a failed login takes the same time whether or not the account exists.
"""

from __future__ import annotations

import functools
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from reporter.crypto.wrapping import KdfParams, normalise_password

MIN_LENGTH = 12
MAX_LENGTH = 1024
_AFFIXES = "0123456789!@#$%^&*()_-+=.,;:?~ "


class PasswordRejected(ValueError):
    """The new password breaks a rule; `reason` names which (too_short, too_long, common, email)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@functools.cache
def common_passwords() -> frozenset[str]:
    """Return the shipped list of common passwords, lower-cased."""
    text = resources.files("reporter").joinpath("data/common-passwords.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line and not line.startswith("#"))


def _is_repetition(text: str) -> bool:
    return any(len(text) % size == 0 and text == text[:size] * (len(text) // size) for size in range(1, 5))


def check_new_password(password: str, *, email: str = "") -> None:
    """Raise PasswordRejected if `password` may not be chosen."""
    if len(password) < MIN_LENGTH:
        raise PasswordRejected("too_short")
    if len(password) > MAX_LENGTH:
        raise PasswordRejected("too_long")
    lowered = normalise_password(password).decode().lower()
    listed = common_passwords()
    core = lowered.strip(_AFFIXES)
    squeezed = lowered.replace(" ", "")
    if {lowered, core, squeezed} & listed or _is_repetition(lowered):
        raise PasswordRejected("common")
    if email and (lowered == email.lower() or lowered == email.lower().partition("@")[0]):
        raise PasswordRejected("email")


def hasher(params: KdfParams) -> PasswordHasher:
    """Return a PasswordHasher with the given argon2id cost."""
    return _hasher(params.time_cost, params.memory_kib, params.parallelism)


@functools.cache
def _hasher(time_cost: int, memory_kib: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def hash_password(password: str, params: KdfParams) -> str:
    """Return the argon2id PHC string of a password."""
    return hasher(params).hash(normalise_password(password))


@functools.cache
def _dummy_hash(params: KdfParams) -> str:
    return hash_password("reporter dummy password, never valid", params)


def verify_password(stored_hash: str | None, password: str, params: KdfParams) -> bool:
    """Check a password against its hash; with no hash, spend the same time and return False."""
    if len(password) > MAX_LENGTH:  # no password this long can be set; spend the time all the same
        stored_hash, password = None, password[:MAX_LENGTH]
    candidate = normalise_password(password)
    target = stored_hash or _dummy_hash(params)
    try:
        ok = hasher(params).verify(target, candidate)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and stored_hash is not None


def needs_rehash(stored_hash: str, params: KdfParams) -> bool:
    """Tell whether a stored hash was made with other parameters than the current ones."""
    return hasher(params).check_needs_rehash(stored_hash)
