"""Every user-facing string is translated, catalogues are compiled, and the language switch works."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "reporter" / "translations"
LANGUAGES = ("en", "ru")
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
METHODS = [("reporter/**.py", "python"), ("templates/**.html", "jinja2")]
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def _source_messages() -> set[str]:
    found = set()
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), METHODS, options_map=options, keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _catalogue(language: str):
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=language)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_source_string_is_translated(language):
    catalogue = _catalogue(language)
    missing = []
    for msgid in sorted(_source_messages()):
        message = catalogue.get(msgid)
        if message is None or not message.string or message.fuzzy:
            missing.append(msgid)
        elif set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(message.string)):
            missing.append(f"{msgid} (placeholders differ)")
    assert not missing, f"untranslated in {language}: {missing} (run scripts/translations)"


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalogue_matches_its_source(language):
    catalogue = _catalogue(language)
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.mo", "rb") as handle:
        compiled = read_mo(handle)
    source = {m.id: m.string for m in catalogue if m.id and m.string and not m.fuzzy}
    built = {m.id: m.string for m in compiled if m.id}
    assert built == source, "messages.mo is stale: run scripts/translations"


def test_lang_parameter_switches_to_russian_and_is_kept(client):
    page = client.get("/report?lang=ru").get_data(as_text=True)
    assert '<html lang="ru"' in page and "Сообщить об инциденте" in page
    kept = client.get("/followup").get_data(as_text=True)
    assert '<html lang="ru"' in kept and "Вернуться к сообщению" in kept


def test_browser_language_is_used_without_a_choice(client):
    page = client.get("/", headers={"Accept-Language": "ru-RU,ru;q=0.9,en;q=0.5"}).get_data(as_text=True)
    assert '<html lang="ru"' in page


def test_unknown_language_falls_back_to_english(client):
    page = client.get("/?lang=xx", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert '<html lang="en"' in page


def test_country_names_follow_the_language(client):
    assert "Грузия" in client.get("/report?lang=ru").get_data(as_text=True)
    assert "Georgia" in client.get("/report?lang=en").get_data(as_text=True)
