"""Georgian and Armenian render with the visitor's own fonts: no web font, and no glyph drawn as a box.

The test setup installs Debian's Noto fonts (scripts/test), as a visitor's phone or computer has
fonts for its own script; the product ships none. Every Georgian or Armenian character on the page
is drawn on a canvas in the page's own font stack and compared with a character no font has (a
noncharacter, drawn as the fallback box): a character drawn the same way has no glyph.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, Request

pytestmark = pytest.mark.usefixtures("receives_reports")

BLOCKS = {"ka": (0x10A0, 0x10FF), "hy": (0x0530, 0x058F)}

_BOXED = """([low, high]) => {
  const text = document.body.innerText;
  const wanted = [...new Set([...text].filter(ch => ch.codePointAt(0) >= low && ch.codePointAt(0) <= high))];
  const canvas = document.createElement('canvas');
  canvas.width = 48; canvas.height = 48;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  ctx.font = '32px ' + getComputedStyle(document.body).fontFamily;
  const draw = ch => { ctx.clearRect(0, 0, 48, 48); ctx.fillText(ch, 4, 36);
                       return ctx.getImageData(0, 0, 48, 48).data.join(''); };
  const box = draw('\\uFFFF');
  return {count: wanted.length, boxed: wanted.filter(ch => draw(ch) === box)};
}"""


@pytest.mark.parametrize("language", ["ka", "hy"])
def test_the_report_form_renders_every_character_of_its_script(new_page: Callable[..., Page], language: str,
                                                                 tmp_path: Path) -> None:
    page = new_page(viewport={"width": 1280, "height": 900})
    fonts: list[str] = []
    page.on("request", lambda request: fonts.append(request.url) if _is_font(request) else None)
    page.goto(f"/report?lang={language}", wait_until="load")
    result = page.evaluate(_BOXED, list(BLOCKS[language]))
    assert result["count"] >= 20, f"too little {language} text on the page to check: {result}"
    assert result["boxed"] == [], f"drawn as boxes: {result['boxed']}"
    assert fonts == [], "no web font is downloaded"
    shot = page.screenshot(path=str(tmp_path / f"report-form-{language}.png"), full_page=False)
    assert len(shot) > 10_000  # kept in the test's folder; README's come from test_screenshots.py


def _is_font(request: Request) -> bool:
    return request.resource_type == "font"
