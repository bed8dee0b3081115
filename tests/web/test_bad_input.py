"""Bad input gets a clear 4xx page in the reader's language, the typed values kept; never a 500."""

from __future__ import annotations

import io
import re
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import func, select

from reporter.crypto import receipts
from reporter.extensions import db
from reporter.models import Report
from reporter.web.intake import views
from tests.conftest import VALID_REPORT, HttpsClient, Reporter, csrf_token_of

FORM = "application/x-www-form-urlencoded; charset=utf-8"
TEXT_FIELDS = ["description", "perpetrator", "contact"]
REQUIRED_FIELDS = ["incident_kind", "category", "country", "description", "consent"]
LIMITS = {"description": 20000, "perpetrator": 2000, "contact": 500}


@pytest.fixture(autouse=True)
def coordinator(app: Any) -> Any:
    """Reports need a reader: the installation has its bootstrap coordinator."""
    from tests.staffing import directory_of

    return directory_of(app).coordinator


class _FormValues(HTMLParser):
    """Read a rendered form back as the values a browser would show and send."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self._textarea: str | None = None
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        name = attributes.get("name")
        if tag == "input" and name:
            if attributes.get("type") == "file":
                return  # a browser never fills a file input from the page
            if attributes.get("type") in {"radio", "checkbox"}:
                if "checked" in attributes:
                    self.values[name] = attributes.get("value") or "on"
            else:
                self.values[name] = attributes.get("value") or ""
        elif tag == "textarea" and name:
            self._textarea = name
            self.values[name] = ""
        elif tag == "select" and name:
            self._select = name
        elif tag == "option" and self._select and "selected" in attributes:
            self.values[self._select] = attributes.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea":
            self._textarea = None
        elif tag == "select":
            self._select = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.values[self._textarea] += data


def form_values(response: Any) -> dict[str, str]:
    """Return the values the form on this page holds (the CSRF token left out)."""
    parser = _FormValues()
    parser.feed(response.get_data(as_text=True))
    parser.values.pop("csrf_token", None)
    parser.values.pop("online_rows", None)  # how many rows of online details the page shows
    # the empty rows of optional online details are not something the reporter typed
    return {k: v for k, v in parser.values.items() if v or not k.startswith("online-")}


def field_errors(response: Any) -> set[str]:
    """Return the names of the fields that show an error next to them."""
    return set(re.findall(r'<p class="error-message" id="(\w+)-error"', response.get_data(as_text=True)))


def page(response: Any) -> str:
    return response.get_data(as_text=True)


def without_csrf(response: Any) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', "", page(response))


def stored_reports(app) -> int:
    with app.app_context():
        return int(db.session.scalar(select(func.count()).select_from(Report)) or 0)


@pytest.fixture(autouse=True)
def no_response_shows_a_traceback(monkeypatch):
    """Check every response of this module: no traceback and no file path of the code, whatever the status."""
    original = HttpsClient.open

    def checked_open(self: HttpsClient, *args: Any, **kwargs: Any) -> Any:
        response = original(self, *args, **kwargs)
        body = response.get_data(as_text=True)
        assert "Traceback" not in body and 'File "' not in body and "site-packages" not in body
        return response

    monkeypatch.setattr(HttpsClient, "open", checked_open)


def raw_post(reporter: Reporter, path: str, fields: dict[str, str], raw: dict[str, bytes]) -> Any:
    """Post a urlencoded body built by hand, so it can carry bytes no browser would send."""
    token = reporter.token(path if path != "/followup/logout" else "/followup")
    body = urllib.parse.urlencode({**fields, "csrf_token": token}).encode()
    for name, value in raw.items():
        body += b"&" + name.encode() + b"=" + value
    return reporter.client.post(path, data=body, content_type=FORM)


# Missing and invalid fields


@pytest.mark.parametrize("field", REQUIRED_FIELDS)
@pytest.mark.parametrize("how", ["absent", "empty"])
def test_missing_required_field_is_named_and_typed_values_are_kept(app, reporter, field, how):
    response = reporter.submit(**{field: None if how == "absent" else ""})
    assert response.status_code == 400
    assert field_errors(response) == {field}
    kept = form_values(response)
    assert kept.get(field, "") == ""
    assert {name: kept.get(name) for name in VALID_REPORT if name != field} == {
        name: value for name, value in VALID_REPORT.items() if name != field}
    assert stored_reports(app) == 0


def test_white_space_is_not_a_description(reporter):
    response = reporter.submit(description=" \n\t \r\n ")
    assert response.status_code == 400 and field_errors(response) == {"description"}


def test_every_problem_is_shown_at_once_with_a_summary(reporter):
    response = reporter.submit(incident_kind=None, category="x", country="XX", description="", consent=None,
                               occurred_on="yesterday")
    assert response.status_code == 400
    assert field_errors(response) == {"incident_kind", "category", "country", "description", "consent",
                                      "occurred_on"}
    assert 'class="error-summary"' in page(response) and "<title>Error:" in page(response)


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_text_one_character_over_the_limit_is_refused(reporter, field):
    response = reporter.submit(**{field: "ж" * (LIMITS[field] + 1)})
    assert response.status_code == 400
    assert field_errors(response) == {field}
    assert f"{LIMITS[field]} characters or fewer" in page(response)
    assert form_values(response)[field] == "ж" * (LIMITS[field] + 1)


@pytest.mark.parametrize("field", TEXT_FIELDS)
@pytest.mark.parametrize("character", ["ж", "😀"], ids=["cyrillic", "emoji"])
def test_text_exactly_at_the_limit_is_accepted(reporter, field, character):
    response = reporter.submit(**{field: character * LIMITS[field]})
    assert response.status_code == 200 and 'id="receipt"' in page(response)


@pytest.mark.parametrize("country", ["ge", "XX", "GEO", "", " GE", "G", "Грузия", "GE\x00"])
def test_invalid_country_code_is_refused(reporter, country):
    response = reporter.submit(country=country)
    assert response.status_code == 400
    assert field_errors(response) == {"country"}


@pytest.mark.parametrize(
    "occurred_on",
    ["2026-13-01", "08.03.2026", "yesterday", "2026-02-30", "2026-3-8x", "20260308", "0000-00-00",
     "1899-12-31", "2999-01-01", "'; DROP TABLE reports; --"],
)
def test_malformed_or_implausible_date_is_refused_and_kept_as_typed(reporter, occurred_on):
    response = reporter.submit(occurred_on=occurred_on)
    assert response.status_code == 400
    assert field_errors(response) == {"occurred_on"}
    assert form_values(response)["occurred_on"] == occurred_on


def test_future_date_is_refused(reporter):
    future = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
    response = reporter.submit(occurred_on=future)
    assert response.status_code == 400
    assert "This date is in the future." in page(response)


@pytest.mark.parametrize("days", [0, 1, -1, -365 * 40])
def test_dates_up_to_tomorrow_are_accepted(reporter, days):
    occurred_on = (datetime.now(UTC).date() + timedelta(days=days)).isoformat()
    assert reporter.submit(occurred_on=occurred_on).status_code == 200


def test_date_is_optional(reporter):
    assert reporter.submit(occurred_on="").status_code == 200
    assert reporter.submit(occurred_on=None).status_code == 200


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("category", "murder"),
        ("category", "Threat"),
        ("category", "threat "),
        ("category", "other'; DROP TABLE reports; --"),
        ("category", "*"),
        ("incident_kind", "ONLINE"),
        ("incident_kind", "elsewhere"),
        ("incident_kind", "online\x00"),
        ("incident_kind", "online,offline"),
    ],
)
def test_unknown_category_or_incident_kind_is_refused(app, reporter, field, value):
    response = reporter.submit(**{field: value})
    assert response.status_code == 400
    assert field_errors(response) == {field}
    assert stored_reports(app) == 0


def test_repeated_choice_field_takes_the_first_value_only(reporter):
    token = reporter.token()
    body = urllib.parse.urlencode([*VALID_REPORT.items(), ("csrf_token", token), ("category", "nonsense")])
    assert reporter.client.post("/report", data=body, content_type=FORM).status_code == 200


# NUL bytes and invalid UTF-8


@pytest.mark.parametrize("field", TEXT_FIELDS)
def test_nul_byte_in_text_is_refused_next_to_the_field(reporter, field):
    response = reporter.submit(**{field: "before\x00after"})
    assert response.status_code == 400
    assert field_errors(response) == {field}
    assert "null character" in page(response)


INVALID_UTF8 = {
    "bad-continuation": b"%C3%28broken",
    "ff-fe": b"%FF%FE",
    "encoded-surrogate": b"ok%ED%A0%80surrogate",
    "overlong": b"%C0%AFoverlong",
    "raw-ff": b"raw\xffbyte",
    "raw-truncated": b"raw\xc3",
}


@pytest.mark.parametrize(
    ("field", "raw"),
    [*(("description", raw) for raw in INVALID_UTF8.values()),
     *((field, INVALID_UTF8[kind]) for field in ("perpetrator", "contact") for kind in ("ff-fe", "raw-ff"))],
    ids=[*(f"description-{kind}" for kind in INVALID_UTF8),
         *(f"{field}-{kind}" for field in ("perpetrator", "contact") for kind in ("ff-fe", "raw-ff"))],
)
def test_invalid_utf8_in_text_is_refused_next_to_the_field(app, reporter, field, raw):
    fields = {name: value for name, value in VALID_REPORT.items() if name != field}
    response = raw_post(reporter, "/report", fields, {field: raw})
    assert response.status_code == 400
    assert field_errors(response) == {field}
    assert "damaged characters" in page(response)
    kept = form_values(response)
    assert {name: kept[name] for name in fields} == fields
    assert stored_reports(app) == 0


def test_invalid_utf8_in_a_multipart_form_is_refused_next_to_the_field(app, reporter):
    token = reporter.token()
    parts = [(name, value.encode()) for name, value in {**VALID_REPORT, "csrf_token": token}.items()
             if name != "perpetrator"] + [("perpetrator", b"broken \xff\xfe bytes")]
    body = b"".join(
        b'--b0undary\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (name.encode(), value)
        for name, value in parts
    ) + b"--b0undary--\r\n"
    multipart = "multipart/form-data; boundary=b0undary"
    response = reporter.client.post("/report", data=body, content_type=multipart)
    assert response.status_code == 400
    assert field_errors(response) == {"perpetrator"}
    assert form_values(response)["description"] == VALID_REPORT["description"]
    assert stored_reports(app) == 0


@pytest.mark.parametrize("field", ["country", "category", "incident_kind", "occurred_on"])
def test_invalid_utf8_in_other_fields_is_refused(app, reporter, field):
    fields = {name: value for name, value in VALID_REPORT.items() if name != field}
    response = raw_post(reporter, "/report", fields, {field: b"%FF"})
    assert response.status_code == 400
    assert field_errors(response) == {field}
    assert stored_reports(app) == 0


@pytest.mark.parametrize("raw", [b"%FF" * 20, b"\xff" * 20, b"%00" * 20])
def test_invalid_bytes_in_a_receipt_are_a_wrong_receipt(reporter, raw):
    response = raw_post(reporter, "/followup", {}, {"receipt": raw})
    assert response.status_code == 401


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
def test_ten_thousand_form_fields_get_413(app, reporter, encoding):
    fields = {**VALID_REPORT, "csrf_token": reporter.token(), **{f"f{n}": "x" for n in range(10_000)}}
    if encoding == "urlencoded":
        response = reporter.client.post("/report", data=urllib.parse.urlencode(fields), content_type=FORM)
    else:
        response = reporter.client.post("/report", data=fields, content_type="multipart/form-data")
    assert response.status_code == 413
    assert stored_reports(app) == 0


def test_a_form_within_the_field_limit_is_accepted(reporter):
    extra = {f"f{n}": "x" for n in range(200 - len(VALID_REPORT) - 1)}
    assert reporter.submit(**extra).status_code == 200


# Markup and template injection

MARKUP = [
    "<script>alert(1)</script>",
    '"><script>alert(2)</script>',
    "</textarea><script>alert(3)</script>",
    "<img src=x onerror=alert(4)>",
    "<svg onload=alert(5)>",
    "javascript:alert(6)",
    "' onmouseover='alert(7)",
]


OWN_SCRIPTS = ("/static/quick-exit.js", "/static/report-form.js")


class _ActiveContent(HTMLParser):
    """Collect what a browser would execute: script elements, event handlers, javascript: URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}>")
            if name in {"href", "src", "action", "formaction"} and (value or "").strip().lower().startswith(
                    "javascript:"):
                self.found.append(f"<{tag} {name}={value}>")
        if tag == "script" and dict(attrs).get("src") not in OWN_SCRIPTS:
            self.found.append("<script>")


