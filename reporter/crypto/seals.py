"""HPKE seals (RFC 9180) of a report's data key to a recipient's public key.

The default suite is the hybrid post-quantum KEM ML-KEM-768 + X25519 with HKDF-SHA256 and AES-256-GCM:
a data key recorded today by an adversary who later owns a quantum computer stays sealed as long as
either ML-KEM or X25519 holds. The suite name is stored with every seal and every key, so a later
suite can be added here without touching stored data.

Key encodings (raw bytes, no container): a hybrid private key is the 64-byte ML-KEM seed followed by
the 32-byte X25519 private key; a hybrid public key is the 1184-byte ML-KEM public key followed by
the 32-byte X25519 public key. X25519-only keys are their 32 raw bytes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from reporter.crypto import CiphertextInvalid

HYBRID = "MLKEM768_X25519-HKDF_SHA256-AES_256_GCM"
CLASSIC = "X25519-HKDF_SHA256-AES_256_GCM"
DEFAULT_SUITE = HYBRID

_SUITES = {
    HYBRID: hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM),
    CLASSIC: hpke.Suite(hpke.KEM.X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM),
}
_MLKEM_SEED = 64
_MLKEM_PUBLIC = 1184
_X25519 = 32


@dataclass(frozen=True)
class KeyPair:
    """A recipient key pair in its raw encoding, with the suite it belongs to."""

    suite: str
    private: bytes
    public: bytes


def _suite(name: str) -> hpke.Suite:
    try:
        return _SUITES[name]
    except KeyError:
        raise CiphertextInvalid(f"unknown seal suite {name!r}") from None


def generate_keypair(suite: str = DEFAULT_SUITE) -> KeyPair:
    """Generate a recipient key pair for `suite`."""
    _suite(suite)
    x_private = x25519.X25519PrivateKey.generate()
    x_raw = x_private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    x_public = x_private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    if suite == CLASSIC:
        return KeyPair(suite, x_raw, x_public)
    m_private = mlkem.MLKEM768PrivateKey.generate()
    return KeyPair(
        suite,
        m_private.private_bytes_raw() + x_raw,
        m_private.public_key().public_bytes_raw() + x_public,
    )


def public_key_of(private: bytes, suite: str = DEFAULT_SUITE) -> bytes:
    """Return the public key that belongs to a raw private key."""
    _private_key(private, suite)  # validates the encoding
    if suite == CLASSIC:
        classic = x25519.X25519PrivateKey.from_private_bytes(private)
        return classic.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    m_private = mlkem.MLKEM768PrivateKey.from_seed_bytes(private[:_MLKEM_SEED])
    x_public = x25519.X25519PrivateKey.from_private_bytes(private[_MLKEM_SEED:]).public_key()
    return m_private.public_key().public_bytes_raw() + x_public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _private_key(private: bytes, suite: str) -> object:
    try:
        if suite == CLASSIC:
            return x25519.X25519PrivateKey.from_private_bytes(private)
        if len(private) != _MLKEM_SEED + _X25519:
            raise ValueError("wrong private key length")
        return hpke.MLKEM768X25519PrivateKey(
            mlkem.MLKEM768PrivateKey.from_seed_bytes(private[:_MLKEM_SEED]),
            x25519.X25519PrivateKey.from_private_bytes(private[_MLKEM_SEED:]),
        )
    except ValueError as exc:
        raise CiphertextInvalid("private key does not fit the suite") from exc


@functools.lru_cache(maxsize=256)
def _public_key(public: bytes, suite: str) -> object:
    """Return the key object of a raw public key; kept, since the same few keys seal every report
    (parsing an ML-KEM key costs about a third of a seal)."""
    try:
        if suite == CLASSIC:
            return x25519.X25519PublicKey.from_public_bytes(public)
        if len(public) != _MLKEM_PUBLIC + _X25519:
            raise ValueError("wrong public key length")
        return hpke.MLKEM768X25519PublicKey(
            mlkem.MLKEM768PublicKey.from_public_bytes(public[:_MLKEM_PUBLIC]),
            x25519.X25519PublicKey.from_public_bytes(public[_MLKEM_PUBLIC:]),
        )
    except ValueError as exc:
        raise CiphertextInvalid("public key does not fit the suite") from exc


def seal_info(report_id: str, recipient: str, key_version: int) -> bytes:
    """Return the HPKE info that binds a seal to its report, recipient and data-key version."""
    return f"reporter/seal/v1|report:{report_id}|recipient:{recipient}|version:{key_version}".encode()


def campaign_seal_info(campaign_id: str, recipient: str, key_version: int) -> bytes:
    """Return the HPKE info that binds a campaign key's seal to its campaign, recipient and key version."""
    return (f"reporter/campaign-seal/v1|campaign:{campaign_id}|recipient:{recipient}"
            f"|version:{key_version}").encode()


def seal(secret: bytes, public: bytes, *, info: bytes, suite: str = DEFAULT_SUITE) -> bytes:
    """Seal `secret` to the holder of the private half of `public`."""
    return bytes(_suite(suite).encrypt(secret, _public_key(bytes(public), suite), info=info))  # type: ignore[arg-type]


def open_seal(sealed: bytes, private: bytes, *, info: bytes, suite: str) -> bytes:
    """Open a seal with the recipient's private key; raise CiphertextInvalid when it does not open."""
    try:
        return bytes(_suite(suite).decrypt(sealed, _private_key(private, suite), info=info))  # type: ignore[arg-type]
    except (InvalidTag, ValueError) as exc:
        raise CiphertextInvalid("seal does not open with this key") from exc
