"""Wrapping a staff private key under a password (argon2id) or a recovery code (HKDF).

A staff member's private key opens every case sealed to them, so it is stored only wrapped:

* under a key derived from their password with argon2id (memory-hard, per-user random salt, the
  parameters stored beside the wrap so they can be raised later and old wraps still open);
* under a key derived from their one-time recovery code with HKDF: the code carries 130 random bits,
  so a slow KDF would add latency and no strength.

Both wraps are AES-256-GCM whose associated data names the table, the column and the staff id, so a
wrap copied to another person's row (or swapped between the password and recovery columns) does not
open. Passwords are normalised to Unicode NFKC first, so the same password typed on two keyboards
derives the same key.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw

from reporter.crypto import CiphertextInvalid, aead
from reporter.crypto.kdf import hkdf
from reporter.crypto.receipts import ALPHABET

SALT_BYTES = 16
TABLE = "staff_members"
PASSWORD_COLUMN = "private_key_pw_ct"  # noqa: S105 - a column name
RECOVERY_COLUMN = "private_key_rc_ct"
RECOVERY_LENGTH = 26  # Crockford base32 characters: 130 bits
_PARAMS = re.compile(r"^argon2id:m=(\d+),t=(\d+),p=(\d+)$")
_RECOVERY_DECODE = {c: c for c in ALPHABET} | {"I": "1", "L": "1", "O": "0"}


@dataclass(frozen=True)
class KdfParams:
    """Argon2id cost: memory in KiB, iterations, lanes."""

    memory_kib: int
    time_cost: int
    parallelism: int

    def encode(self) -> str:
        """Return the text stored beside a wrap, e.g. ``argon2id:m=65536,t=3,p=4``."""
        return f"argon2id:m={self.memory_kib},t={self.time_cost},p={self.parallelism}"

    @classmethod
    def decode(cls, text: str) -> KdfParams:
        """Parse stored parameters; raise CiphertextInvalid for anything else."""
        match = _PARAMS.match(text)
        if not match:
            raise CiphertextInvalid("unknown key-derivation parameters")
        memory, time_cost, lanes = (int(group) for group in match.groups())
        return cls(memory, time_cost, lanes)


#: RFC 9106's second recommended option (argon2-cffi's default profile): 64 MiB, 3 passes, 4 lanes.
#: Stronger than OWASP's floor (19 MiB, 2 passes); see docs/security-staff.md for the measurements.
DEFAULT_PARAMS = KdfParams(memory_kib=65536, time_cost=3, parallelism=4)
#: Only for tests and the benchmark's baseline: argon2id's minimum cost.
MINIMAL_PARAMS = KdfParams(memory_kib=8, time_cost=1, parallelism=1)


def normalise_password(password: str) -> bytes:
    """Return the bytes a password is hashed as: Unicode NFKC, UTF-8."""
    return unicodedata.normalize("NFKC", password).encode("utf-8")


def new_salt() -> bytes:
    """Return a fresh random salt."""
    return secrets.token_bytes(SALT_BYTES)


def password_key(password: str, *, salt: bytes, params: KdfParams) -> bytes:
    """Derive the 256-bit key that wraps a private key from a password with argon2id."""
    return hash_secret_raw(
        normalise_password(password), salt, time_cost=params.time_cost, memory_cost=params.memory_kib,
        parallelism=params.parallelism, hash_len=32, type=Type.ID,
    )


def new_recovery_code() -> str:
    """Return a fresh recovery code: 26 Crockford base32 characters (130 random bits)."""
    value = secrets.randbits(5 * RECOVERY_LENGTH)
    return "".join(ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(RECOVERY_LENGTH)))


def normalise_recovery_code(text: str) -> str:
    """Return the canonical recovery code for user input (spaces, dashes and case ignored)."""
    cleaned = "".join(ch for ch in text.upper() if ch not in " -\t\r\n")
    if len(cleaned) != RECOVERY_LENGTH or any(ch not in _RECOVERY_DECODE for ch in cleaned):
        raise CiphertextInvalid("not a recovery code")
    return "".join(_RECOVERY_DECODE[ch] for ch in cleaned)


def display_recovery_code(code: str) -> str:
    """Return a recovery code in groups of four or fewer characters, for writing down."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def recovery_key(code: str, *, salt: bytes, staff_id: str) -> bytes:
    """Derive the key that wraps a private key from a recovery code."""
    return hkdf(code.encode(), salt=salt, info=b"reporter/staff-recovery/v1|" + staff_id.encode())


def wrap(key: bytes, private_key: bytes, *, staff_id: str, column: str) -> bytes:
    """Encrypt a private key for one staff member's row and wrap column."""
    return aead.encrypt_field(key, private_key, table=TABLE, column=column, row_id=staff_id)


def unwrap(key: bytes, wrapped: bytes, *, staff_id: str, column: str) -> bytes:
    """Decrypt a wrapped private key; raise CiphertextInvalid when the key or the place is wrong."""
    return aead.decrypt_field(key, wrapped, table=TABLE, column=column, row_id=staff_id)