def _assert_shown_escaped(html: str, payload: str) -> None:
    if escape(payload) != payload:
        assert payload not in html, "a payload reached the page unescaped"
    assert escape(payload) in html
    parser = _ActiveContent()
    parser.feed(html)
    assert parser.found == [], "the page would run injected code"


@pytest.mark.parametrize("payload", MARKUP)
def test_markup_in_every_text_field_is_shown_escaped_on_the_error_page(reporter, payload):
    typed = {field: f"{field}: {payload}" for field in TEXT_FIELDS}
    response = reporter.submit(consent=None, occurred_on=payload, **typed)
    assert response.status_code == 400
    html = page(response)
    for value in [*typed.values(), payload]:
        _assert_shown_escaped(html, value)
    kept = form_values(response)
    assert {field: kept[field] for field in TEXT_FIELDS} == typed
    assert kept["occurred_on"] == payload


@pytest.mark.parametrize("payload", MARKUP)
def test_markup_in_every_text_field_is_shown_escaped_on_the_case_page(reporter, make_report, payload):
    typed = {field: f"{field}: {payload}" for field in TEXT_FIELDS}
    receipt = make_report(**typed)
    assert reporter.follow_up(receipt).status_code == 302
    html = page(reporter.client.get("/followup/case"))
    for value in typed.values():
        _assert_shown_escaped(html, value)


