"""The reporter adds an online detail at follow-up: sealed, linked, audited, notified, bounded."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from reporter.intake import online_details
from reporter.models import AccountLink
from tests.casework import events, raw_storage, report_row, submit, writing
from tests.conftest import csrf_token_of
from tests.test_notifications import mailing_app, outbox
from tests.web.test_linking import HANDLE, LINKED, online

OTHER_HANDLE = "@Quillon_Menace42"


def _opened(reporter: Any, receipt: str) -> str:
    assert reporter.follow_up(receipt).status_code == 302
    page = reporter.client.get("/followup/case").get_data(as_text=True)
    assert "Add a place online" in page
    return csrf_token_of(page)


def _add(reporter: Any, token: str, **fields: str) -> Any:
    data = {"csrf_token": token, **{f"online-0-{name}": value for name, value in fields.items()}}
    return reporter.client.post("/followup/case/online", data=data)


def _links(app: Any, report_id: str) -> list[AccountLink]:
    with writing(app) as session:
        return list(session.scalars(select(AccountLink).where(AccountLink.report_id == report_id)))


def test_an_added_detail_is_sealed_shown_to_staff_linked_and_audited(
        app, reporter, staff_directory, login, backend, instance_path, database_url):
    _, other = submit(reporter, **online(OTHER_HANDLE))
    receipt, report_id = submit(reporter, description="Nothing online named at first")
    assert _links(app, report_id) == []
    version = report_row(app, report_id).version
    token = _opened(reporter, receipt)
    response = _add(reporter, token, platform="telegram", account=OTHER_HANDLE.upper(),
                    links="https://t.me/quillon_menace42/5?utm_source=x", approximate_time="last week")
    assert response.status_code == 302 and "done=online" in response.headers["Location"]
    page = reporter.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The place was added to your report." in page and "quillon_menace42" in page
    assert report_row(app, report_id).version > version
    assert {(row.platform, row.kind) for row in _links(app, report_id)} == {("telegram", "account"),
                                                                           ("telegram", "url")}
    coordinator = staff_directory.coordinator
    staff = app.test_client()
    login(staff, coordinator)
    case = staff.get(f"/staff/cases/{report_id}").get_data(as_text=True)
    assert "quillon_menace42" in case and "https://t.me/quillon_menace42/5" in case
    assert "utm_source" not in case
    assert LINKED.findall(case) == ["1"] and f"/staff/cases/{other}" in case
    (event,) = events(app, "followup.online_detail_added", report_id)
    assert event.actor_role == "reporter" and event.actor_id is None and "quillon" not in (event.detail or "")
    stored = raw_storage(backend, instance_path, database_url).lower()
    assert b"quillon" not in stored and b"last week" not in stored


def test_a_known_account_added_again_is_indexed_once(app, reporter):
    receipt, report_id = submit(reporter, **online(HANDLE))
    token = _opened(reporter, receipt)
    assert _add(reporter, token, platform="telegram", account="zorblax_troll77").status_code == 302
    assert len(_links(app, report_id)) == 1


def test_bad_input_comes_back_with_a_clear_error_and_nothing_changes(app, reporter):
    receipt, report_id = submit(reporter)
    token = _opened(reporter, receipt)
    empty = _add(reporter, token)
    assert empty.status_code == 400 and "Please choose the platform." in empty.get_data(as_text=True)
    bad = _add(reporter, token, platform="telegram", links="javascript:alert(1)")
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "start with http:// or https://" in text
    assert 'aria-invalid="true"' in text
    unknown = _add(reporter, token, platform="myspace", account="someone")
    assert unknown.status_code == 400
    assert events(app, "followup.online_detail_added") == [] and _links(app, report_id) == []


def test_a_report_takes_at_most_the_forms_number_of_details(app, reporter):
    rows = {f"online-{i}-{name}": value for i in range(online_details.MAX_ROWS)
            for name, value in (("platform", "vk"), ("account", f"account{i}"))}
    receipt, report_id = submit(reporter, incident_kind="online", online_rows=str(online_details.MAX_ROWS),
                                **rows)
    assert reporter.follow_up(receipt).status_code == 302
    page = reporter.client.get("/followup/case").get_data(as_text=True)
    assert 'id="online-full"' in page and "Add this place" not in page
    refused = _add(reporter, csrf_token_of(page), platform="vk", account="one_too_many")
    assert refused.status_code == 400 and "the most it can have" in refused.get_data(as_text=True)
    assert len(_links(app, report_id)) == online_details.MAX_ROWS
    assert events(app, "followup.online_detail_added") == []


def test_without_an_open_case_the_form_goes_back_to_the_receipt(client):
    response = client.post("/followup/case/online", data={"online-0-platform": "vk"})
    assert response.status_code in (302, 400)


def test_the_holders_are_told_as_for_a_message(app_factory, mailbox):
    mailing = mailing_app(app_factory, mailbox.port)
    receipt, _ = submit(mailing.reporter)
    outbox_before = len(outbox(mailing.app))
    token = _opened(mailing.reporter, receipt)
    assert _add(mailing.reporter, token, platform="vk", account="someone").status_code == 302
    added = outbox(mailing.app)[outbox_before:]
    assert [(row.staff_id, row.reason) for row in added] == [(mailing.staff.coordinator.id, "message")]
