"""How audit values are shown: every character visible, so a stored value cannot pass for another.

Actor ids, actions and object ids come from the chain as stored; an insider or a bug could put a
newline, an ANSI escape, a bidirectional override or a zero-width space in one to make a row look like
something else. HTML escaping (Jinja's autoescape) stops markup; these filters also make invisible
and control characters visible as backslash escapes, the way Python's repr() does.
"""

from __future__ import annotations

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(ch: str) -> str:
    code = ord(ch)
    if ch in _NAMED:
        return _NAMED[ch]
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def visible_json(value: object) -> str:
    """Return `value` as text with every non-printable character escaped (backslashes kept as they are).

    For the canonical JSON of a detail, which already escapes backslashes and control characters.
    """
    text = "" if value is None else str(value)
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escaped(ch) for ch in text)


def visible(value: object) -> str:
    """Return `value` as text with backslashes doubled and every non-printable character escaped."""
    text = "" if value is None else str(value)
    if text.isprintable() and "\\" not in text:
        return text
    return "".join("\\\\" if ch == "\\" else ch if ch.isprintable() else _escaped(ch) for ch in text)