TEMPLATES = ["{{7*7}}", "{{ config }}", "{% include 'base.html' %}", "{{ ''.__class__.__mro__ }}", "${7*7}"]


@pytest.mark.parametrize("where", ["error-page", "case-page"])
def test_template_syntax_is_shown_literally(reporter, make_report, where):
    typed = {"description": " ".join(TEMPLATES), "perpetrator": TEMPLATES[0], "contact": TEMPLATES[1]}
    if where == "error-page":
        response = reporter.submit(consent=None, **typed)
        assert response.status_code == 400
    else:
        assert reporter.follow_up(make_report(**typed)).status_code == 302
        response = reporter.client.get("/followup/case")
    html = page(response)
    for template in TEMPLATES:
        assert escape(template) in html
    assert "SECRET_KEY" not in html and "&lt;Config" not in html and "&lt;class" not in html


# Receipts


def test_wrong_receipt_gets_401_and_one_message(reporter, make_report):
    make_report()
    response = reporter.follow_up(receipts.display(receipts.new_receipt()))
    assert response.status_code == 401
    assert page(response).count("This receipt does not open a report.") == 1
    assert 'aria-invalid="true"' in page(response)


def test_unknown_malformed_and_wrong_receipts_look_the_same(reporter, make_report):
    right = make_report()
    compact = right.replace("-", "")
    flipped = compact[:-1] + ("0" if compact[-1] != "0" else "1")
    answers = {
        "unknown": reporter.follow_up(receipts.display(receipts.new_receipt())),
        "one-character-wrong": reporter.follow_up(flipped),
        "truncated": reporter.follow_up(compact[:-1]),
        "too-long": reporter.follow_up(compact + "0"),
        "bad-characters": reporter.follow_up("UUUU-UUUU-UUUU-UUUU-UUUU"),
        "lower-cased-wrong": reporter.follow_up(flipped.lower()),
        "spaced-wrong": reporter.follow_up(" ".join(flipped)),
        "huge": reporter.follow_up("A" * 10_000),
    }
    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(answers, 401)
    bodies = {without_csrf(r) for r in answers.values()}
    assert len(bodies) == 1
    assert {tuple(sorted(set(r.headers.keys()) - {"Set-Cookie"})) for r in answers.values()} == {
        tuple(sorted(set(answers["unknown"].headers.keys()) - {"Set-Cookie"}))}


