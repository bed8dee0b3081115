"""Files of purged cases still to be removed from the attachment store."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from reporter.models.base import Base


class PurgedFile(Base):
    """A store id whose attachment row was deleted by a purge; the file goes once the purge committed.

    The row is written in the purge's own transaction and deleted after the file is gone, so a purge
    killed between its commit and the file deletion leaves a list the next run finishes from. The id
    is random and names nothing about the case.
    """

    __tablename__ = "purged_files"

    store_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    #: The day of the purge, to the day (the same rounding as the tombstone's purged_at).
    purged_at: Mapped[datetime] = mapped_column(DateTime)
