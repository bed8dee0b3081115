"""Helpers for the partner tests: a partner's key pair, registered and confirmed the real way."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from reporter.crypto import partner_files, seals
from reporter.models import Partner
from tests.casework import writing
from tests.staffing import StaffAccount, csrf_of, login


def staff_client(app: Flask, account: StaffAccount) -> FlaskClient:
    """Return a new client with `account` logged in."""
    client = app.test_client()
    login(client, account)
    return client


def register(client: FlaskClient, name: str, pair: seals.KeyPair) -> Any:
    """Register a partner through the coordinators' page; return the response."""
    return client.post("/staff/partners", data={
        "public_name": name, "key_text": partner_files.public_key_text(pair.public, pair.suite),
        "csrf_token": csrf_of(client, "/staff/partners")})


def partner_id(app: Flask, name: str) -> str:
    """Return the id of the partner registered under `name`."""
    with writing(app) as session:
        return str(session.scalars(select(Partner.id).where(Partner.public_name == name)).one())


def confirm(client: FlaskClient, partner: str, compared: str | None = "y") -> Any:
    """Confirm a partner's fingerprint through the page."""
    data = {"csrf_token": csrf_of(client, "/staff/partners")}
    if compared:
        data["compared"] = compared
    return client.post(f"/staff/partners/{partner}/confirm", data=data)


def ready_partner(app: Flask, registrant: FlaskClient, confirmer: FlaskClient,
                  name: str = "Legal Aid Tbilisi") -> tuple[seals.KeyPair, str]:
    """Return a partner's key pair and id, registered and confirmed by two coordinators."""
    pair = seals.generate_keypair()
    assert register(registrant, name, pair).status_code == 302
    partner = partner_id(app, name)
    assert confirm(confirmer, partner).status_code == 302
    return pair, partner


def export(client: FlaskClient, report_id: str, partner: str, fields: tuple[str, ...] = ("description",),
           files: tuple[str, ...] = ()) -> Any:
    """Post the case page's export form."""
    token = csrf_of(client, f"/staff/cases/{report_id}")
    return client.post(f"/staff/cases/{report_id}/partner-export", data={
        "csrf_token": token, "partner": partner, "fields": list(fields), "files": list(files)})


def attachment_ids(client: FlaskClient, report_id: str) -> list[str]:
    """Return the ids of a case's files as its page offers them for export."""
    page = client.get(f"/staff/cases/{report_id}").get_data(as_text=True)
    return re.findall(r'name="files" value="([0-9a-f]{32})"', page)
