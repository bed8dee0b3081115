"""Instance keys, the offline escrow key, and the wrapping of staff private keys.

``reporter init`` creates the instance keys in ``instance/keys/`` (directory 0700, files 0600): the
Flask secret key, the receipt-lookup, audit signing, TOTP, directory and linking keys, the escrow public
key. `load_keyring` reads them, with their retired versions (reporter.lifecycle.keyfiles), from that
folder or from ``REPORTER_*`` environment variables, which win when set; the application gets a `Keyring`.

The escrow private key is written once, by ``reporter init``, to a separate file that the operator
must move offline. The running application never reads it; the console reads it with
`read_escrow_private_key` when ``reporter keys recover`` re-seals cases to a person.

This is the only module that wraps and unwraps staff private keys: under the person's password
(argon2id) and under their recovery code (HKDF), through `reporter.crypto.wrapping`. An unwrapped
key leaves here only as a return value: `reporter.unlock` keeps it between requests, encrypted under
a key held in the person's cookie, and `reporter.vault` opens seals with it.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from reporter.crypto import CiphertextInvalid, seals, wrapping
from reporter.crypto.records import RecordKeys
from reporter.lifecycle import keyfiles
from reporter.lifecycle.keyfiles import KeyName
from reporter.models import StaffMember
from reporter.staff import passwords

SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret
RECEIPT_KEY_FILE = "receipt_lookup.key"
AUDIT_KEY_FILE = "audit_signing.key"
TOTP_KEY_FILE = "totp.key"
DIRECTORY_KEY_FILE = "directory.key"
ESCROW_PUBLIC_FILE = "escrow.pub"
ESCROW_PRIVATE_FILE = "escrow-private.key.MOVE-OFFLINE"

SECRET = KeyName(SECRET_KEY_FILE, "REPORTER_SECRET_KEY")
RECEIPT = KeyName(RECEIPT_KEY_FILE, "REPORTER_RECEIPT_KEY")
AUDIT = KeyName(AUDIT_KEY_FILE, "REPORTER_AUDIT_KEY")
TOTP = KeyName(TOTP_KEY_FILE, "REPORTER_TOTP_KEY")
DIRECTORY = KeyName(DIRECTORY_KEY_FILE, "REPORTER_DIRECTORY_KEY")
LINKING = KeyName("linking.key", "REPORTER_LINKING_KEY")
ESCROW = KeyName(ESCROW_PUBLIC_FILE, "REPORTER_ESCROW_PUBLIC_KEY")
#: Retired audit keys keep only their public half: it verifies old checkpoints and can sign nothing.
AUDIT_RETIRED_SUFFIX = ".pub"


class KeyringError(RuntimeError):
    """An instance key is missing or malformed; the message says which and what to do."""


@dataclass(frozen=True)
class Keyring:
    """The instance's keys, as the running application needs them."""

    secret_key: str
    receipt_lookup_key: bytes
    audit_signing_key: Ed25519PrivateKey
    escrow_public_key: bytes
    escrow_suite: str
    #: Encrypts staff TOTP secrets (through HKDF), so a stolen database alone does not yield them.
    totp_key: bytes = b""
    #: Authenticates the staff directory, routing rules, sessions and case entries (reporter.directory),
    #: so that someone who can write to the database cannot forge who may read what.
    directory_key: bytes = b""
    #: Makes the blind indexes of accounts and links that tie cases together (reporter.cases.linking).
    linking_key: bytes = b""
    #: Each key's current version (see reporter.lifecycle.keyfiles), by KeyName.file.
    versions: tuple[tuple[str, int], ...] = ()
    #: Retired Flask secret keys, oldest first (Flask's SECRET_KEY_FALLBACKS while sessions drain).
    secret_key_fallbacks: tuple[str, ...] = ()
    #: Retired receipt lookup keys as (version, key), newest first.
    retired_receipt_keys: tuple[tuple[int, bytes], ...] = ()
    #: Retired audit public keys (raw Ed25519) as (version, key), oldest first.
    retired_audit_public_keys: tuple[tuple[int, bytes], ...] = ()
    #: The public half of an audit key a rotation announced and has not put in place yet (raw).
    pending_audit_public_key: bytes | None = None
    #: Retired TOTP keys, newest first.
    retired_totp_keys: tuple[bytes, ...] = ()
    #: Retired directory keys: records signed under them still verify until signed again.
    retired_directory_keys: tuple[bytes, ...] = ()

    @property
    def escrow_key_id(self) -> str:
        """Return a short fingerprint that names the escrow key in seal rows."""
        return escrow_key_id(self.escrow_public_key)

    def version(self, name: KeyName) -> int:
        """Return the current version of a key (1 for a key never rotated)."""
        return dict(self.versions).get(name.file, 1)

    @property
    def receipt_key_version(self) -> int:
        """Return the version of the current receipt lookup key (stored with each new report)."""
        return self.version(RECEIPT)

    def receipt_lookup_keys(self) -> list[tuple[int, bytes]]:
        """Return (version, key) of every receipt lookup key, the current one first."""
        return [(self.receipt_key_version, self.receipt_lookup_key), *self.retired_receipt_keys]

    def totp_keys(self) -> list[bytes]:
        """Return every TOTP key, the current one first."""
        return [self.totp_key, *self.retired_totp_keys]

    def record_keys(self) -> RecordKeys:
        """Return the directory record keys: the current one signs, retired ones still verify."""
        return RecordKeys(self.directory_key, self.retired_directory_keys)

    def audit_public_keys(self) -> list[tuple[int, Ed25519PublicKey]]:
        """Return (version, public key) of every audit key, oldest first, the current one last."""
        retired = [(v, Ed25519PublicKey.from_public_bytes(raw)) for v, raw in self.retired_audit_public_keys]
        return [*retired, (self.version(AUDIT), self.audit_signing_key.public_key())]

    def audit_verification_keys(self) -> list[Ed25519PublicKey]:
        """Return the audit keys a verifier trusts: every version, oldest first, and a pending one."""
        keys = [key for _, key in self.audit_public_keys()]
        if self.pending_audit_public_key:
            keys.append(Ed25519PublicKey.from_public_bytes(self.pending_audit_public_key))
        return keys


