"""Logs and storage never hold what a reporter wrote, their receipt, their address or their browser."""

from __future__ import annotations

import http.client
import logging
import re
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from reporter.web import privacy
from reporter.web.intake import views
from reporter.web.privacy import PrivateRequestHandler, loggable_path
from tests.conftest import Reporter

ADDRESS = "203.0.113.77"
USER_AGENT = "Mozilla/5.0 (UA-MARKER-41c7)"
MARKERS = {
    "description": "LOG-DESCRIPTION-MARKER-a1 и ЛОГ-МАРКЕР-Ъ",
    "perpetrator": "LOG-PERPETRATOR-MARKER-b2",
    "contact": "LOG-CONTACT-MARKER-c3",
    "occurred_on": "1991-08-24",
}


def _identifying(receipt: str) -> list[str]:
    compact = receipt.replace("-", "")
    return [*MARKERS.values(), "ЛОГ-МАРКЕР-Ъ", receipt, compact, compact.lower(), ADDRESS, "UA-MARKER-41c7"]


def _everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    parts = [caplog.text]
    for record in caplog.records:
        parts += [record.getMessage(), repr(record.args), record.exc_text or "", str(record.__dict__)]
    return "\n".join(parts)


@pytest.fixture
def identified_reporter(app) -> Reporter:
    """A reporter whose requests come from a known address and browser."""
    client = app.test_client()
    client.environ_base.update({"REMOTE_ADDR": ADDRESS, "HTTP_USER_AGENT": USER_AGENT})
    return Reporter(client)


def _whole_path(reporter: Reporter) -> str:
    assert reporter.submit(consent=None, **MARKERS).status_code == 400
    receipt = reporter.receipt_of(reporter.submit(**MARKERS))
    assert reporter.follow_up(receipt.lower()).status_code == 302
    assert MARKERS["perpetrator"] in reporter.client.get("/followup/case").get_data(as_text=True)
    assert reporter.follow_up(receipt[:-1]).status_code == 401
    logout = reporter.client.post("/followup/logout", data={"csrf_token": reporter.token("/followup")})
    assert logout.status_code == 302
    return receipt


def test_nothing_identifying_reaches_any_log(identified_reporter, caplog):
    caplog.set_level(logging.DEBUG)
    receipt = _whole_path(identified_reporter)
    logged = _everything_logged(caplog)
    assert "report stored id=" in logged, "the capture should see the app's own log lines"
    assert [value for value in _identifying(receipt) if value in logged] == []


def test_nothing_identifying_is_stored(identified_reporter, find_at_rest):
    receipt = _whole_path(identified_reporter)
    assert find_at_rest([*_identifying(receipt), socket.inet_aton(ADDRESS)]) == []


def test_unexpected_error_shows_a_reference_and_logs_only_the_exception_type(reporter, monkeypatch, caplog):
    secret = "SECRET-" + "MARKER"

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(secret)

    monkeypatch.setattr(views, "submit_report", fail)
    caplog.set_level(logging.DEBUG)
    response = reporter.submit(description=MARKERS["description"])
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    reference = re.search(r"Reference for support: ([0-9a-f]{12})", body)
    assert reference, "the page should give a reference for support"
    assert not [text for text in (secret, "Traceback", "RuntimeError", 'File "') if text in body]
    logged = _everything_logged(caplog)
    assert f"ref={reference.group(1)}" in logged and "RuntimeError" in logged
    assert secret not in logged and MARKERS["description"] not in logged


def test_chained_exception_messages_are_not_logged(app, reporter, monkeypatch, caplog):
    secret = "CHAINED-" + "SECRET"

    def fail(*args: Any, **kwargs: Any) -> Any:
        try:
            raise ValueError(secret)
        except ValueError as exc:
            raise RuntimeError("wrapper") from exc

    monkeypatch.setattr(views, "submit_report", fail)
    caplog.set_level(logging.DEBUG)
    assert reporter.submit().status_code == 500
    assert secret not in _everything_logged(caplog)


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        ("/followup?receipt=ABCD-EFGH-JKMN-PQRS-TVWX", "/followup"),
        ("/report?lang=ru&q=secret", "/report"),
        ("/staff/enroll/s3cr3t-t0ken", "/staff/enroll/<token>"),
        ("/staff/enroll/s3cr3t-t0ken/totp?x=1", "/staff/enroll/<token>/totp"),
        ("/staff/enroll/", "/staff/enroll/"),
        ("/", "/"),
    ],
)
def test_loggable_path_drops_query_strings_and_enrolment_tokens(path, logged):
    assert loggable_path(path) == logged


def test_request_handler_gives_the_app_the_address_but_never_logs_it(caplog):
    handler = PrivateRequestHandler.__new__(PrivateRequestHandler)
    handler.client_address = (ADDRESS, 51515)
    assert handler.address_string() == ADDRESS  # rate limits tell clients apart (by a keyed hash)
    caplog.set_level(logging.DEBUG)
    handler.log("info", "a server message %s", "here")
    assert "a server message here" in caplog.text and ADDRESS not in caplog.text


@pytest.fixture
def dev_server(app) -> Iterator[int]:
    """Serve the app with the development server's private request handler on a free local port."""
    server = make_server("127.0.0.1", 0, app, threaded=False, request_handler=PrivateRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.port
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def _raw_request(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_development_server_access_log_holds_no_address_query_or_token(dev_server, caplog):
    caplog.set_level(logging.DEBUG)
    connection = http.client.HTTPConnection("127.0.0.1", dev_server, timeout=10)
    for path in ("/followup?receipt=ABCD-EFGH-JKMN-PQRS-TVWX", "/staff/enroll/ENROL-TOKEN-77", "/healthz"):
        connection.request("GET", path, headers={"User-Agent": USER_AGENT})
        connection.getresponse().read()
    connection.close()
    for malformed in (b"GET /followup?receipt=MALFORMED-RECEIPT extra HTTP/1.1",
                      b"GET /x HTTP/1.1 BAD-VERSION", b"GET /staff/enroll/BAD-REQUEST-TOKEN HTTP/9.9"):
        assert _raw_request(dev_server, malformed + b"\r\n\r\n")
    logged = _everything_logged(caplog)
    access = [r.getMessage() for r in caplog.records if r.name == privacy.log.name]
    assert "GET /followup 200" in access and "GET /healthz 200" in access
    assert "GET /staff/enroll/<token> 404" in access
    assert "request error 400" in logged
    for secret in ("127.0.0.1", "ABCD-EFGH", "ENROL-TOKEN-77", "MALFORMED-RECEIPT", "BAD-VERSION",
                   "BAD-REQUEST-TOKEN", "UA-MARKER-41c7"):
        assert secret not in logged
