"""Time-based one-time codes (RFC 6238 through pyotp): secrets at rest, verification, QR code.

The secret is stored encrypted under a key derived from the instance TOTP key, which lives in
``instance/keys`` or the environment and never in the database: a stolen database or backup does
not yield the second factor. A code is accepted for the current 30-second step or one step either
side (clock drift), and only for a step later than the last one this person used, so a code seen
over a shoulder or captured in transit cannot be replayed, not even within its own step.
"""

from __future__ import annotations

import hmac
import io
from datetime import UTC, datetime

import pyotp
import segno
from sqlalchemy import update
from sqlalchemy.orm import Session

from reporter.crypto import CiphertextInvalid, aead
from reporter.crypto.kdf import hkdf
from reporter.models import StaffMember

ISSUER = "Incident reporting"
DRIFT_STEPS = 1
_TABLE, _COLUMN = "staff_members", "totp_secret_ct"


def _secret_key(instance_totp_key: bytes) -> bytes:
    if len(instance_totp_key) != 32:
        raise ValueError("the instance TOTP key is missing or has the wrong length")
    return hkdf(instance_totp_key, salt=b"", info=b"reporter/totp-secret/v1")


def new_secret() -> str:
    """Return a fresh base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(32)


def encrypt_secret(instance_totp_key: bytes, secret: str, *, staff_id: str) -> bytes:
    """Encrypt a TOTP secret for one staff member's row."""
    return aead.encrypt_field(_secret_key(instance_totp_key), secret.encode(), table=_TABLE, column=_COLUMN,
                              row_id=staff_id)


def decrypt_secret(instance_totp_key: bytes, blob: bytes, *, staff_id: str) -> str:
    """Decrypt a stored TOTP secret; raise CiphertextInvalid if it was tampered with or moved."""
    return aead.decrypt_field(_secret_key(instance_totp_key), blob, table=_TABLE, column=_COLUMN,
                              row_id=staff_id).decode()


def decrypt_secret_any(instance_totp_keys: list[bytes], blob: bytes, *, staff_id: str) -> str:
    """Decrypt a stored TOTP secret under the current TOTP key or a retired one (the current first)."""
    for key in instance_totp_keys[:-1]:
        try:
            return decrypt_secret(key, blob, staff_id=staff_id)
        except CiphertextInvalid:
            continue
    return decrypt_secret(instance_totp_keys[-1], blob, staff_id=staff_id)


def normalise_code(code: str) -> str | None:
    """Return the six digits of a typed code (spaces ignored), or None if it cannot be one."""
    digits = "".join(code.split())
    if len(digits) != 6 or not digits.isascii() or not digits.isdigit():
        return None
    return digits


def matching_step(secret: str, code: str, *, now: datetime) -> int | None:
    """Return the time step whose code equals `code` (now or one step either side), else None."""
    digits = normalise_code(code)
    if digits is None:
        return None
    totp = pyotp.TOTP(secret)
    # pyotp reads a naive datetime as local time; ours are naive UTC.
    current = totp.timecode(now if now.tzinfo else now.replace(tzinfo=UTC))
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(totp.generate_otp(step), digits):
            found = step
    return found


def accept_code(session: Session, person: StaffMember, secret: str, code: str, *, now: datetime) -> bool:
    """Accept a code once: check it and record its step, refusing any step not after the last one.

    The step is recorded with a conditional UPDATE, so two requests racing with the same code cannot
    both succeed, on SQLite or PostgreSQL.
    """
    step = matching_step(secret, code, now=now)
    if step is None or step <= person.last_totp_step:
        return False
    result = session.execute(
        update(StaffMember)
        .where(StaffMember.id == person.id, StaffMember.last_totp_step < step)
        .values(last_totp_step=step)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return False
    person.last_totp_step = step
    return True


def provisioning_uri(secret: str, *, email: str) -> str:
    """Return the otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """Return the QR code of `uri` as inline SVG markup (no script, no external reference)."""
    out = io.BytesIO()
    segno.make(uri, error="m").save(out, kind="svg", scale=5, border=2, xmldecl=False, svgns=True,
                                      title=None, dark="#000", light="#fff")
    return out.getvalue().decode()