def escrow_key_id(public_key: bytes) -> str:
    """Return the fingerprint that names an escrow public key in seal rows."""
    return "escrow:" + hashlib.sha256(public_key).hexdigest()[:16]


def encode_key(raw: bytes) -> str:
    """Return key bytes as the text of a key file."""
    return base64.b64encode(raw).decode() + "\n"


def decode_key(text: str, name: str) -> bytes:
    """Return the key bytes of a key file's text; raise KeyringError if it is not base64."""
    try:
        return base64.b64decode(text.strip(), validate=True)
    except ValueError as exc:
        raise KeyringError(f"instance key {name} is not valid base64") from exc


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def create_instance_keys(keys_path: str | Path, escrow_private_path: str | Path | None = None) -> list[Path]:
    """Create every missing instance key file; never overwrite one. Return the files created."""
    keys = Path(keys_path)
    keys.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(keys, 0o700)
    created: list[Path] = []

    def create(name: str, text: str) -> None:
        if not (keys / name).exists():
            _write_private(keys / name, text)
            created.append(keys / name)

    create(SECRET_KEY_FILE, secrets.token_urlsafe(48) + "\n")
    audit_key = Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    create(AUDIT_KEY_FILE, encode_key(audit_key))
    for name in (RECEIPT_KEY_FILE, TOTP_KEY_FILE, DIRECTORY_KEY_FILE, LINKING.file):
        create(name, encode_key(secrets.token_bytes(32)))
    if not (keys / ESCROW_PUBLIC_FILE).exists():
        pair = seals.generate_keypair()
        private_path = Path(escrow_private_path) if escrow_private_path else keys.parent / ESCROW_PRIVATE_FILE
        _write_private(private_path, f"{pair.suite}\n{encode_key(pair.private)}")
        created.append(private_path)
        create(ESCROW_PUBLIC_FILE, f"{pair.suite}\n{encode_key(pair.public)}")
    return created


def _read(keys: Path, name: str, env: str) -> str:
    if value := os.environ.get(env):
        return value
    path = keys / name
    try:
        return path.read_text()
    except FileNotFoundError:
        raise KeyringError(f"missing instance key {path}: run `reporter init` or set {env}") from None


def _key32(text: str, name: str) -> bytes:
    raw = decode_key(text, name)
    if len(raw) != 32:
        raise KeyringError(f"instance key {name} has the wrong length")
    return raw


def _versioned(keys: Path, name: KeyName, current_text: str) -> tuple[int, list[tuple[int, str]]]:
    try:
        return keyfiles.versioned(keys, name, current_text)
    except ValueError as exc:
        raise KeyringError(str(exc)) from None


def _audit_versions(keys: Path, private: Ed25519PrivateKey) -> tuple[int, list[tuple[int, bytes]]]:
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    retired = {v: decode_key(t, AUDIT.retired_file(v, AUDIT_RETIRED_SUFFIX))
               for v, t in keyfiles.retired(keys, AUDIT, AUDIT_RETIRED_SUFFIX).items()}
    same = bool(retired) and retired[max(retired)] == public
    version = keyfiles.current_version({v: "" for v in retired}, "", same=same)
    return version, sorted((v, raw) for v, raw in retired.items() if v != version)


