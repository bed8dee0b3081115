"""The authorization matrix: every registered route x method x role, against one table.

The cases are generated from ``app.url_map`` of a real app, so a route added without a row in MATRIX
fails here. Outcomes:

* ``OK``: the request was served (2xx, a redirect elsewhere, or 400 for a form refused on content);
* ``LOGIN``: redirected to /staff/login with a ``next`` (the guard of every staff view);
* ``FOLLOWUP``: redirected to /followup (the reporter's case page without a receipt);
* 403, 404, 405: refused for lack of role, unknown object or link, method not allowed.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.staffing import csrf_of

OK, LOGIN, FOLLOWUP = "ok", "login", "followup"
ROLES = ("anonymous", "reporter", "focal_point", "coordinator", "auditor", "admin", "deactivated")
STAFF = ("focal_point", "coordinator", "auditor", "admin")
NOT_LOGGED_IN = ("anonymous", "reporter", "deactivated")
METHODS = ("GET", "POST")


def everyone(outcome: Any) -> dict[str, Any]:
    """Return the same outcome for every role."""
    return dict.fromkeys(ROLES, outcome)


def staff_only(*allowed: str) -> dict[str, Any]:
    """Return OK for `allowed` roles, 403 for other staff, LOGIN for anyone not logged in."""
    return {role: OK if role in allowed else 403 if role in STAFF else LOGIN for role in ROLES}


MATRIX: dict[tuple[str, str], dict[str, Any]] = {
    ("static", "GET"): everyone(OK),
    ("static", "POST"): everyone(405),
    ("intake.index", "GET"): everyone(OK),
    ("intake.index", "POST"): everyone(405),
    ("intake.healthz", "GET"): everyone(OK),
    ("intake.healthz", "POST"): everyone(405),
    ("intake.safety", "GET"): everyone(OK),
    ("intake.safety", "POST"): everyone(405),
    ("intake.report", "GET"): everyone(OK),
    ("intake.report", "POST"): everyone(OK),
    ("intake.followup_login", "GET"): everyone(OK),
    ("intake.followup_login", "POST"): everyone(OK),
    ("intake.followup_case", "GET"): {**everyone(FOLLOWUP), "reporter": OK},
    ("intake.followup_case", "POST"): everyone(405),
    ("intake.followup_logout", "GET"): everyone(405),
    ("intake.followup_logout", "POST"): everyone(OK),
    # Quick exit: a same-origin link (and form) for everyone, then off to the neutral site.
    ("intake.quick_exit", "GET"): everyone(OK),
    ("intake.quick_exit", "POST"): everyone(OK),
    ("staff.login", "GET"): everyone(OK),
    ("staff.login", "POST"): everyone(OK),
    ("staff.login_totp", "GET"): everyone(OK),  # no password step yet: back to the login form
    ("staff.login_totp", "POST"): everyone(OK),
    ("staff.recover", "GET"): everyone(OK),
    ("staff.recover", "POST"): everyone(OK),
    ("staff.enroll", "GET"): everyone(404),  # a link that does not exist
    ("staff.enroll", "POST"): everyone(404),
    ("staff.logout", "GET"): everyone(405),
    ("staff.logout", "POST"): staff_only(*STAFF),
    ("staff.home", "GET"): staff_only(*STAFF),
    ("staff.home", "POST"): everyone(405),
    ("staff.change_password", "GET"): staff_only(*STAFF),
    ("staff.change_password", "POST"): staff_only(*STAFF),
    ("staff.users", "GET"): staff_only("admin"),
    ("staff.users", "POST"): staff_only("admin"),
    ("staff.vet", "GET"): staff_only("coordinator"),
    ("staff.vet", "POST"): staff_only("coordinator"),
    ("staff.deactivate", "GET"): everyone(405),
    ("staff.deactivate", "POST"): staff_only("admin"),
    ("staff.suspend", "GET"): everyone(405),
    ("staff.suspend", "POST"): staff_only("admin"),
    ("staff.renew_key", "GET"): everyone(405),
    ("staff.renew_key", "POST"): staff_only("admin"),
    ("staff.renew_own_key", "GET"): everyone(405),
    ("staff.renew_own_key", "POST"): staff_only(*STAFF),
    ("staff.confirm_offboarding", "GET"): everyone(405),
    ("staff.confirm_offboarding", "POST"): staff_only("coordinator"),
    ("staff.reinstate", "GET"): everyone(405),
    ("staff.reinstate", "POST"): staff_only("coordinator"),
    ("audit.events", "GET"): staff_only("auditor"),
    ("audit.events", "POST"): everyone(405),
    ("audit.verify", "GET"): staff_only("auditor"),
    ("audit.verify", "POST"): everyone(405),
    ("audit.export_csv", "GET"): staff_only("auditor"),
    ("audit.export_csv", "POST"): everyone(405),
    ("audit.head", "GET"): staff_only("auditor"),
    ("audit.head", "POST"): everyone(405),
    ("audit.case_access", "GET"): staff_only("auditor"),  # an id with no events: an empty report
    ("audit.case_access", "POST"): everyone(405),
    # The reporter's reply: only with an unlocked case (an empty body is refused on content: 400).
    ("intake.followup_message", "GET"): everyone(405),
    ("intake.followup_message", "POST"): {**everyone(FOLLOWUP), "reporter": OK},
    # What a platform did, recorded by the reporter (here: a row the report does not have, refused: 400).
    ("intake.followup_platform_response", "GET"): everyone(405),
    ("intake.followup_platform_response", "POST"): {**everyone(FOLLOWUP), "reporter": OK},
    ("intake.followup_online_detail", "GET"): everyone(405),
    ("intake.followup_online_detail", "POST"): {**everyone(FOLLOWUP), "reporter": OK},
    # Cases: only focal points and coordinators; a case they hold no seal for (here: one that does not
    # exist) is 404 for them, exactly like a case of someone else (tests/web/test_cases.py).
    ("cases.queue", "GET"): staff_only("focal_point", "coordinator"),
    ("cases.queue", "POST"): everyone(405),
    # Staff intake: a report entered for someone who called or came in (an empty form is refused: 400).
    ("cases.enter_report", "GET"): staff_only("focal_point", "coordinator"),
    ("cases.enter_report", "POST"): staff_only("focal_point", "coordinator"),
    ("cases.case", "GET"): {**staff_only("focal_point", "coordinator"), "focal_point": 404,
                            "coordinator": 404},
    ("cases.case", "POST"): everyone(405),
    ("cases.routing_rules", "GET"): staff_only("coordinator"),
    ("cases.routing_rules", "POST"): staff_only("coordinator"),
    ("cases.delete_rule", "GET"): everyone(405),
    ("cases.delete_rule", "POST"): {**staff_only("coordinator"), "coordinator": 404},
    ("cases.linked_accounts", "GET"): staff_only("coordinator"),
    ("cases.linked_accounts", "POST"): everyone(405),
    # Campaigns: focal points and coordinators; a campaign they may not see (here: none) is 404.
    ("cases.campaign_list", "GET"): staff_only("focal_point", "coordinator"),
    ("cases.campaign_list", "POST"): staff_only("focal_point", "coordinator"),  # no name: refused, 400
    ("cases.campaign", "GET"): {**staff_only("focal_point", "coordinator"), "focal_point": 404,
                                "coordinator": 404},
    ("cases.campaign", "POST"): everyone(405),
    ("cases.reply_templates", "GET"): staff_only("coordinator"),
    ("cases.reply_templates", "POST"): staff_only("coordinator"),  # an empty template: refused on content
    ("cases.delete_reply_template", "GET"): everyone(405),
    ("cases.delete_reply_template", "POST"): {**staff_only("coordinator"), "coordinator": 404},
    ("cases.route_again", "GET"): everyone(405),
    ("cases.route_again", "POST"): {**staff_only("coordinator"), "coordinator": 404},
    # Statistics: aggregate counts only; coordinators their region, auditors every region.
    ("stats.overview", "GET"): staff_only("coordinator", "auditor"),
    ("stats.overview", "POST"): everyone(405),
    ("stats.export_csv", "GET"): staff_only("coordinator", "auditor"),
    ("stats.export_csv", "POST"): everyone(405),
    ("cases.extend_retention", "GET"): everyone(405),
    ("cases.extend_retention", "POST"): {**staff_only("coordinator"), "coordinator": 404},
}
# A file of a case: the same guard as the case; the case (here: one that does not exist) answers 404.
MATRIX[("cases.attachment", "GET")] = MATRIX[("cases.case", "GET")]
MATRIX[("cases.attachment", "POST")] = everyone(405)
for _action in ("triage_case", "assess", "note", "message", "refer", "platform_response",
                "clear_escalation", "add_to_campaign", "remove_from_campaign"):
    MATRIX[(f"cases.{_action}", "GET")] = everyone(405)
    MATRIX[(f"cases.{_action}", "POST")] = MATRIX[("cases.case", "GET")]
# Partner organisations: coordinators keep the list; an export is a case action (404: no such case).
MATRIX.update({
    ("cases.partner_list", "GET"): staff_only("coordinator"),
    ("cases.partner_list", "POST"): staff_only("coordinator"),  # an empty registration: refused on content
    ("cases.confirm_partner", "GET"): everyone(405),
    ("cases.confirm_partner", "POST"): {**staff_only("coordinator"), "coordinator": 404},
    ("cases.retire_partner", "GET"): everyone(405),
    ("cases.retire_partner", "POST"): {**staff_only("coordinator"), "coordinator": 404},
    ("cases.partner_export_case", "GET"): everyone(405),
    ("cases.partner_export_case", "POST"): MATRIX[("cases.case", "GET")],
    ("intake.followup_referral_consent", "GET"): everyone(405),
    ("intake.followup_referral_consent", "POST"): {**everyone(FOLLOWUP), "reporter": OK},
})


@functools.cache
def _registered_rules() -> list[tuple[str, str]]:
    """Return (endpoint, rule) of every route a real app registers (built once, at collection)."""
    from reporter import create_app
    from reporter.keyring import create_instance_keys

    folder = Path(tempfile.mkdtemp(prefix="reporter-matrix-"))
    create_instance_keys(folder / "keys", escrow_private_path=folder / "escrow.key")
    app = create_app({"TESTING": True, "REPORTER_KEYS_PATH": str(folder / "keys"),
                      "REPORTER_DATABASE_URL": f"sqlite:///{folder / 'unused.db'}"})
    return sorted((rule.endpoint, rule.rule) for rule in app.url_map.iter_rules())


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Generate one case per registered route x method x role."""
    if "case" in metafunc.fixturenames:
        cases = [(endpoint, rule, method, role) for endpoint, rule in _registered_rules()
                 for method in METHODS for role in ROLES]
        metafunc.parametrize("case", cases, ids=[f"{m} {r} as {role}" for _, r, m, role in cases])