@pytest.mark.parametrize("variant", ["lower", "spaced", "no-dashes", "look-alikes", "padded"])
def test_right_receipt_is_accepted_however_it_is_typed(reporter, make_report, variant):
    right = make_report()
    typed = {
        "lower": right.lower(),
        "spaced": right.replace("-", " "),
        "no-dashes": right.replace("-", ""),
        "look-alikes": right.replace("1", "I").replace("0", "O"),
        "padded": f"  {right}\t\n",
    }[variant]
    assert reporter.follow_up(typed).status_code == 302


def test_empty_receipt_is_a_form_error(reporter):
    response = reporter.follow_up("")
    assert response.status_code == 400
    assert field_errors(response) == {"receipt"}


# CSRF and cross-site posts


def _expired_token(reporter: Reporter, monkeypatch: pytest.MonkeyPatch, path: str) -> str:
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - 5 * 3600)
    token = reporter.token(path)
    monkeypatch.setattr(time, "time", real_time)
    return token


@pytest.mark.parametrize("problem", ["missing", "garbage", "other-session", "expired"])
def test_report_without_a_valid_csrf_token_comes_back_with_the_typed_values(
    app, reporter, monkeypatch, problem
):
    typed = {**VALID_REPORT, "description": "What I wrote must not be lost"}
    reporter.token()
    if problem == "other-session":
        typed["csrf_token"] = Reporter(app.test_client()).token()
    elif problem == "garbage":
        typed["csrf_token"] = "IjAxMjM0NTY3ODki.Zz.forged"
    elif problem == "expired":
        typed["csrf_token"] = _expired_token(reporter, monkeypatch, "/report")
    response = reporter.client.post("/report", data=typed)
    assert response.status_code == 400
    assert "Your form had expired" in page(response)
    assert form_values(response) == {k: v for k, v in typed.items() if k != "csrf_token"}
    assert csrf_token_of(page(response))
    assert stored_reports(app) == 0


