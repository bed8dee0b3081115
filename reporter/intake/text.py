"""Text hygiene shared by every field a reporter or an officer types: normal form, line ends, and
the characters that cannot be stored as given (NUL, other control characters, broken encodings)."""

from __future__ import annotations

import re
import unicodedata

_ALLOWED_CONTROLS = {"\n", "\t"}


def clean_text(value: str) -> str:
    """Return text in NFC with unified line ends and no surrounding white space."""
    return unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n")).strip()


#: Every character text_problem may object to, found in one pass; clean text never matches.
_SUSPECT = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffd]")


def text_problem(value: str, limit: int) -> str | None:
    """Return a problem code for text that cannot be stored as given, or None."""
    if _SUSPECT.search(value) is None:
        return "too_long" if len(value) > limit else None
    if "\x00" in value:
        return "nul"
    if "\ufffd" in value:
        return "encoding"  # the request was not valid UTF-8 and the decoder replaced bytes
    if any(unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS for ch in value):
        return "control"
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        return "encoding"
    if len(value) > limit:
        return "too_long"
    return None
