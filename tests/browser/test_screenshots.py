"""Screenshots for the README and for reviewing the design: written only with REPORTER_SCREENSHOTS=1.

REPORTER_SCREENSHOTS=1 .venv/bin/pytest -q tests/browser/test_screenshots.py
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page

from tests.browser.journeys import open_case, submit_report

pytestmark = pytest.mark.usefixtures("receives_reports")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

pytestmark = pytest.mark.skipif(
    os.environ.get("REPORTER_SCREENSHOTS") != "1",
    reason="writes docs/screenshots only with REPORTER_SCREENSHOTS=1",
)


def test_write_screenshots(new_page: Callable[..., Page]) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    desktop = new_page(viewport={"width": 1280, "height": 800})
    for language in ("ka", "hy", "uk"):
        desktop.goto(f"/report?lang={language}")
        desktop.screenshot(path=SCREENSHOTS / f"report-form-{language}.png", full_page=False)
    desktop.goto("/report?lang=en")
    desktop.screenshot(path=SCREENSHOTS / "report-form-en.png", full_page=True)

    receipt = submit_report(desktop)
    desktop.screenshot(path=SCREENSHOTS / "receipt.png", full_page=True)

    open_case(desktop, receipt)
    desktop.screenshot(path=SCREENSHOTS / "followup-case.png", full_page=True)

    phone = new_page(
        viewport={"width": 360, "height": 740},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="ru-RU",  # a Russian-speaking reporter's browser
    )
    phone.goto("/report?lang=ru")
    phone.screenshot(path=SCREENSHOTS / "report-form-ru-mobile.png", full_page=True)

    for name in ("report-form-en.png", "receipt.png", "followup-case.png", "report-form-ru-mobile.png"):
        assert (SCREENSHOTS / name).stat().st_size > 1000
