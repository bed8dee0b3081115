"""Pure cryptographic building blocks: no Flask, no database, no I/O.

Everything here composes primitives of the `cryptography` library (AES-256-GCM, HPKE with ML-KEM-768 +
X25519, HKDF-SHA256, HMAC-SHA256). Nothing here invents a primitive.
"""


class CiphertextInvalid(Exception):
    """A ciphertext failed authentication, has an unknown format, or is bound to another place."""