def _path(rule: str, target_id: str) -> str:
    return (rule.replace("<path:filename>", "style.css").replace("<token>", "no-such-link")
            .replace("<person_id>", target_id).replace("<report_id>", "0" * 32).replace("<rule_id>", "0" * 32)
            .replace("<attachment_id>", "0" * 32).replace("<template_id>", "0" * 32)
            .replace("<int:position>", "0").replace("<partner_id>", "0" * 32)
            .replace("<campaign_id>", "0" * 32))


def outcome_of(response: Any) -> Any:
    """Classify a response as one of the matrix outcomes."""
    if response.status_code in (301, 302, 303):
        location = urlsplit(response.headers["Location"])
        if location.path == "/staff/login" and "next=" in location.query:
            return LOGIN
        return FOLLOWUP if location.path == "/followup" else OK
    return OK if response.status_code in (200, 400) else response.status_code


def browser_as(role: str, app: Any, reporter: Any, make_report: Any, make_staff: Any, login: Any,
               staff_directory: Any) -> Any:
    """Return a test client holding the session of `role`."""
    client = reporter.client
    if role == "reporter":
        reporter.follow_up(make_report())
    elif role == "deactivated":
        person = make_staff(role="focal_point")
        login(client, person)
        staff_directory.deactivate(person)
    elif role in STAFF:
        login(client, make_staff(role=role))
    return client


def test_authorization_matrix(case, app, reporter, make_report, make_staff, login, staff_directory):
    endpoint, rule, method, role = case
    expected_by_role = MATRIX.get((endpoint, method))
    if expected_by_role is None:
        pytest.fail(f"route {rule} ({endpoint}) {method} has no row in the authorization matrix")
    client = browser_as(role, app, reporter, make_report, make_staff, login, staff_directory)
    # someone to vet or offboard: enrolled, invited by the admin, not yet vetted
    target = make_staff(role="focal_point", state="enrolled").id if "<person_id>" in rule else ""
    data = {"csrf_token": csrf_of(client, "/report")} if method == "POST" else None
    response = client.open(_path(rule, target), method=method, data=data)
    assert outcome_of(response) == expected_by_role[role], response.get_data(as_text=True)[:300]


def test_matrix_has_no_stale_rows():
    registered = {endpoint for endpoint, _ in _registered_rules()}
    assert {endpoint for endpoint, _ in MATRIX} <= registered
