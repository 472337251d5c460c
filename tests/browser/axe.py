"""WCAG 2.2 AA checks with axe-core for the browser tests.

Call `assert_accessible(page, context="what this page is")` once the page shows what you
want audited (after navigation, after an error message appears, ...). axe-core is the exact
version pinned in tests/interop/package.json, installed by `make interop-deps` (which
`make test` runs).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from tests.browser.conftest import ARTIFACTS

AXE_JS = (
    Path(__file__).resolve().parents[1] / "interop" / "node_modules" / "axe-core" / "axe.min.js"
)
WCAG_22_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")
REPORTS = ARTIFACTS / "axe"


@lru_cache(maxsize=1)
def _axe_source() -> str:
    __tracebackhide__ = True
    if not AXE_JS.is_file():
        # Like the interop tests: a missing tool is a failure (in CI and locally), never a skip,
        # so an accessibility check cannot silently stop running.
        pytest.fail(f"axe-core is not installed ({AXE_JS} is missing): run `make interop-deps`")
    return AXE_JS.read_text(encoding="utf-8")


def _describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for rule in violations:
        lines.append(f"- {rule['id']} [{rule.get('impact') or '?'}]: {rule['help']}")
        lines.append(f"    {rule['helpUrl']}")
        for node in rule["nodes"]:
            target = " ".join(t if isinstance(t, str) else json.dumps(t) for t in node["target"])
            html = " ".join(node.get("html", "").split())
            lines.append(f"    at {target}  {html[:120]}{'…' if len(html) > 120 else ''}")
            summary = [part.strip() for part in (node.get("failureSummary") or "").splitlines()]
            lines.append(f"       {' '.join(summary[:1])} {'; '.join(p for p in summary[1:] if p)}")
    return "\n".join(lines)


def assert_accessible(page: Page, *, context: str) -> None:
    """Fail unless axe-core finds no WCAG 2.0/2.1/2.2 A and AA violations on `page` as it is now.

    `context` names the page in the failure message and in the report's file name (for
    example "sign-in" or "credential-revoked"). On failure the message lists each violated rule
    (id, impact, help text, link) with the CSS selectors of the offending elements, and axe's
    full JSON report is written to test-artifacts/browser/axe/<context>.json. Results axe cannot
    decide on its own ("incomplete", needing a human) do not fail the test.

    The app's Content-Security-Policy allows no scripts at all, so a <script> tag (Playwright's
    `add_script_tag`) would be refused. The axe source is instead evaluated through the DevTools
    protocol (`page.evaluate`), which CSP does not govern. The browser context keeps enforcing
    the real CSP (no `bypass_csp`), so the page is audited exactly as users get it.
    """
    __tracebackhide__ = True  # point pytest's traceback at the caller
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())
    results: dict[str, Any] = page.evaluate(
        """tags => axe.run(document, {
            runOnly: {type: 'tag', values: tags},
            resultTypes: ['violations'],
        })""",
        list(WCAG_22_AA),
    )
    violations = results["violations"]
    if not violations:
        return
    REPORTS.mkdir(parents=True, exist_ok=True)
    report = REPORTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', context)}.json"
    report.write_text(json.dumps(results, indent=2), encoding="utf-8")
    pytest.fail(
        f"axe-core {results['testEngine']['version']} found {len(violations)} WCAG 2.2 AA "
        f"violation(s) on {context} ({page.url}); report: {report}\n{_describe(violations)}"
    )
