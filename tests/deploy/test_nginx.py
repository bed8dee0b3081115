"""The shipped nginx site in front of gunicorn, as a browser and an attacker see it over TLS.

Everything runs for real on loopback: Debian's nginx with deploy/nginx/reporter.conf (only names,
paths and ports replaced), gunicorn with the project's settings, a self-signed certificate.
"""

from __future__ import annotations

import http.client
import re
import socket
import ssl
import time

import brotli
import pytest

from reporter.web.security import CSP
from tests.deploy.conftest import SUBMIT_LIMIT, Browser, Site
from tests.deploy.site import IDENTITY, NAME, Answer, tls_context

#: nginx's own fill-in policy (deploy/nginx/reporter.conf), sent only on answers the app did not write.
NGINX_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
MiB = 1024 * 1024


def test_pages_carry_the_apps_headers_once_and_cookies_are_secure(site: Site):
    answer = Browser(site).request("GET", "/report")

    assert answer.status == 200 and b'name="description"' in answer.body
    assert answer.one("Content-Security-Policy") == CSP  # the app's policy, passed through untouched
    assert "frame-ancestors 'none'" in CSP
    assert answer.one("Strict-Transport-Security") == "max-age=63072000; includeSubDomains"
    assert answer.one("X-Content-Type-Options") == "nosniff"
    assert answer.one("X-Frame-Options") == "DENY"
    assert answer.one("Referrer-Policy") == "no-referrer"
    assert answer.one("Cache-Control") == "no-store"
    assert answer.one("Server") == "nginx"  # no version
    (cookie,) = answer.all("Set-Cookie")
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert cookie.startswith("__Host-session=") and {"secure", "httponly", "samesite"} <= attributes
    assert "SameSite=Strict" in cookie


def test_the_app_compresses_and_nginx_does_not_compress_again(site: Site):
    for path, start in (("/report", b"<!doctype html>"), ("/static/" + _stylesheet(site), b"")):
        answer = site.https("GET", path, headers={"Accept-Encoding": "gzip, br"})
        assert answer.status == 200, path
        assert answer.one("Content-Encoding") == "br", path  # the app's choice, one layer
        plain_text = brotli.decompress(answer.body)
        assert plain_text.lower().startswith(start) and b"{" in plain_text or b"<form" in plain_text, path
    # The app streams static files compressed with zstd, brotli or deflate only: offered gzip alone, it
    # sends the stylesheet as it is, and nginx leaves it so.
    left = site.https("GET", "/static/" + _stylesheet(site), headers={"Accept-Encoding": "gzip"})
    assert left.status == 200 and left.all("Content-Encoding") == [] and b"{" in left.body


def _stylesheet(site: Site) -> str:
    page = site.https("GET", "/report", headers=IDENTITY).body.decode()
    match = re.search(r'href="/static/([^"?]+\.css)', page)
    assert match, "no stylesheet linked from /report"
    return match.group(1)


def test_plain_http_is_redirected_to_the_https_name(site: Site):
    answer = site.http("GET", "/report?lang=ka", headers={"Host": "attacker.example"})
    assert answer.status == 301
    assert answer.one("Location") == f"https://{NAME}/report?lang=ka"  # the site's name, not the client's


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1:DeprecationWarning")
def test_only_tls_1_2_and_1_3_are_offered(site: Site):
    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        context = tls_context(site.certificate)
        context.minimum_version = context.maximum_version = version
        assert site.https("GET", "/healthz", context=context).status == 200
    old = tls_context(site.certificate)
    old.minimum_version, old.maximum_version = ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1
    old.set_ciphers("ALL:@SECLEVEL=0")
    try:
        site.https("GET", "/healthz", context=old)
    except ssl.SSLError:
        pass
    else:
        raise AssertionError("a TLS 1.0/1.1 handshake succeeded")


