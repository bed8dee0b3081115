"""Staff accounts and their enrolment invitations.

A staff member's e-mail address is staff data (it is how they log in), never reporter data. Every
secret of theirs is stored only in a form that is useless alone: the password as an argon2id hash,
the private key wrapped under their password and under their recovery code, the TOTP secret
encrypted under an instance key that does not live in the database.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from reporter.models.base import Base, new_id, utcnow

ROLES = ("focal_point", "coordinator", "auditor", "admin")
#: invited -> enrolled (password, TOTP, keypair) -> active (vetted) -> suspended | offboarded
STATES = ("invited", "enrolled", "active", "suspended", "offboarded")
VETTING_DECISIONS = ("approve", "reject")


class StaffMember(Base):
    """One person on the staff side, through their whole account life cycle."""

    __tablename__ = "staff_members"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    #: Lower-cased at invitation; the login name. Staff data, not reporter data.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    #: The name reporters may see when they choose whom to keep away from their case (focal points).
    display_name: Mapped[str | None] = mapped_column(String(80))
    #: ISO 3166-1 alpha-2 code of the region a focal point or coordinator works for.
    region: Mapped[str | None] = mapped_column(String(2), index=True)
    state: Mapped[str] = mapped_column(String(16), default="invited", index=True)
    #: The admin who invited this person; None when invited from the server console.
    invited_by: Mapped[str | None] = mapped_column(ForeignKey("staff_members.id"))
    invited_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    enrolled_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: "approve" or "reject"; "approve" with no vetted_by means approved at the console (bootstrap).
    vetting: Mapped[str | None] = mapped_column(String(16))
    vetted_by: Mapped[str | None] = mapped_column(ForeignKey("staff_members.id"))
    vetted_at: Mapped[datetime | None] = mapped_column(DateTime)
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: Offboarding takes two people: the admin who asked for it, then a coordinator who confirms it.
    offboarding_requested_by: Mapped[str | None] = mapped_column(String(32))
    offboarding_requested_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: Set when the person or an admin asked for a new key pair; renewed at the next login
    #: (reporter.lifecycle.staff_keys), then cleared.
    key_renewal_requested_at: Mapped[datetime | None] = mapped_column(DateTime)
    key_renewal_requested_by: Mapped[str | None] = mapped_column(String(32))
    #: HMAC under the instance directory key over every attribute that decides who may read what
    #: (reporter.directory). A row whose MAC does not verify is never used.
    record_mac: Mapped[bytes | None] = mapped_column(LargeBinary)

    #: argon2id PHC string (argon2-cffi PasswordHasher); verifies the password, wraps nothing.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    #: The public half of the person's seal key pair; cases are sealed to it.
    public_key: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_suite: Mapped[str | None] = mapped_column(String(64))
    #: The private key under argon2id(password, key_pw_salt) with the parameters in key_pw_params.
    private_key_pw_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_pw_salt: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_pw_params: Mapped[str | None] = mapped_column(String(64))
    #: The private key under HKDF(recovery code, key_rc_salt); the code is shown once, never stored.
    private_key_rc_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    key_rc_salt: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: The TOTP secret, AES-GCM under a key derived from the instance TOTP key (not in the database).
    totp_secret_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    #: The last TOTP time step accepted; a code of this step or an earlier one is refused (replay).
    last_totp_step: Mapped[int] = mapped_column(BigInteger, default=0)

    @property
    def is_active(self) -> bool:
        """Tell Flask-Login whether this person may use the staff side now."""
        return self.state == "active"

    @property
    def is_authenticated(self) -> bool:
        """Tell Flask-Login that a loaded person is logged in (loading checks the session)."""
        return True

    @property
    def is_anonymous(self) -> bool:
        """Tell Flask-Login that this is a real person."""
        return False

    def get_id(self) -> str:
        """Return the id Flask-Login names this person by."""
        return self.id


class EnrollmentToken(Base):
    """A single-use invitation link; only the SHA-256 of its token is stored."""

    __tablename__ = "enrollment_tokens"

    #: SHA-256 (hex) of the token in the link.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff_members.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime)
    used_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: SHA-256 of a nonce kept in the enrolling browser's session once the password is chosen, so
    #: the TOTP step can only be finished in that browser.
    binding: Mapped[str | None] = mapped_column(String(64))