def test_report_can_be_sent_again_after_its_form_expired(app, reporter):
    response = reporter.client.post("/report", data=VALID_REPORT)
    assert response.status_code == 400
    resend = {**form_values(response), "csrf_token": csrf_token_of(page(response))}
    assert reporter.client.post("/report", data=resend).status_code == 200
    assert stored_reports(app) == 1


@pytest.mark.parametrize("path", ["/followup", "/followup/logout"])
@pytest.mark.parametrize("problem", ["missing", "garbage", "expired"])
def test_other_forms_without_a_valid_csrf_token_answer_400(reporter, monkeypatch, path, problem):
    data = {"receipt": "0000-0000-0000-0000-0000"}
    if problem == "garbage":
        data["csrf_token"] = "forged"
    elif problem == "expired":
        data["csrf_token"] = _expired_token(reporter, monkeypatch, "/followup")
    response = reporter.client.post(path, data=data)
    assert response.status_code == 400
    assert "This form has expired" in page(response)


CROSS_SITE = [
    {"Origin": "https://evil.example"},
    {"Origin": "https://localhost.evil.example"},
    {"Origin": "https://evil.example:443"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "cross-site", "Origin": "https://localhost"},
]


@pytest.mark.parametrize("headers", CROSS_SITE, ids=lambda h: ",".join(f"{k}={v}" for k, v in h.items()))
@pytest.mark.parametrize("path", ["/report", "/followup", "/followup/logout"])
def test_cross_site_post_is_refused(app, reporter, headers, path):
    token = reporter.token("/report" if path == "/report" else "/followup")
    response = reporter.client.post(path, data={**VALID_REPORT, "csrf_token": token}, headers=headers)
    assert response.status_code == 403
    assert "You are not allowed to do this" in page(response)
    assert stored_reports(app) == 0


