"""Record MACs: HMAC-SHA256 under an instance key that the database never holds, named by a key id.

A record MAC is ``key id (8 bytes) || HMAC-SHA256(key, message)``. The key id names which instance
key made it, so a key can be replaced later while records made under the previous one still verify
until they are signed again. Verification compares in constant time, and remembers the messages it
has verified (by MAC): a record read on every request costs a dictionary lookup after the first time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

from reporter.crypto.kdf import keyed_digest

KEY_ID_BYTES = 8
#: Verified (MAC -> message) pairs kept in memory before the cache starts again.
CACHE_LIMIT = 50_000


def key_id(key: bytes) -> bytes:
    """Return the 8-byte id that names a record key (a hash of it: the id reveals nothing of the key)."""
    return hashlib.sha256(b"reporter/record-key-id/" + key).digest()[:KEY_ID_BYTES]


class RecordKeys:
    """The current record key, and earlier ones that still verify, by key id."""

    def __init__(self, current: bytes, earlier: Iterable[bytes] = ()) -> None:
        if len(current) != 32:
            raise ValueError("a record key has 32 bytes")
        self.current_id = key_id(current)
        self._keys = {key_id(key): key for key in (*earlier, current)}
        self._verified: dict[bytes, bytes] = {}

    def mac(self, message: bytes) -> bytes:
        """Return the MAC of `message` under the current key, prefixed with its key id."""
        return self.current_id + keyed_digest(self._keys[self.current_id], message)

    def verify(self, message: bytes, mac: bytes | None) -> bool:
        """Tell whether `mac` authenticates `message` under one of the keys."""
        if not mac:
            return False
        mac = bytes(mac)
        if self._verified.get(mac) == message:
            return True
        key = self._keys.get(mac[:KEY_ID_BYTES])
        if key is None or not hmac.compare_digest(keyed_digest(key, message), mac[KEY_ID_BYTES:]):
            return False
        if len(self._verified) >= CACHE_LIMIT:
            self._verified.clear()
        self._verified[mac] = message
        return True

    def is_current(self, mac: bytes | None) -> bool:
        """Tell whether a MAC was made with the current key (else it is due to be signed again)."""
        return bool(mac) and bytes(mac or b"")[:KEY_ID_BYTES] == self.current_id