def load_keyring(keys_path: str | Path, *, secret_key: str | None = None) -> Keyring:
    """Load the instance keys, current and retired versions, from the environment or the key folder."""
    keys = Path(keys_path)
    secret = secret_key or _read(keys, SECRET_KEY_FILE, "REPORTER_SECRET_KEY").strip()
    receipt_key = _key32(receipt_text := _read(keys, RECEIPT.file, RECEIPT.env), RECEIPT.file)
    totp_text = _read(keys, TOTP_KEY_FILE, "REPORTER_TOTP_KEY")
    totp_key = _key32(totp_text, TOTP_KEY_FILE)
    directory_text = _read(keys, DIRECTORY_KEY_FILE, "REPORTER_DIRECTORY_KEY")
    directory_key = _key32(directory_text, DIRECTORY_KEY_FILE)
    linking_text = _read(keys, LINKING.file, LINKING.env)
    escrow_text = _read(keys, ESCROW_PUBLIC_FILE, "REPORTER_ESCROW_PUBLIC_KEY")
    suite, _, public_text = escrow_text.partition("\n")
    audit_key = Ed25519PrivateKey.from_private_bytes(_key32(_read(keys, AUDIT.file, AUDIT.env), AUDIT.file))
    secret_version, secret_retired = _versioned(keys, SECRET, secret)
    receipt_version, receipt_retired = _versioned(keys, RECEIPT, receipt_text)
    totp_version, totp_retired = _versioned(keys, TOTP, totp_text)
    directory_version, directory_retired = _versioned(keys, DIRECTORY, directory_text)
    audit_version, audit_retired = _audit_versions(keys, audit_key)
    escrow_version, _ = _versioned(keys, ESCROW, escrow_text)
    pending = keyfiles.pending(keys, AUDIT)
    pending_public = (Ed25519PrivateKey.from_private_bytes(_key32(pending, AUDIT.next_file)).public_key()
                      .public_bytes(Encoding.Raw, PublicFormat.Raw) if pending else None)
    return Keyring(
        secret_key=secret,
        receipt_lookup_key=receipt_key,
        audit_signing_key=audit_key,
        escrow_public_key=decode_key(public_text, ESCROW_PUBLIC_FILE),
        escrow_suite=suite.strip(),
        totp_key=totp_key,
        directory_key=directory_key,
        linking_key=_key32(linking_text, LINKING.file),
        versions=((SECRET.file, secret_version), (RECEIPT.file, receipt_version), (AUDIT.file, audit_version),
                  (TOTP.file, totp_version), (DIRECTORY.file, directory_version),
                  (LINKING.file, _versioned(keys, LINKING, linking_text)[0]), (ESCROW.file, escrow_version)),
        secret_key_fallbacks=tuple(text.strip() for _, text in reversed(secret_retired)),
        retired_receipt_keys=tuple((v, _key32(t, RECEIPT.retired_file(v))) for v, t in receipt_retired),
        retired_audit_public_keys=tuple(audit_retired),
        pending_audit_public_key=pending_public,
        retired_totp_keys=tuple(_key32(t, TOTP.retired_file(v)) for v, t in totp_retired),
        retired_directory_keys=tuple(_key32(t, DIRECTORY.retired_file(v)) for v, t in directory_retired),
    )


def read_escrow_private_key(path: str | Path) -> seals.KeyPair:
    """Read an offline escrow private key file (CLI only)."""
    suite, _, text = Path(path).read_text().partition("\n")
    private = decode_key(text, str(path))
    return seals.KeyPair(suite.strip(), private, seals.public_key_of(private, suite.strip()))


def unwrap_with_password(person: StaffMember, password: str) -> bytes:
    """Return a person's private key, unwrapped with their password; raise CiphertextInvalid if not."""
    if person.private_key_pw_ct is None or person.key_pw_salt is None or person.key_pw_params is None:
        raise CiphertextInvalid("no wrapped key")
    params = wrapping.KdfParams.decode(person.key_pw_params)
    key = wrapping.password_key(password, salt=person.key_pw_salt, params=params)
    return wrapping.unwrap(key, person.private_key_pw_ct, staff_id=person.id, column=wrapping.PASSWORD_COLUMN)


def unwrap_with_recovery_code(person: StaffMember, code: str) -> bytes:
    """Return a person's private key, unwrapped with a typed recovery code; raise CiphertextInvalid if not."""
    normalised = wrapping.normalise_recovery_code(code)
    if person.private_key_rc_ct is None or person.key_rc_salt is None:
        raise CiphertextInvalid("no recovery wrap")
    key = wrapping.recovery_key(normalised, salt=person.key_rc_salt, staff_id=person.id)
    return wrapping.unwrap(key, person.private_key_rc_ct, staff_id=person.id, column=wrapping.RECOVERY_COLUMN)


def wrap_with_password(
    person: StaffMember, password: str, private_key: bytes, *, params: wrapping.KdfParams
) -> None:
    """Hash a new password and wrap the private key under it (fresh salt); no commit."""
    # Hash and wrap change together: a new hash over an old wrap would log in and then open nothing.
    salt = wrapping.new_salt()
    key = wrapping.password_key(password, salt=salt, params=params)
    person.password_hash = passwords.hash_password(password, params)
    person.key_pw_salt, person.key_pw_params = salt, params.encode()
    person.private_key_pw_ct = wrapping.wrap(key, private_key, staff_id=person.id,
                                             column=wrapping.PASSWORD_COLUMN)


def wrap_with_recovery_code(person: StaffMember, code: str, private_key: bytes) -> None:
    """Wrap the private key under a new recovery code (fresh salt); no commit."""
    salt = wrapping.new_salt()
    key = wrapping.recovery_key(code, salt=salt, staff_id=person.id)
    person.key_rc_salt = salt
    person.private_key_rc_ct = wrapping.wrap(key, private_key, staff_id=person.id,
                                             column=wrapping.RECOVERY_COLUMN)
