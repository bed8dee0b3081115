"""The interface languages: which ones ship, their own names, and whether a native speaker reviewed them.

Every language of the region ships with a complete catalogue. A catalogue nobody fluent has reviewed
yet is said to be so where people read it (a note beside the language menu, in that language) and in
its header; `translations/reviews.json` records who reviewed which language and when. English is the
source language.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from babel import Locale

#: The order of the language menu: English, then Russian (the region's common second language), then
#: the languages of the countries served, then Romanian (Moldova).
SHIPPED = ("en", "ru", "uk", "ka", "hy", "az", "kk", "ky", "tg", "tk", "uz", "ro")
SOURCE = "en"
TRANSLATIONS = Path(__file__).parent / "translations"
REVIEWS = TRANSLATIONS / "reviews.json"


def catalogue_exists(code: str) -> bool:
    """Tell whether a compiled catalogue of `code` is installed (English needs none)."""
    return code == SOURCE or (TRANSLATIONS / code / "LC_MESSAGES" / "messages.mo").is_file()


@cache
def available() -> tuple[str, ...]:
    """Return the shipped languages whose catalogue is installed, in menu order."""
    return tuple(code for code in SHIPPED if catalogue_exists(code))


@cache
def endonym(code: str) -> str:
    """Return a language's name in that language, as the menu lists it ("Українська", "ქართული")."""
    name = Locale.parse(code).get_display_name(code) or code
    if "\u10d0" <= name[:1] <= "\u10ff":  # Georgian Mkhedruli is written without capitals
        return name
    return name[:1].upper() + name[1:]


@cache
def reviews() -> dict[str, dict[str, str | None]]:
    """Return, per translated language, who reviewed it and when (None: nobody yet)."""
    data = json.loads(REVIEWS.read_text(encoding="utf-8"))
    return {code: dict(entry) for code, entry in data.items() if isinstance(entry, dict)}


def unreviewed() -> frozenset[str]:
    """Return the languages no native speaker has reviewed (never English, the source)."""
    done = {code for code, entry in reviews().items()
            if entry.get("reviewed_by") and entry.get("reviewed_on")}
    return frozenset(code for code in SHIPPED if code != SOURCE and code not in done)
