"""Declarative base with a naming convention, so migrations can alter constraints on SQLite."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base class of every model."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Return the current UTC time as a naive datetime (stored the same way on every backend)."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_the_hour(moment: datetime) -> datetime:
    """Return `moment` rounded down to the hour: how the time of anything a reporter does is stored."""
    return moment.replace(minute=0, second=0, microsecond=0)


def new_id() -> str:
    """Return a random 128-bit identifier in hex: never sequential, never guessable."""
    return secrets.token_hex(16)
