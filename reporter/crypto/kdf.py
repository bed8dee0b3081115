"""Key derivation: HKDF-SHA256 for high-entropy inputs and HMAC-SHA256 for keyed lookups."""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def hkdf(secret: bytes, *, salt: bytes, info: bytes, length: int = 32) -> bytes:
    """Derive `length` bytes from a high-entropy `secret` (no slow KDF needed)."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(secret)


def keyed_digest(key: bytes, message: bytes) -> bytes:
    """Return HMAC-SHA256(key, message)."""
    mac = hmac.HMAC(key, hashes.SHA256())
    mac.update(message)
    return mac.finalize()
