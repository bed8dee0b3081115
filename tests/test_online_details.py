"""Online incident details: normalised so that the same account or post reads the same in every report."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from reporter.intake import online_details
from reporter.intake.online_details import (
    DetailsInvalid,
    OnlineDetail,
    canonical_url,
    clean_rows,
    normalise_handle,
)


@pytest.mark.parametrize(("given", "expected"), [
    ("HTTPS://WWW.Facebook.COM/Some.Page?fbclid=IwAR0abc&id=5#comments", "https://facebook.com/Some.Page?id=5"),
    ("https://t.me/channel/123?utm_source=share&utm_medium=x", "https://t.me/channel/123"),
    ("http://example.org:80", "http://example.org/"),
    ("https://x.com/user/status/1?s=20&t=abc", "https://x.com/user/status/1"),
    ("https://example.org/search?s=20", "https://example.org/search?s=20"),  # `s` is tracking only on X
    ("https://www.youtube.com/watch?v=abc&si=track&feature=share", "https://youtube.com/watch?v=abc"),
    ("https://Example.org:8443/a?gclid=1", "https://example.org:8443/a"),
])
def test_urls_are_canonical(given, expected):
    assert canonical_url(given) == expected


@pytest.mark.parametrize("address", ["javascript:alert(1)", "file:///etc/passwd", "ftp://example.org/",
                                     "http://", "data:text/html,<script>"])
def test_only_web_addresses_are_links(address):
    with pytest.raises(ValueError):
        canonical_url(address)


@pytest.mark.parametrize(("given", "expected"), [
    ("@SomeUser", "someuser"), ("  @@Troll_Farm ", "troll_farm"), ("Иван_Петров", "иван_петров"),
    ("https://VK.com/ID123?utm_campaign=x", "https://vk.com/ID123"),
])
def test_handles_are_lower_case_without_at(given, expected):
    assert normalise_handle(given) == expected


def test_rows_are_cleaned_and_empty_ones_dropped():
    rows = clean_rows([
        {"platform": "telegram", "account": "@Hater", "links": "https://t.me/c/1?utm_source=a\n\nhttps://t.me/c/2",
         "approximate_time": " March 2026 "},
        {"platform": "", "account": "", "links": "", "approximate_time": ""},
    ])
    assert rows == [OnlineDetail("telegram", "hater", ("https://t.me/c/1", "https://t.me/c/2"), "March 2026")]
    assert online_details.from_json(online_details.to_json(rows)) == rows


def test_bad_rows_name_each_problem():
    with pytest.raises(DetailsInvalid) as invalid:
        clean_rows([{"platform": "myspace", "account": "x"},
                    {"platform": "vk", "links": "javascript:alert(1)"},
                    {"platform": "x", "account": "a\x00b"}])
    assert invalid.value.problems == {(0, "platform"): "choice", (1, "links"): "url", (2, "account"): "nul"}


def test_more_than_ten_rows_are_refused():
    with pytest.raises(DetailsInvalid):
        clean_rows([{"platform": "other", "account": f"a{n}"} for n in range(11)])


def test_the_form_stores_normalised_rows_sealed_and_never_fetches_them(app, reporter, staff_directory, login,
                                                                       monkeypatch):
    import socket

    from reporter.extensions import db
    from reporter.models import Report

    def no_network(*args, **kwargs):
        raise AssertionError("the server must not open a connection for a link a reporter typed")

    monkeypatch.setattr(socket, "create_connection", no_network)
    response = reporter.submit(**{
        "online-0-platform": "instagram", "online-0-account": "@Harasser.One",
        "online-0-links": "https://www.instagram.com/p/abc/?igshid=xyz\nhttp://169.254.169.254/latest/meta-data/",
        "online-0-approximate_time": "last week",
    })
    assert response.status_code == 200
    with app.app_context():
        report = db.session.scalars(select(Report)).one()
        assert report.online_details_ct and b"harasser" not in report.online_details_ct
        report_id = report.id
    client = app.test_client()
    login(client, staff_directory.coordinator)
    page = client.get(f"/staff/cases/{report_id}").get_data(as_text=True)
    assert "harasser.one" in page and "https://instagram.com/p/abc/" in page and "igshid" not in page
    assert 'href="http://169.254.169.254' not in page  # shown as text, not as a link
    assert reporter.follow_up(reporter.receipt_of(response)).status_code == 302
    own = reporter.client.get("/followup/case").get_data(as_text=True)
    assert "harasser.one" in own and "Instagram" in own


def test_a_bad_link_comes_back_with_the_form(app, reporter):
    response = reporter.submit(**{"online-1-platform": "vk", "online-1-links": "file:///etc/passwd",
                                  "description": "Kept"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="online-1-links-error"' in page and "file:///etc/passwd" in page and "Kept" in page


def test_add_another_place_shows_one_more_row_without_javascript(reporter):
    reporter.submit()  # makes the coordinator
    page = reporter.client.get("/report").get_data(as_text=True)
    assert 'name="online-2-platform"' in page and 'name="online-3-platform"' not in page
    response = reporter.submit(add_online_row="1", description="Still here", **{"online-0-platform": "vk"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'name="online-3-platform"' in page and "Still here" in page
    assert 'id="receipt"' not in page


def test_sealed_rows_read_back_as_json(app):
    rows = [OnlineDetail("signal", "+995", (), "")]
    assert json.loads(online_details.to_json(rows))[0]["platform"] == "signal"
