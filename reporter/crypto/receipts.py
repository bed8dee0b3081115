"""Receipts: the reporter's only credential.

A receipt is 20 characters of Crockford base32, i.e. 100 bits from `secrets`, shown as five groups of
four. The server stores only HMAC(instance receipt key, receipt) as a lookup id, and a seal of the
report's data key under HKDF(receipt, per-report salt). Someone holding the database but not the
instance key cannot even test a guess; someone holding both must still search 2^100 receipts. Because
the receipt is uniformly random, HKDF suffices: a slow password KDF would add latency and nothing else.
"""

from __future__ import annotations

import secrets

from reporter.crypto.kdf import hkdf, keyed_digest

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 20
BITS = 100
_DECODE = {c: c for c in ALPHABET} | {"I": "1", "L": "1", "O": "0"}


class ReceiptMalformed(ValueError):
    """The text given cannot be a receipt (wrong length or characters)."""


def new_receipt() -> str:
    """Return a fresh receipt of 20 Crockford base32 characters (100 random bits)."""
    value = secrets.randbits(BITS)
    return "".join(ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(LENGTH)))


def normalise(text: str) -> str:
    """Return the canonical receipt for user input; spaces, dashes and case are ignored."""
    cleaned = "".join(ch for ch in text.upper() if ch not in " -\t\r\n")
    if len(cleaned) != LENGTH:
        raise ReceiptMalformed("wrong length")
    try:
        return "".join(_DECODE[ch] for ch in cleaned)
    except KeyError:
        raise ReceiptMalformed("unexpected character") from None


def display(receipt: str) -> str:
    """Return the receipt in five groups of four, as shown to the reporter."""
    return "-".join(receipt[i : i + 4] for i in range(0, LENGTH, 4))


def lookup_id(lookup_key: bytes, receipt: str) -> str:
    """Return the keyed lookup id under which the report of `receipt` is stored."""
    return keyed_digest(lookup_key, b"reporter/receipt-lookup/v1|" + receipt.encode()).hex()


def seal_key(receipt: str, *, salt: bytes, report_id: str) -> bytes:
    """Derive the key that seals a report's data key to its reporter."""
    return hkdf(receipt.encode(), salt=salt, info=b"reporter/receipt-seal/v1|" + report_id.encode())
