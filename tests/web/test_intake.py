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
    assert 'id="case-status"' in page and 'data-status="new">Received<' in page
    assert 'aria-current="step"' in page and ">new<" not in page
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


def test_the_reporter_sees_their_files_by_their_own_names_and_what_cleaning_did(app, client, reporter):
    import io

    from tests.evidence.samples import jpeg_with_metadata

    photo = (io.BytesIO(jpeg_with_metadata()), "street-photo.jpg", "image/jpeg")
    response = reporter.submit(attachments=[photo])
    receipt = reporter.receipt_of(response)
    assert reporter.follow_up(receipt).status_code == 302
    page = client.get("/followup/case").get_data(as_text=True)
    assert 'id="reporter-files"' in page and "street-photo.jpg" in page
    assert "Hidden details such as location" in page


def test_every_reporter_page_links_how_to_report_safely_with_the_organisations_contacts(app_factory):
    app = app_factory(REPORTER_ORGANISATION_NAME="Safe Voices Network",
                      REPORTER_ORGANISATION_DESCRIPTION="A network that protects women peacebuilders.",
                      REPORTER_ORGANISATION_CONTACT="Signal +995 555 010 101",
                      REPORTER_ORGANISATION_EMERGENCY="+995 555 999 999 (day and night)")
    client = app.test_client()
    for path in ("/", "/report", "/followup"):
        page = client.get(path).get_data(as_text=True)
        assert 'id="safety-link"' in page and "Safe Voices Network" in page
    safety = client.get("/safety").get_data(as_text=True)
    assert "Tor Browser" in safety and "+995 555 999 999" in safety and "Signal +995 555 010 101" in safety
    assert 'id="organisation-description"' in safety


def test_when_nobody_can_receive_the_page_shows_the_emergency_contact(app_factory):
    from tests.conftest import VALID_REPORT, csrf_token_of

    app = app_factory(REPORTER_ORGANISATION_EMERGENCY="+995 555 999 999 (day and night)")
    client = app.test_client()  # no staff at all: nobody can receive
    token = csrf_token_of(client.get("/report").get_data(as_text=True))
    response = client.post("/report", data={**VALID_REPORT, "csrf_token": token})
    page = response.get_data(as_text=True)
    assert response.status_code == 503 and 'id="emergency-contact"' in page and "+995 555 999 999" in page


def test_online_details_are_a_collapsed_block_until_the_incident_is_online(client, reporter):
    page = client.get("/report").get_data(as_text=True)
    assert '<details class="online-wrap" id="online-wrap">' in page  # closed: works without scripts
    response = reporter.submit(incident_kind="both", description="")
    assert '<details class="online-wrap" id="online-wrap" open>' in response.get_data(as_text=True)
    offline = reporter.submit(incident_kind="offline", description="").get_data(as_text=True)
    assert '<details class="online-wrap" id="online-wrap">' in offline


def test_the_error_summary_has_no_double_punctuation(reporter):
    page = reporter.submit(description="", category="").get_data(as_text=True)
    start = page.index('class="error-summary"')
    summary = page[start:page.index("</ul>", start)]
    assert "?:" not in summary and "::" not in summary and ".:" not in summary


def test_the_nine_countries_come_first(client):
    page = client.get("/report").get_data(as_text=True)
    first = page[page.index("<optgroup"):page.index("</optgroup>")]
    assert first.count("<option") == 9 and "Georgia" in first and "Ukraine" in first
    assert "Belarus" not in first


def test_the_report_form_with_its_css_and_scripts_travels_in_at_most_30_kb_in_every_language(client):
    from reporter import languages

    def travelled(path: str) -> int:
        response = client.get(path, headers={"Accept-Encoding": "gzip, deflate, br, zstd"})  # as browsers ask
        assert response.status_code == 200 and response.headers.get("Content-Encoding"), path
        assert "Accept-Encoding" in response.headers.get("Vary", ""), path
        return len(response.get_data())

    assets = sum(travelled(f"/static/{name}") for name in ("style.css", "quick-exit.js", "report-form.js"))
    for code in languages.available():
        assert travelled(f"/report?lang={code}") + assets <= 30 * 1024, code
