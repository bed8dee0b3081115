"""axe-core in the page: WCAG 2.0, 2.1 and 2.2 levels A and AA, zero violations allowed."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page

WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")

_RUN_AXE = """async (tags) => {
  const options = {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]};
  const results = await axe.run(document, options);
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
    nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary || ""})),
  }));
}"""


def describe(violations: list[dict[str, Any]]) -> str:
    """Return violations as readable lines: rule id, help text, then each failing node."""
    lines: list[str] = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        lines.append(f"    see {violation['helpUrl']}")
        for node in violation["nodes"]:
            summary = " ".join(node["summary"].split())
            lines.append(f"    {node['target']}: {summary}")
    return "\n".join(lines)


class AxeChecker:
    """Runs axe-core, injected with page.evaluate: evaluation is not subject to the page's strict CSP."""

    #: Page states checked in this run, across every checker (printed at the end of the run).
    checked = 0

    def __init__(self, source: str) -> None:
        self.source = source

    def violations(self, page: Page) -> list[dict[str, Any]]:
        """Return the WCAG A/AA violations axe finds in the page as it is now."""
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(self.source)
        result: list[dict[str, Any]] = page.evaluate(_RUN_AXE, list(WCAG_TAGS))
        AxeChecker.checked += 1
        return result

    def assert_clean(self, page: Page) -> None:
        """Fail, listing every violation, unless axe finds none."""
        found = self.violations(page)
        assert not found, f"axe-core violations on {page.url}:\n{describe(found)}"
