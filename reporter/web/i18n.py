"""The language of each page: ?lang= (kept in the session), else Accept-Language, else English."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, request, session
from flask_babel import get_locale

from reporter import languages


def available_languages() -> tuple[str, ...]:
    """Return the configured interface languages."""
    return tuple(current_app.config["REPORTER_LANGUAGES"])


def select_locale() -> str:
    """Choose the interface language for this request."""
    languages = available_languages()
    asked = request.args.get("lang", "")
    if asked in languages:
        session["lang"] = asked
        return asked
    kept = session.get("lang")
    if kept in languages:
        return str(kept)
    return request.accept_languages.best_match(languages) or "en"


def init_app(app: Flask) -> None:
    """Make the current language and the language list available to templates."""

    @app.context_processor
    def language_context() -> dict[str, Any]:
        return {
            "current_lang": str(get_locale() or "en"),
            "languages": available_languages(),
            "language_names": {code: languages.endonym(code) for code in available_languages()},
            "unreviewed": languages.unreviewed(),
            "organisation": {part: current_app.config[f"REPORTER_ORGANISATION_{part.upper()}"]
                             for part in ("name", "description", "contact", "emergency")},
        }
