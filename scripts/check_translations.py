"""`scripts/translations check`: each catalogue's share of strings translated, fuzzy and unreviewed.

Exits 1 when a shipped language is below 100 % translated, has a fuzzy entry, or a placeholder that
differs from its source string. "Unreviewed" is the share of strings no native speaker has reviewed:
100 % until `reporter/translations/reviews.json` names the reviewer of the language.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from reporter import languages  # noqa: E402

PLACEHOLDER = re.compile(r"%\(\w+\)s")


def source_ids() -> set[str]:
    """Return every msgid the source extracts today (what `scripts/translations` would extract)."""
    methods = [("reporter/**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    return {message if isinstance(message, str) else message[0]
            for _file, _line, message, _comments, _context in extract_from_dir(
                str(ROOT), methods, options_map=options, keywords=keywords)}


def main() -> int:
    """Print the table and return the exit status."""
    wanted = source_ids()
    unreviewed = languages.unreviewed()
    print(f"{'language':<10} {'translated':>11} {'fuzzy':>7} {'unreviewed':>11}  problems")
    failed = False
    for code in languages.SHIPPED:
        if code == languages.SOURCE:
            continue
        path = languages.TRANSLATIONS / code / "LC_MESSAGES" / "messages.po"
        if not path.is_file():
            print(f"{code:<10} {'0.0 %':>11} {'-':>7} {'-':>11}  no catalogue")
            failed = True
            continue
        with open(path, "rb") as handle:
            catalogue = read_po(handle, locale=code)
        done, fuzzy, problems = 0, 0, []
        for msgid in sorted(wanted):
            message = catalogue.get(msgid)
            if message is None or not message.string:
                problems.append(f"missing: {msgid[:40]!r}")
                continue
            if message.fuzzy:
                fuzzy += 1
            text = message.string if isinstance(message.string, str) else " ".join(message.string)
            if set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(text)):
                problems.append(f"placeholders differ: {msgid[:40]!r}")
                continue
            done += 1
        share = 100.0 * done / len(wanted)
        review = "100.0 %" if code in unreviewed else "0.0 %"
        print(f"{code:<10} {share:>9.1f} % {fuzzy:>7} {review:>11}  {'; '.join(problems[:3])}")
        failed = failed or share < 100.0 or fuzzy > 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
