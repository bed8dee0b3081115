"""Routing rules: which focal points receive the cases of a country, category and language."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from reporter.models.base import Base, new_id, utcnow

#: A rule field that matches every value.
ANY = "*"


class RoutingRule(Base):
    """(country, category or *, language or *) -> focal points. The most specific matching rule wins."""

    __tablename__ = "routing_rules"
    __table_args__ = (UniqueConstraint("country", "category", "language"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    country: Mapped[str] = mapped_column(String(2), index=True)
    category: Mapped[str] = mapped_column(String(32), default=ANY)
    language: Mapped[str] = mapped_column(String(8), default=ANY)
    created_by: Mapped[str | None] = mapped_column(ForeignKey("staff_members.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    #: HMAC under the instance directory key over the rule and its members (reporter.directory).
    record_mac: Mapped[bytes | None] = mapped_column(LargeBinary)

    members = relationship("RoutingRuleMember", cascade="all, delete-orphan", passive_deletes=True,
                           lazy="selectin")

    @property
    def specificity(self) -> int:
        """Return how many fields the rule names (0: country only, 2: category and language)."""
        return (self.category != ANY) + (self.language != ANY)


class RoutingRuleMember(Base):
    """One focal point named by a rule."""

    __tablename__ = "routing_rule_members"

    rule_id: Mapped[str] = mapped_column(ForeignKey("routing_rules.id", ondelete="CASCADE"), primary_key=True)
    staff_id: Mapped[str] = mapped_column(ForeignKey("staff_members.id", ondelete="CASCADE"),
                                          primary_key=True,
                                          index=True)


class DirectoryVersion(Base):
    """One row whose random token database triggers replace on every change of a staff record, routing
    rule or rule member (migration 0014), so each process knows when the routing state it verified and
    keeps is out of date (reporter.cases.verified_routing)."""

    __tablename__ = "directory_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(String(32))
