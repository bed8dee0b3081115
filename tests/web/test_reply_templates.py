"""Reply templates: coordinators keep them, every change is audited, focal points start a message from one."""

from __future__ import annotations

import re
from typing import Any

from tests.casework import add_rule, events, submit
from tests.conftest import csrf_token_of


def add(browser: Any, **data: str) -> Any:
    """Post the add form of the reply templates page."""
    token = csrf_token_of(browser.get("/staff/replies").get_data(as_text=True))
    return browser.post("/staff/replies", data={"csrf_token": token, **data})


def test_a_coordinator_adds_and_deletes_templates_and_each_change_is_audited(app, staff_directory, login):
    browser = app.test_client()
    login(browser, staff_directory.coordinator)
    response = add(browser, language="ru", title="First contact",
                   body="Здравствуйте. Мы получили ваше сообщение.")
    assert response.status_code == 302
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "The reply template is added." in page and "First contact" in page and "Русский" in page
    assert [e.action for e in events(app, "replies.template_added")] == ["replies.template_added"]
    template_id = re.search(r'action="/staff/replies/([0-9a-f]{32})/delete"', page).group(1)
    response = browser.post(f"/staff/replies/{template_id}/delete", data={"csrf_token": csrf_token_of(page)})
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "The reply template is deleted." in page and "First contact" not in page
    assert len(events(app, "replies.template_deleted")) == 1


def test_bad_templates_are_refused_with_a_clear_message(app, staff_directory, login):
    browser = app.test_client()
    login(browser, staff_directory.coordinator)
    cases = [
        ({"language": "en", "title": "", "body": "text"}, "Please give the template a title."),
        ({"language": "en", "title": "t", "body": "   "}, "Please write the text of the template."),
        ({"language": "en", "title": "t" * 81, "body": "text"}, "Please shorten the title to 80"),
        ({"language": "en", "title": "t", "body": "b" * 2001}, "Please shorten the text to 2000"),
        ({"language": "xx", "title": "t", "body": "text"}, "Please choose a language from the list."),
        ({"language": "en", "title": "t", "body": "a\x07b"}, "Something in the request was not right"),
        ({"language": "en", "title": "a\nb", "body": "text"}, "invisible control characters"),
    ]
    for data, said in cases:
        response = add(browser, **data)
        assert response.status_code == 400, data
        assert said in response.get_data(as_text=True), data
    assert events(app, "replies.template_added") == []


def test_a_focal_point_starts_a_message_from_a_template_without_javascript(
        app, reporter, make_staff, login, staff_directory):
    coordinator = app.test_client()
    login(coordinator, staff_directory.coordinator)
    add(coordinator, language="en", title="Acknowledge",
        body="Thank you. We have read your report & will reply.")
    focal_point = make_staff()
    add_rule(app, "GE", [focal_point])
    _, report_id = submit(reporter)
    browser = app.test_client()
    login(browser, focal_point)
    page = browser.get(f"/staff/cases/{report_id}").get_data(as_text=True)
    template_id = re.search(r'<option value="([0-9a-f]{32})"[^>]*>Acknowledge', page).group(1)
    assert re.search(r'<textarea id="message-body"[^>]*></textarea>', page)
    page = browser.get(f"/staff/cases/{report_id}?reply={template_id}").get_data(as_text=True)
    assert "Thank you. We have read your report &amp; will reply.</textarea>" in page
    for bad in ("nonsense", "0" * 32, "<script>"):
        response = browser.get(f"/staff/cases/{report_id}", query_string={"reply": bad})
        assert response.status_code == 200
    assert browser.get("/staff/replies").status_code == 403  # focal points use templates, never edit them