def test_a_full_submission_goes_through_and_no_log_holds_a_client_address(site: Site):
    visitor = Browser(site, source="127.0.0.3")
    receipt_page = visitor.submit()
    assert receipt_page.status == 200, receipt_page.body[:500]
    assert re.search(rb'id="receipt"[^>]*>[^<]+<', receipt_page.body)
    assert receipt_page.one("Content-Security-Policy") == CSP
    # What nginx itself answers or logs about: a redirect, a 404 of the app, a body too large, a
    # header sent too slowly, and gunicorn gone (502).
    site.http("GET", "/report")
    visitor.request("GET", "/no-such-page")
    visitor.request("POST", "/report", headers={"Content-Length": str(60 * MiB)})
    site.gunicorn.stop()
    gone = visitor.request("GET", "/report")
    assert gone.status == 502 and gone.one("Content-Security-Policy") == NGINX_CSP
    assert gone.one("Strict-Transport-Security") and gone.one("X-Content-Type-Options") == "nosniff"
    site.nginx.stop()

    for log in [*site.nginx.log_files(), site.gunicorn.log]:
        text = log.read_text(errors="replace")
        assert "127.0.0.3" not in text and "client:" not in text, (log.name, text[-2000:])


def test_a_body_over_the_largest_request_is_refused_by_nginx_before_it_is_sent(site: Site):
    # Only the headers: nginx refuses on the announced length, so the answer comes at once.
    connection = http.client.HTTPSConnection("127.0.0.1", site.ports.https, timeout=10,
                                             context=tls_context(site.certificate))
    try:
        connection.putrequest("POST", "/report", skip_host=True)
        connection.putheader("Host", NAME)
        connection.putheader("Content-Type", "multipart/form-data; boundary=x")
        connection.putheader("Content-Length", str(51 * MiB + 1))
        connection.endheaders()
        response = connection.getresponse()
        headers, body = response.getheaders(), response.read()
    finally:
        connection.close()
    refused = Answer(response.status, headers, body)
    assert refused.status == 413 and b"nginx" in refused.body
    assert refused.one("Content-Security-Policy") == NGINX_CSP  # nginx's page, with nginx's fill-ins
    assert refused.one("X-Frame-Options") == "DENY" and refused.one("Cache-Control") == "no-store"


def test_a_body_within_the_limit_reaches_the_app_without_touching_nginxs_disk(site: Site):
    # nginx's temporary folders are made unusable: a body or an answer written to disk would fail.
    for folder in (site.nginx.folder / "temp").iterdir():
        for leftover in folder.rglob("*"):
            assert not leftover.is_file(), leftover
        folder.rename(folder.with_suffix(".gone"))
        folder.write_text("not a folder")
    part = b'--x\r\nContent-Disposition: form-data; name="junk"\r\n\r\n'
    body = part + b"a" * (40 * MiB) + b"\r\n--x--\r\n"
    answer = site.https("POST", "/report", body=body,
                        headers={"Content-Type": "multipart/form-data; boundary=x", **IDENTITY})
    # The app's own page (its policy, its words), not nginx's: the body went through whole.
    assert answer.status == 413 and b"What you sent is too large" in answer.body, answer.body[:300]
    assert answer.one("Content-Security-Policy") == CSP
    assert Browser(site).request("GET", "/report").status == 200


def test_the_app_limits_the_address_nginx_saw_and_a_forged_header_changes_nothing(site: Site):
    visitor = Browser(site, source="127.0.0.1")
    for number in range(SUBMIT_LIMIT):  # each time claiming to be someone else
        forged = {"X-Forwarded-For": f"198.51.100.{number + 1}", "X-Real-IP": f"198.51.100.{number + 1}"}
        assert visitor.submit(headers=forged).status == 200
    assert visitor.submit(headers={"X-Forwarded-For": "203.0.113.9"}).status == 429
    # A visitor at another address has its own budget: the app sees addresses, not just nginx.
    other = Browser(site, source="127.0.0.2")
    assert other.submit().status == 200


def test_a_client_that_sends_its_headers_too_slowly_is_cut_off(site: Site):
    context = tls_context(site.certificate)
    with socket.create_connection(("127.0.0.1", site.ports.https), timeout=60) as raw:
        with context.wrap_socket(raw, server_hostname=NAME) as slow:
            slow.sendall(b"GET /report HTTP/1.1\r\nHost: ")  # and nothing more
            started = time.monotonic()
            assert slow.recv(1024) == b""  # closed by nginx, no answer
            assert time.monotonic() - started < 30  # client_header_timeout, well before the socket's 60 s
