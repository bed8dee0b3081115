"""Reading and moving keyboard focus the way a keyboard-only user does: Tab, and nothing else."""

from __future__ import annotations

from playwright.sync_api import Page

_FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) { return "body"; }
  if (el.id) { return "#" + el.id; }
  if (el.matches("form button[type=submit]")) { return "submit"; }
  return el.tagName.toLowerCase() + (el.getAttribute("href") ? "[href=" + el.getAttribute("href") + "]" : "");
}"""


def focused(page: Page) -> str:
    """Return a short name of the focused element: #id, "submit", "body", or tag[href=...]."""
    name: str = page.evaluate(_FOCUSED)
    return name


def tab_to(page: Page, target: str, *, limit: int = 30) -> None:
    """Press Tab until `target` (a name as `focused` gives it) has focus; fail after `limit` presses."""
    passed: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        if now == target:
            return
        passed.append(now)
    raise AssertionError(f"{target} not reached by Tab; focus went through {passed}")


def tab_sequence(page: Page, *, until: str, limit: int = 40) -> list[str]:
    """Press Tab until `until` has focus; return the focus stops on the way, repeats merged.

    A date input is several stops in Chromium (day, month, year, picker): they count as one.
    """
    stops: list[str] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        if not stops or stops[-1] != now:
            stops.append(now)
        if now == until:
            return stops
    raise AssertionError(f"{until} not reached by Tab; focus went through {stops}")
