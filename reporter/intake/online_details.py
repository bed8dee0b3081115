"""Structured details of an online incident: where, which account, which posts, roughly when.

The rows are sealed with the report (one JSON field, `online_details`), so nothing here is readable
without the case key. They are normalised before sealing, so that a later feature can compare the
accounts and links of different reports (repeat perpetrators) without guessing at spellings:

- a handle loses a leading ``@`` and surrounding space and is lower-cased (platform handles are
  case-insensitive on every listed platform);
- a URL is reduced to its canonical form: scheme and host lower-case, default port, fragment and
  tracking parameters (``utm_*``, ``fbclid``, ``gclid``, ``igshid``, ``si`` ...) removed, the other
  parameters kept in their order. Only ``http`` and ``https`` links are kept as links; anything else
  is refused, so a ``javascript:`` or ``file:`` address never reaches a staff member's page as a link.

The server never fetches these links, not even for a preview (no request to an address a reporter
typed: that would let anyone make the server reach internal hosts, and would tell the site that the
post was being looked at).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from reporter.intake import platform_reports
from reporter.intake.platform_reports import PlatformResponse
from reporter.intake.text import clean_text, text_problem

PLATFORMS = ("telegram", "whatsapp", "signal", "viber", "facebook", "instagram", "vk", "odnoklassniki",
             "x", "tiktok", "youtube", "email", "other")
MAX_ROWS = 10
LIMITS = {"account": 500, "links": 2000, "approximate_time": 100}
MAX_LINKS = 10
_TRACKING = re.compile(r"^(utm_.*|fbclid|gclid|dclid|msclkid|igshid|igsh|mc_cid|mc_eid|yclid|_hsenc|_hsmi|"
                       r"si|ref_src|ref_url|s|t|feature)$")
#: Parameters that only some platforms use for tracking: removed there, kept elsewhere.
_TRACKING_ONLY_ON = {
    "s": ("x.com", "twitter.com"), "t": ("x.com", "twitter.com"),
    "si": ("youtube.com", "youtu.be", "open.spotify.com"), "feature": ("youtube.com", "youtu.be"),
}
_DEFAULT_PORTS = {"http": 80, "https": 443}


class DetailsInvalid(ValueError):
    """A row breaks a rule; `problems` maps (row index, field) to a problem code."""

    def __init__(self, problems: dict[tuple[int, str], str]) -> None:
        super().__init__(", ".join(f"{i}.{name}: {code}" for (i, name), code in sorted(problems.items())))
        self.problems = problems


@dataclass(frozen=True)
class OnlineDetail:
    """One place where the harassment happened online."""

    platform: str
    account: str = ""
    links: tuple[str, ...] = ()
    approximate_time: str = ""
    #: What the platform did (reporter.intake.platform_reports); sealed with the row.
    response: PlatformResponse = PlatformResponse()

    def is_empty(self) -> bool:
        """Return whether the row carries nothing but a platform choice (or not even that)."""
        return not (self.account or self.links or self.approximate_time)


def normalise_handle(value: str) -> str:
    """Return an account name lower-case without a leading @, or a profile URL in canonical form."""
    text = clean_text(value)
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", text):
        return canonical_url(text)
    return text.lstrip("@").strip().lower()


def _tracking(name: str, host: str) -> bool:
    if not _TRACKING.match(name.lower()):
        return False
    hosts = _TRACKING_ONLY_ON.get(name.lower())
    return hosts is None or any(host == h or host.endswith("." + h) for h in hosts)


def canonical_url(value: str) -> str:
    """Return an http(s) URL with scheme and host lower-case, no default port, fragment or tracking."""
    parts = urlsplit(value.strip())
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError("not an http or https address")
    host = parts.hostname.lower().rstrip(".")
    if host.startswith("www."):
        host = host[4:]
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError("bad port") from exc
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _tracking(k, host)]
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, urlencode(query), ""))


def _links(text: str) -> tuple[str, ...]:
    return tuple(canonical_url(line) for line in text.split() if line.strip())


def clean_rows(rows: Sequence[dict[str, str]], *, today: date | None = None) -> list[OnlineDetail]:
    """Return the filled rows normalised; raise DetailsInvalid naming every problem. Drop empty rows."""
    problems: dict[tuple[int, str], str] = {}
    cleaned: list[OnlineDetail] = []
    for index, row in enumerate(rows):
        platform = (row.get("platform") or "").strip()
        texts = {name: clean_text(row.get(name) or "") for name in LIMITS}
        response, response_problems = platform_reports.clean_response(
            row, today=today or datetime.now(UTC).date())
        if not platform and not any(texts.values()) and response.is_empty():
            continue
        problems.update({(index, name): code for name, code in response_problems.items()})
        for name, limit in LIMITS.items():
            problem = text_problem(texts[name], limit)
            if problem:
                problems[(index, name)] = problem
        if platform not in PLATFORMS:
            problems[(index, "platform")] = "choice"
        links: tuple[str, ...] = ()
        if (index, "links") not in problems:
            try:
                links = _links(texts["links"])
            except ValueError:
                problems[(index, "links")] = "url"
            if len(links) > MAX_LINKS:
                problems[(index, "links")] = "too_many"
        account = ""
        if (index, "account") not in problems and texts["account"]:
            try:
                account = normalise_handle(texts["account"])
            except ValueError:
                problems[(index, "account")] = "url"
        cleaned.append(OnlineDetail(platform, account, links, texts["approximate_time"], response))
    if len(cleaned) > MAX_ROWS:
        problems[(MAX_ROWS, "platform")] = "too_many"
    if problems:
        raise DetailsInvalid(problems)
    return cleaned


def to_json(details: Sequence[OnlineDetail]) -> str:
    """Return the rows as the JSON text sealed in the report ("" for none)."""
    if not details:
        return ""
    return json.dumps([{**asdict(d), "links": list(d.links)} for d in details], ensure_ascii=False,
                      separators=(",", ":"))


def from_json(text: str) -> list[OnlineDetail]:
    """Return the rows of a sealed `online_details` field (none for an empty or older report)."""
    if not text:
        return []
    return [OnlineDetail(str(r.get("platform", "")), str(r.get("account", "")),
                         tuple(str(link) for link in r.get("links", [])), str(r.get("approximate_time", "")),
                         platform_reports.from_dict(r.get("response")))
            for r in json.loads(text) if isinstance(r, dict)]
