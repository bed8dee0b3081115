"""After each staff action the page says, in the person's language, what happened; the risk
assessment form shows the answers last given."""

from __future__ import annotations

import re
from typing import Any

from tests.casework import add_rule, submit
from tests.conftest import csrf_token_of


def status_text(page: str) -> list[str]:
    """Return the text of every role="status" region of a page."""
    return [re.sub(r"<[^>]+>", "", block).strip()
            for block in re.findall(r'<div class="notice" role="status"[^>]*>(.*?)</div>', page, re.S)]


def act(browser: Any, report_id: str, action: str, data: dict[str, str]) -> str:
    """Post an action on the case from its page, follow the redirect, return the page shown."""
    path = f"/staff/cases/{report_id}"
    page = browser.get(path).get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page)
    form = {"csrf_token": csrf_token_of(page), "version": version.group(1) if version else "", **data}
    response = browser.post(f"{path}/{action}", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return browser.get(response.headers["Location"]).get_data(as_text=True)


def test_every_case_action_is_confirmed_beside_its_section(app, reporter, make_staff, login):
    focal_point, colleague = make_staff(), make_staff()
    add_rule(app, "GE", [focal_point])
    _, report_id = submit(reporter)
    browser = app.test_client()
    login(browser, focal_point)
    expected = {
        "triage": ({"status": "acknowledged", "risk": ""}, "The status and risk level are saved."),
        "assess": ({"imminent_danger": "y"}, "The risk assessment is recorded"),
        "note": ({"body": "called the partner organisation"}, "Your note is added to the case."),
        "message": ({"body": "We are looking into it."}, "Your message is sent."),
        "refer": ({"to": colleague.id, "reason": "workload"}, "The case is referred"),
    }
    for action, (data, said) in expected.items():
        shown = status_text(act(browser, report_id, action, data))
        assert len(shown) == 1 and shown[0].startswith(said), (action, shown)
    assert status_text(browser.get(f"/staff/cases/{report_id}").get_data(as_text=True)) == []
    assert status_text(browser.get(f"/staff/cases/{report_id}?done=nonsense").get_data(as_text=True)) == []


def test_confirmation_is_in_the_staff_members_language(app, reporter, make_staff, login):
    focal_point = make_staff()
    add_rule(app, "GE", [focal_point])
    _, report_id = submit(reporter)
    browser = app.test_client()
    login(browser, focal_point)
    english = status_text(browser.get(f"/staff/cases/{report_id}?done=note").get_data(as_text=True))
    russian = status_text(browser.get(f"/staff/cases/{report_id}?done=note&lang=ru").get_data(as_text=True))
    assert english == ["Your note is added to the case."] and len(russian) == 1
    assert re.search("[а-я]", russian[0]) or russian == english  # the catalogue may not have it yet


def test_the_assessment_form_shows_the_answers_last_given(app, reporter, make_staff, login):
    focal_point = make_staff()
    add_rule(app, "GE", [focal_point])
    _, report_id = submit(reporter)
    browser = app.test_client()
    login(browser, focal_point)
    page = browser.get(f"/staff/cases/{report_id}").get_data(as_text=True)
    assert not re.search(r'id="q-[a-z_]+"[^>]* checked', page) and 'id="assessment-last"' not in page
    act(browser, report_id, "assess", {"imminent_danger": "y", "state_actor": "y"})
    page = act(browser, report_id, "assess", {"state_actor": "y", "repeat_incident": "y"})
    ticked = set(re.findall(r'id="q-([a-z_]+)"[^>]* checked', page))
    assert ticked == {"state_actor", "repeat_incident"}
    assert 'id="assessment-last"' in page


def test_routing_rule_changes_are_confirmed(app, reporter, make_staff, login, staff_directory):
    focal_point = make_staff()
    browser = app.test_client()
    login(browser, staff_directory.coordinator)
    token = csrf_token_of(browser.get("/staff/routing").get_data(as_text=True))
    response = browser.post("/staff/routing", data={"csrf_token": token, "category": "*", "language": "*",
                                                    "members": [focal_point.id]})
    assert response.status_code == 302
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert status_text(page) == ["The routing rule is saved. New reports follow it from now on."]
    rule_id = re.search(r'action="/staff/routing/([^/"]+)/delete"', page).group(1)
    response = browser.post(f"/staff/routing/{rule_id}/delete", data={"csrf_token": csrf_token_of(page)})
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert status_text(page) == ["The routing rule is deleted. New reports no longer follow it."]


def test_vetting_decisions_are_confirmed_on_the_home_page(app, make_staff, login, staff_directory):
    coordinator = staff_directory.coordinator
    for decision, said in (("approve", "The person is approved"), ("reject", "The person is rejected")):
        newcomer = make_staff(state="enrolled")
        browser = app.test_client()
        login(browser, coordinator)
        token = csrf_token_of(browser.get(f"/staff/users/{newcomer.id}/vet").get_data(as_text=True))
        response = browser.post(f"/staff/users/{newcomer.id}/vet", data={"csrf_token": token,
                                                                         "decision": decision})
        assert response.status_code == 302
        shown = status_text(browser.get(response.headers["Location"]).get_data(as_text=True))
        assert len(shown) == 1 and shown[0].startswith(said)
