"""Audit events as auditors read them: who (name and role), what (a sentence), and the detail labelled.

Everything shown comes from the event as stored and from verified staff records; every value passes
through `visible`, so a name or detail cannot hide characters. The stored event stays one click away
(the raw row), with every id in full.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import g
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

from reporter.audit.chain import EventLike
from reporter.audit.people import Person
from reporter.audit.sentences import DETAIL_LABELS, PLACEHOLDER, SENTENCES
from reporter.web.audit.display import visible
from reporter.web.labels import RISK_LABELS, ROLE_LABELS, STATUS_LABELS

#: The actors who are not staff members (reporter.audit.chain), by the role the chain stores.
ACTOR_LABELS: dict[str, LazyString] = {
    "reporter": _l("Reporter (anonymous)"),
    "system": _l("The application"),
    "console": _l("Server console"),
    "anonymous": _l("Someone not logged in"),
}
#: Detail values that are codes with a translated name, by the action and the detail key.
_CODED: dict[tuple[str, str], Mapping[str, LazyString]] = {
    ("case.status_changed", "from"): STATUS_LABELS, ("case.status_changed", "to"): STATUS_LABELS,
    ("case.risk_changed", "from"): RISK_LABELS, ("case.risk_changed", "to"): RISK_LABELS,
    ("case.assessed", "from"): RISK_LABELS, ("case.assessed", "to"): RISK_LABELS,
    ("staff.invited", "role"): ROLE_LABELS,
}
_YES, _NO, _NONE = _l("Yes"), _l("No"), _l("none")
_NOT_IN_DIRECTORY, _UNVERIFIED = _l("Not in the staff directory"), _l("Staff record does not verify")
_NOT_JSON = _l("The detail is not readable JSON.")
_ID = re.compile(r"[0-9a-f]{32}")
#: Ids inside a detail's JSON text, to look their people up before reading the details.
ID_IN_TEXT = re.compile(r"(?<![0-9a-f])[0-9a-f]{32}(?![0-9a-f])")
SHORT = 8


def text(lazy: LazyString) -> str:
    """Return a label in the current language, translated once per request (a page repeats them)."""
    cache: dict[int, str] = g.setdefault("audit_texts", {})
    found = cache.get(id(lazy))
    if found is None:
        found = cache[id(lazy)] = str(lazy)
    return found


def labels(table: Mapping[str, LazyString]) -> dict[str, str]:
    """Return a label table in the current language."""
    return {code: text(label) for code, label in table.items()}


def is_hex_id(value: object) -> bool:
    """Tell whether `value` is an id the application makes (32 hex digits), shown shortened."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def role_label(role: str | None) -> str:
    """Return the translated name of a staff role or actor kind, else its code made visible."""
    label = ROLE_LABELS.get(role or "") or ACTOR_LABELS.get(role or "")
    return text(label) if label is not None else visible(role)


@dataclass(frozen=True)
class Value:
    """One shown value: its text, and for an id the full id and the person it names (if any)."""

    text: str
    full: str | None = None
    person: str | None = None


@dataclass(frozen=True)
class Item:
    """One labelled line of an event's detail."""

    key: str
    label: str | None
    values: tuple[Value, ...]


@dataclass(frozen=True)
class Described:
    """An event ready to read: actor, sentence (None: no sentence for this action) and detail."""

    person: Person | None
    sentence: str | None
    items: tuple[Item, ...] | None

    @property
    def actor_name(self) -> str | None:
        """Return the actor's name, made visible, when a verified record names them."""
        return visible(self.person.label) if self.person and self.person.label else None


def _value(raw: Any, action: str, key: str, people: Mapping[str, Person]) -> Value:
    coded = _CODED.get((action, key))
    if coded is not None and isinstance(raw, str) and raw in coded:
        return Value(text(coded[raw]))
    if isinstance(raw, bool):
        return Value(text(_YES if raw else _NO))
    if raw is None:
        return Value(text(_NONE))
    if isinstance(raw, str) and _ID.fullmatch(raw):
        person = people.get(raw)
        label = person.label if person is not None else None
        return Value(visible(label) if label else raw[:SHORT] + "…", full=raw,
                     person=raw if person is not None else None)
    shown = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False, sort_keys=True)
    return Value(visible(shown))


def _items(detail: str, action: str, people: Mapping[str, Person]) -> tuple[Item, ...] | None:
    try:
        parsed = json.loads(detail or "{}")
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    items = []
    for key, raw in parsed.items():
        values = raw if isinstance(raw, list) and raw else [raw]
        label = DETAIL_LABELS.get(key)
        items.append(Item(visible(key), text(label) if label is not None else None,
                          tuple(_value(value, action, key, people) for value in values)))
    return tuple(items)


class _Filled(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "…"


def _object(event: EventLike, people: Mapping[str, Person]) -> str:
    if event.object_id is None:
        return "…"
    person = people.get(event.object_id)
    if person is not None and person.label:
        return visible(person.label)
    shown = visible(event.object_id)
    return shown[:SHORT] + "…" if _ID.fullmatch(event.object_id) else shown


def sentence_of(event: EventLike, items: tuple[Item, ...] | None, people: Mapping[str, Person]) -> str | None:
    """Return the event's sentence in the current language, or None when its action has none."""
    template = SENTENCES.get(event.action)
    if template is None:
        return None
    values = _Filled(object=_object(event, people))
    for item in items or ():
        if item.key in ("from", "to", "staff", "until") and len(item.values) == 1:
            values[item.key] = item.values[0].text
    return text(template) % values


def describe(event: EventLike, people: Mapping[str, Person]) -> Described:
    """Return `event` as an auditor reads it, naming people from `people` (verified records)."""
    items = _items(event.detail, event.action, people)
    person = people.get(event.actor_id) if event.actor_id else None
    return Described(person=person, sentence=sentence_of(event, items, people), items=items)


def option_label(action: str) -> str:
    """Return the name of an action in the filter list: its sentence with blanks, else its code."""
    template = SENTENCES.get(action)
    return PLACEHOLDER.sub("…", text(template)) if template is not None else visible(action)


def csv_cells(event: EventLike, people: Mapping[str, Person]) -> list[str]:
    """Return the readable CSV cells: actor name, actor role, sentence, detail as "label: value; …"."""
    described = describe(event, people)
    person = described.person
    if person is None:
        kind = ACTOR_LABELS.get(event.actor_role) if not event.actor_id else None
        name = text(kind if kind is not None else _NOT_IN_DIRECTORY)
    else:
        name = described.actor_name or text(_UNVERIFIED)
    if described.items is None:
        detail = text(_NOT_JSON)
    else:
        detail = "; ".join(f"{item.label or item.key}: " + ", ".join(
            f"{value.text} ({value.full})" if value.full and value.text != value.full[:SHORT] + "…"
            else value.full or value.text for value in item.values) for item in described.items)
    return [name, role_label(event.actor_role), described.sentence or visible(event.action), detail]
