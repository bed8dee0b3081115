"""Server-side half of an unlocked session (reporter follow-up now, staff later).

The record holds a secret (a report's data key, or a staff private key) encrypted under a random
key that exists only in the person's cookie. The record alone, as a stolen database or session store
gives it, opens nothing; the cookie alone opens nothing once the record is gone (logout, timeout).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from reporter.models.base import Base


class UnlockedSession(Base):
    """A live unlocked session; deleted at logout and after its absolute lifetime."""

    __tablename__ = "unlocked_sessions"

    #: SHA-256 of the session token in the cookie; the token itself is not stored.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(32), index=True)
    #: The staff role the session was opened for ("reporter" for a reporter's case).
    role: Mapped[str | None] = mapped_column(String(16))
    wrapped_secret: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    #: HMAC under the instance directory key over (id, kind, subject, role, expiry): a row rewritten
    #: to name another person or to live longer is refused.
    record_mac: Mapped[bytes | None] = mapped_column(LargeBinary)
