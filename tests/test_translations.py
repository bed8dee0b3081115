"""Every user-facing string is translated, catalogues are compiled, and the language switch works."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from reporter import languages

ROOT = Path(__file__).resolve().parents[1]
TRANSLATIONS = ROOT / "reporter" / "translations"
LANGUAGES = languages.SHIPPED
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


# Glossary, placeholders, the language menu ---------------------------------------------------------

LABELS = {
    "status": {"new": "New", "acknowledged": "Acknowledged", "assessing": "Assessing",
               "supporting": "Supporting", "referred": "Referred", "closed": "Closed"},
    "risk": {"unknown": "Not assessed", "low": "Low", "medium": "Medium", "high": "High",
             "critical": "Critical"},
    "category": {"threat": "Threats", "hate_speech": "Hate speech", "smear_campaign": "Smear campaign",
                 "doxxing": "Doxxing (personal information published)", "stalking": "Stalking",
                 "sexual_harassment": "Sexual harassment",
                 "account_compromise": "Hacked or taken-over account",
                 "surveillance": "Surveillance", "physical_attack": "Physical attack",
                 "legal_harassment": "Legal harassment (lawsuits, summons, fines)",
                 "property_damage": "Damage to property", "other": "Something else"},
}
TERMS = {"focal_point": "Focal point", "coordinator": "Coordinator", "quick_exit": "Quick exit"}
#: A few key strings per term: the glossary's stem of the word must appear in their translation.
KEY_STRINGS = {
    "receipt": ["Your receipt", "Please enter your receipt.", "I have a receipt"],
    "report": ["Make a report", "Send report", "Your report was received"],
    "case": ["Cases", "Open your cases"],
}


def _glossary(language: str) -> dict:
    import json

    return json.loads((TRANSLATIONS / language / "glossary.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("language", [code for code in LANGUAGES if code != "en"])
def test_labels_follow_the_glossary(language):
    glossary, catalogue = _glossary(language), _catalogue(language)
    wrong = []
    for group, labels in LABELS.items():
        for code, msgid in labels.items():
            if catalogue.get(msgid).string.casefold() != glossary[group][code].casefold():
                wrong.append(f"{msgid!r} is not the glossary's {glossary[group][code]!r}")
    for term, msgid in TERMS.items():
        if catalogue.get(msgid).string.casefold() != glossary[term].casefold():
            wrong.append(f"{msgid!r} is not the glossary's {glossary[term]!r}")
    for term, msgids in KEY_STRINGS.items():
        stem = glossary["stems"][term].casefold()
        for msgid in msgids:
            message = catalogue.get(msgid)
            if message is not None and stem not in message.string.casefold():
                wrong.append(f"{msgid!r} does not use the glossary's {stem!r}")
    assert not wrong, wrong


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_renders_with_sample_values(language):
    catalogue = _catalogue(language)
    for message in catalogue:
        if not message.id or not message.string:
            continue
        names = {name[2:-2]: "7" for name in PLACEHOLDER.findall(message.id)}
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            assert isinstance(text % names if names else text, str)


def test_the_menu_lists_every_language_by_its_own_name_and_keeps_the_page(client):
    page = client.get("/followup?lang=en").get_data(as_text=True)
    for code in languages.available():
        name = languages.endonym(code)
        assert f'href="?lang={code}" lang="{code}" hreflang="{code}"' in page
        assert f">{name}</a>" in page
    assert 'id="translation-note"' not in page
    other = client.get("/followup?lang=ru").get_data(as_text=True)
    assert '<html lang="ru"' in other and 'id="translation-note"' in other


def test_endonyms_are_written_as_their_speakers_write_them():
    assert languages.endonym("ka") == "ქართული" and languages.endonym("uk") == "Українська"
    assert languages.endonym("hy") == "Հայերեն"