def test_another_site_cannot_make_the_form_show_its_text(app, client):
    forged = {**VALID_REPORT, "description": "Your report was lost. Write to rescue@evil.example"}
    response = client.post("/report", data=forged, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert "rescue@evil.example" not in page(response)
    assert stored_reports(app) == 0


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://localhost"}, {"Origin": "null"}, {"Sec-Fetch-Site": "same-origin"},
     {"Sec-Fetch-Site": "none"}],
    ids=lambda h: ",".join(f"{k}={v}" for k, v in h.items()),
)
def test_same_site_post_is_accepted(reporter, headers):
    data = {**VALID_REPORT, "csrf_token": reporter.token()}
    response = reporter.client.post("/report", data=data, headers=headers)
    assert response.status_code == 200


# Size limits


FIFTY_MEGABYTES = 50 * 1024 * 1024


def _huge_body(encoding: str, token: str) -> tuple[bytes, str]:
    fields = urllib.parse.urlencode({**VALID_REPORT, "csrf_token": token, "receipt": "x"}).encode()
    if encoding == "multipart":
        head = b'--b0undary\r\nContent-Disposition: form-data; name="description"\r\n\r\n'
        tail = b"\r\n--b0undary--\r\n"
        return head + b"x" * FIFTY_MEGABYTES + tail, "multipart/form-data; boundary=b0undary"
    return fields + b"&description=" + b"x" * FIFTY_MEGABYTES, FORM


@pytest.mark.parametrize(
    ("path", "encoding"),
    [("/report", "urlencoded"), ("/report", "multipart"), ("/report", "chunked"),
     ("/followup", "urlencoded")],
)
def test_fifty_megabyte_body_gets_413_in_the_readers_language(app, reporter, path, encoding):
    body, content_type = _huge_body(encoding, reporter.token(path))
    if encoding == "chunked":
        response = reporter.client.post(f"{path}?lang=ru", input_stream=io.BytesIO(body),
                                        content_type=content_type,
                                        environ_overrides={"wsgi.input_terminated": True})
    else:
        response = reporter.client.post(f"{path}?lang=ru", data=body, content_type=content_type)
    assert response.status_code == 413
    assert '<html lang="ru"' in page(response) and "Отправленные данные слишком велики" in page(response)
    assert stored_reports(app) == 0


# Rate limits


def _wrong_receipt() -> str:
    return receipts.display(receipts.new_receipt())


def test_repeated_wrong_receipts_are_limited_after_ten_a_minute(reporter, make_report):
    right = make_report()
    statuses = [reporter.follow_up(_wrong_receipt()).status_code for _ in range(10)]
    assert statuses == [401] * 10
    limited = reporter.follow_up(_wrong_receipt())
    assert limited.status_code == 429 and "Too many attempts" in page(limited)
    assert reporter.follow_up(right).status_code == 429, "the limit must not reveal a right receipt"
    assert reporter.client.get("/followup").status_code == 200


def _reporter_at(app, address: str) -> Reporter:
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return Reporter(client)


def test_followup_limit_is_configurable_and_per_client(app_factory):
    app = app_factory(REPORTER_FOLLOWUP_LIMIT="3 per minute")
    first, second = _reporter_at(app, "198.51.100.1"), _reporter_at(app, "198.51.100.2")
    assert [first.follow_up(_wrong_receipt()).status_code for _ in range(4)] == [401, 401, 401, 429]
    assert second.follow_up(_wrong_receipt()).status_code == 401


