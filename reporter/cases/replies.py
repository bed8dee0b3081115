"""Reply templates: a short list per language that coordinators keep and focal points start from.

A template is plain text written by staff for many cases, never case content, so it is stored as
plain rows. Each change is an audit event; titles and bodies are checked like every other form text
(length, control characters).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from reporter.audit import chain
from reporter.intake.text import clean_text, text_problem
from reporter.models import ReplyTemplate, StaffMember

TITLE_LIMIT = 80
BODY_LIMIT = 2000
#: A short list: beyond this many templates per language, adding one is refused.
PER_LANGUAGE = 30


class ReplyRefused(Exception):
    """A template change was refused; `reason` names why in a word the interface translates."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def templates(session: Session, language: str | None = None) -> list[ReplyTemplate]:
    """Return the templates (of one language, or all), by language and title."""
    query = select(ReplyTemplate).order_by(ReplyTemplate.language, ReplyTemplate.title, ReplyTemplate.id)
    if language is not None:
        query = query.where(ReplyTemplate.language == language)
    return list(session.scalars(query))


def offered(session: Session, language: str) -> list[ReplyTemplate]:
    """Return every template, those in `language` (the report's) first."""
    return sorted(templates(session), key=lambda template: template.language != language)


def find(session: Session, template_id: str) -> ReplyTemplate | None:
    """Return the template with this id, or None."""
    return session.get(ReplyTemplate, template_id) if template_id else None


def _checked(value: str, limit: int, field: str) -> str:
    text = clean_text(value or "")
    if not text:
        raise ReplyRefused(f"{field}_empty")
    problem = text_problem(text, limit)
    if problem:
        raise ReplyRefused(f"{field}_{problem}")
    return text


def add_template(session: Session, *, person: StaffMember, language: str, title: str, body: str,
                 languages: Sequence[str], now: datetime) -> ReplyTemplate:
    """Add a template after checking its language, title and body; audit it and commit."""
    if language not in languages:
        raise ReplyRefused("language")
    title_text = _checked(title, TITLE_LIMIT, "title")
    if "\n" in title_text:
        raise ReplyRefused("title_control")
    body_text = _checked(body, BODY_LIMIT, "body")
    if len(templates(session, language)) >= PER_LANGUAGE:
        raise ReplyRefused("full")
    template = ReplyTemplate(language=language, title=title_text, body=body_text, created_by=person.id,
                             created_at=now)
    session.add(template)
    session.flush()
    chain.record(session, actor=chain.Actor.of(person), action="replies.template_added",
                 object_type="reply_template", object_id=template.id, detail={"language": language}, at=now)
    session.commit()
    return template


def delete_template(session: Session, template_id: str, *, person: StaffMember, now: datetime) -> None:
    """Delete one template; audit it and commit. An unknown id is ReplyRefused("unknown")."""
    template = session.get(ReplyTemplate, template_id)
    if template is None:
        raise ReplyRefused("unknown")
    chain.record(session, actor=chain.Actor.of(person), action="replies.template_deleted",
                 object_type="reply_template", object_id=template.id,
                 detail={"language": template.language}, at=now)
    session.delete(template)
    session.commit()
