"""Reply templates: short texts a focal point starts a message to a reporter from."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from reporter.models.base import Base, new_id


class ReplyTemplate(Base):
    """A reply template of one language. Plain text written by coordinators; it holds no case content."""

    __tablename__ = "reply_templates"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    language: Mapped[str] = mapped_column(String(8), index=True)
    title: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(32), ForeignKey("staff_members.id",
                                                                         ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime)