def test_followup_has_a_global_limit_across_clients(app_factory):
    app = app_factory(REPORTER_FOLLOWUP_GLOBAL_LIMIT="5 per minute")
    reporters = [_reporter_at(app, f"198.51.100.{n}") for n in range(6)]
    statuses = [reporter.follow_up(_wrong_receipt()).status_code for reporter in reporters]
    assert statuses == [401] * 5 + [429]


def test_report_submissions_are_limited_but_the_form_is_not(app_factory):
    reporter = Reporter(app_factory(REPORTER_SUBMIT_LIMIT="2 per minute").test_client())
    assert [reporter.submit().status_code for _ in range(3)] == [200, 200, 429]
    assert reporter.client.get("/report").status_code == 200


# Error pages


def _raise(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("injected")


ERROR_PAGES = {
    "400-form": (400, "Пожалуйста, опишите, что произошло."),
    "400-csrf": (400, "Срок действия формы истёк"),
    "401": (401, "Эта квитанция не открывает сообщение"),
    "403": (403, "У вас нет прав на это действие"),
    "404": (404, "Страница не найдена"),
    "405": (405, "Это действие здесь недоступно"),
    "413": (413, "Отправленные данные слишком велики"),
    "429": (429, "Слишком много попыток"),
    "500": (500, "На нашей стороне произошла ошибка"),
}


def _provoke(kind: str, app, reporter: Reporter, monkeypatch: pytest.MonkeyPatch) -> Any:
    client = reporter.client
    if kind == "400-form":
        data = {**VALID_REPORT, "description": "", "csrf_token": reporter.token()}
        return client.post("/report?lang=ru", data=data)
    if kind == "400-csrf":
        return client.post("/followup?lang=ru", data={"receipt": "x"})
    if kind == "401":
        return client.post("/followup?lang=ru", data={"receipt": _wrong_receipt(),
                                                       "csrf_token": reporter.token("/followup")})
    if kind == "403":
        return client.post("/report?lang=ru", headers={"Origin": "https://evil.example"})
    if kind == "404":
        return client.get("/no-such-page?lang=ru")
    if kind == "405":
        return client.get("/followup/logout?lang=ru")
    if kind == "413":
        return client.post("/report?lang=ru", data={"description": "x" * (2 * 1024 * 1024)})
    if kind == "429":
        app.config["REPORTER_FOLLOWUP_LIMIT"] = "1 per minute"
        reporter.follow_up(_wrong_receipt())
        return client.post("/followup?lang=ru", data={"receipt": _wrong_receipt(),
                                                       "csrf_token": reporter.token("/followup")})
    monkeypatch.setattr(views, "submit_report", _raise)
    return client.post("/report?lang=ru", data={**VALID_REPORT, "csrf_token": reporter.token()})


@pytest.mark.parametrize("kind", list(ERROR_PAGES))
def test_error_pages_speak_russian_with_lang_ru(app, reporter, monkeypatch, kind):
    status, phrase = ERROR_PAGES[kind]
    response = _provoke(kind, app, reporter, monkeypatch)
    assert response.status_code == status
    html = page(response)
    assert '<html lang="ru"' in html and phrase in html
    assert 'id="quick-exit"' in html


@pytest.mark.parametrize(
    ("method", "path", "status", "title"),
    [
        ("GET", "/no-such-page", 404, "Page not found"),
        ("GET", "/followup/case/0123456789abcdef0123456789abcdef", 404, "Page not found"),
        ("GET", "/static/../reporter.db", 404, "Page not found"),
        ("GET", "/followup/logout", 405, "This action is not available here"),
        ("PUT", "/report", 405, "This action is not available here"),
        ("DELETE", "/followup", 405, "This action is not available here"),
        ("POST", "/healthz", 405, "This action is not available here"),
    ],
)
def test_not_found_and_wrong_method_pages(client, method, path, status, title):
    response = client.open(path, method=method)
    assert response.status_code == status
    assert f"<h1>{title}</h1>" in page(response)
    if status == 405:
        assert "Allow" in response.headers


# Random input


@pytest.fixture
def patient_reporter(app_factory) -> tuple[Reporter, str]:
    """A reporter and their CSRF token, on an app whose submission limit allows hundreds of posts."""
    reporter = Reporter(app_factory(REPORTER_SUBMIT_LIMIT="100000 per minute").test_client())
    return reporter, reporter.token()


FORM_FIELDS = [*VALID_REPORT, "csrf_token"]
ANY_TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=300)


