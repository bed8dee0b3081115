"""The reporter's path through HTTP: form, receipt, follow-up, logout."""

from __future__ import annotations

from sqlalchemy import func, select

from reporter.extensions import db
from reporter.models import AuditEvent, Report, Seal


def test_form_renders_every_contract_field(client):
    html = client.get("/report").get_data(as_text=True)
    for name in ("incident_kind", "category", "country", "occurred_on", "description", "perpetrator",
                 "contact", "consent", "csrf_token", "attachments", "keep_originals"):
        assert f'name="{name}"' in html
    assert 'enctype="multipart/form-data"' in html


def test_submission_shows_a_receipt_and_stores_report_seals_and_event(app, reporter):
    response = reporter.submit()
    assert response.status_code == 200
    receipt = reporter.receipt_of(response)
    assert len(receipt) == 24 and receipt.count("-") == 4
    with app.app_context():
        session = db.session
        assert session.scalar(select(func.count()).select_from(Report)) == 1
        kinds = sorted(session.scalars(select(Seal.recipient_kind)))
        assert kinds == ["escrow", "reporter", "staff"]  # the staff seal: the coordinator, by routing
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.actor_role == "reporter")))
        assert actions == ["report.submitted"]


def test_receipt_opens_own_report_read_only(reporter, make_report):
    receipt = make_report(description="My own words about what happened")
    response = reporter.follow_up(receipt)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/followup/case")
    page = reporter.client.get("/followup/case").get_data(as_text=True)
    assert 'id="case-status"' in page and ">new<" in page
    assert "My own words about what happened" in page


def test_receipt_is_accepted_lower_cased_and_spaced(reporter, make_report):
    receipt = make_report()
    spaced = " ".join(receipt.replace("-", "").lower())
    assert reporter.follow_up(spaced).status_code == 302


def test_logout_forgets_the_case_at_once(reporter, make_report):
    receipt = make_report()
    reporter.follow_up(receipt)
    cookie = reporter.client.get_cookie("__Host-session")
    assert cookie is not None
    stolen = cookie.value
    token = reporter.token("/followup")
    assert reporter.client.post("/followup/logout", data={"csrf_token": token}).status_code == 302
    assert reporter.client.get("/followup/case").status_code == 302
    # a copy of the cookie taken before logout opens nothing either
    reporter.client.set_cookie("__Host-session", stolen, domain="localhost", secure=True)
    response = reporter.client.get("/followup/case")
    assert response.status_code == 302 and "/followup" in response.headers["Location"]


def test_case_page_without_receipt_redirects_to_followup(client):
    response = client.get("/followup/case")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/followup")


def test_healthz_says_ok_and_nothing_else(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_data(as_text=True) == "ok"
