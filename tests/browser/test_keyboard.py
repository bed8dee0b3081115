"""A keyboard-only reporter: skip link and quick exit first, every control in order, focus always seen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page

from tests.browser.keyboard import focused, tab_sequence

pytestmark = pytest.mark.usefixtures("receives_reports")

FORM_STOPS = [
    "#incident_kind-0",  # a radio group is one Tab stop; arrows move inside it
    "#category",
    "#country",
    "#occurred_on",
    "#description",
    "#perpetrator",
    "#contact",
    "summary",  # the online details: a block that opens itself once the incident is online
    # each row of them: its fields, then its closed "Did you report it to the platform?" group
    *[f"#online-{row}-{name}" for row in range(3)
      for name in ("platform", "account", "links", "approximate_time", "platform-response")],
    "#attachments",
    "#keep_originals",
    "#stats_consent",
    "#referral_consent",
    "#consent",
    "submit",
]

_OUTLINE = """() => {
  const style = getComputedStyle(document.activeElement);
  return {style: style.outlineStyle, width: parseFloat(style.outlineWidth)};
}"""


def test_tab_starts_with_skip_link_then_quick_exit(page: Page) -> None:
    page.goto("/report")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.classList.contains('skip-link')")
    assert page.is_visible(".skip-link")
    assert page.evaluate("() => document.activeElement.getBoundingClientRect().left >= 0")
    page.keyboard.press("Tab")
    assert focused(page) == "#quick-exit"


def test_skip_link_moves_focus_to_main_and_on_into_the_form(page: Page) -> None:
    page.goto("/report")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert focused(page) == "#main"
    page.keyboard.press("Tab")
    assert focused(page) == FORM_STOPS[0]


def test_every_form_control_is_reached_by_tab_in_visual_order(page: Page) -> None:
    page.goto("/report")
    # Online, without moving the focus: the online details open by themselves.
    page.evaluate("""() => { const online = document.getElementById('incident_kind-0');
      online.checked = true; online.dispatchEvent(new Event('change')); }""")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # the skip link: past the header, into main
    stops = tab_sequence(page, until="submit")
    assert stops == FORM_STOPS

    tops = [
        page.eval_on_selector(
            "form button[type=submit]" if stop == "submit" else stop, "el => el.getBoundingClientRect().top"
        )
        for stop in stops
    ]
    assert tops == sorted(tops), f"Tab order {stops} does not follow the page top to bottom: {tops}"

    # Every control outside a closed group; a closed group's summary is a stop, and opens it with Enter.
    names = page.eval_on_selector_all(
        "form input:not([type=hidden]), form select, form textarea",
        "els => [...new Set(els.filter(e => !e.closest('details.platform-response:not([open])'))"
        ".map(e => e.name))]",
    )
    controls = [stop for stop in stops
                if stop not in ("submit", "summary") and "platform-response" not in stop]
    reached = {page.eval_on_selector(stop, "el => el.name") for stop in controls}
    assert set(names) == reached, "some form control cannot be reached with Tab"


def test_the_other_choices_of_a_radio_group_are_reached_with_arrow_keys(page: Page) -> None:
    page.goto("/report")
    page.focus("#incident_kind-0")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert focused(page) == "#incident_kind-2"
    assert page.is_checked("#incident_kind-2")


def test_focus_is_visible_on_every_control_and_link(page: Page) -> None:
    page.goto("/report")
    invisible: list[str] = []
    for _ in range(40):
        page.keyboard.press("Tab")
        stop = focused(page)
        if stop == "body":
            break
        outline = page.evaluate(_OUTLINE)
        if outline["style"] == "none" or outline["width"] < 2:
            invisible.append(f"{stop}: outline {outline}")
    assert not invisible, "focus not visible on:\n" + "\n".join(invisible)


def test_a_focused_text_input_shows_an_outline(page: Page) -> None:
    page.goto("/followup")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert focused(page) == "#receipt"
    outline = page.evaluate(_OUTLINE)
    assert outline["style"] != "none" and outline["width"] >= 2, outline