@pytest.mark.parametrize("field", FORM_FIELDS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=ANY_TEXT)
def test_random_text_in_any_field_gets_200_or_400(patient_reporter, field, value):
    reporter, token = patient_reporter
    data = {**VALID_REPORT, "csrf_token": token, field: value}
    response = reporter.client.post("/report", data=data)
    assert response.status_code in {200, 400}


@pytest.mark.parametrize("field", FORM_FIELDS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=200), percent_encode=st.booleans())
def test_random_bytes_in_any_field_get_200_or_400(patient_reporter, field, raw, percent_encode):
    value = urllib.parse.quote_from_bytes(raw).encode() if percent_encode else raw.replace(b"&", b"")
    reporter, token = patient_reporter
    fields = {name: v for name, v in {**VALID_REPORT, "csrf_token": token}.items() if name != field}
    body = urllib.parse.urlencode(fields).encode()
    response = reporter.client.post("/report", data=body + b"&" + field.encode() + b"=" + value,
                                            content_type=FORM)
    assert response.status_code in {200, 400}


@pytest.fixture
def patient_follower(app_factory) -> tuple[Reporter, str]:
    """A reporter and their CSRF token, on an app whose follow-up limits allow hundreds of attempts."""
    app = app_factory(REPORTER_FOLLOWUP_LIMIT="100000 per minute",
                      REPORTER_FOLLOWUP_GLOBAL_LIMIT="100000 per minute")
    reporter = Reporter(app.test_client())
    return reporter, reporter.token("/followup")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=ANY_TEXT)
def test_random_text_as_a_receipt_gets_400_or_401(patient_follower, value):
    reporter, token = patient_follower
    response = reporter.client.post("/followup", data={"receipt": value, "csrf_token": token})
    assert response.status_code in {400, 401}


@pytest.mark.parametrize(
    "accept_language",
    ["", "*", "ru;q=abc", "x" * 5000, "zh-Hant-TW, ru;q=0.5", "ru-RU;q=1.5", ";;;,,,", "\u0436", "en\x00"],
)
def test_odd_accept_language_headers_are_harmless(client, accept_language):
    response = client.get("/report", headers={"Accept-Language": accept_language})
    assert response.status_code == 200


@pytest.mark.parametrize("lang", ["xx", "RU", "ru-RU", "<script>", "%FF", "", "ru\x00"])
def test_unknown_lang_parameter_falls_back_without_error(client, lang):
    response = client.get("/report", query_string={"lang": lang})
    assert response.status_code == 200
    assert '<html lang="en"' in page(response)


def test_a_database_that_cannot_be_reached_gets_a_503_asking_to_try_again(app, reporter, monkeypatch, caplog):
    from sqlalchemy.exc import OperationalError

    from reporter.web.intake import views

    def unreachable(*args, **kwargs):
        raise OperationalError("INSERT INTO reports", {"description": "SECRET-PARAMETER"},
                               ConnectionError("server closed the connection unexpectedly"))

    monkeypatch.setattr(views, "submit_report", unreachable)
    response = reporter.submit()
    page = response.get_data(as_text=True)
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert "Traceback" not in page and "INSERT" not in page and "SECRET-PARAMETER" not in page
    assert "SECRET-PARAMETER" not in caplog.text and "server closed" not in caplog.text
