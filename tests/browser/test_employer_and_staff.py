"""An employer verifies a valid, a revoked and a tampered credential; staff bulk-issue a CSV
with a bad row and see the error before anything is written, then work the console. Every
page is audited with axe-core; screenshots go to test-artifacts/browser."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from microcred.credentials import baking, service
from microcred.credentials.models import Award
from microcred.kit.db import unit_of_work
from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveSite, screenshot
from tests.browser.test_projects_and_console import sign_in

pytestmark = pytest.mark.browser


def credential_of(site: LiveSite, award_id: str) -> dict[str, object]:
    with unit_of_work(site.sessions) as session:
        return dict(service.public_award(session, award_id=uuid.UUID(award_id)).credential)


def award_count(site: LiveSite) -> int:
    with unit_of_work(site.sessions) as session:
        return int(session.scalar(select(func.count()).select_from(Award)) or 0)


def test_employer_verifies_valid_revoked_and_tampered_credentials(
    page: Page, live_site: LiveSite, tmp_path: Path
) -> None:
    site, seeded = live_site, live_site.seeded
    page.goto(f"{site.base_url}/verify")
    expect(page.get_by_role("heading", name="Verify a credential")).to_be_visible()
    assert_accessible(page, context="verify-form")

    # A valid one, as the baked badge image a candidate attached to an application.
    valid = credential_of(site, seeded.award_ids[0])
    badge = tmp_path / "badge.png"
    badge.write_bytes(baking.bake_png(baking.default_badge_png(label="x"), json.dumps(valid)))
    page.get_by_label("The credential file, badge image or certificate").set_input_files(badge)
    page.get_by_role("button", name="Verify the file").click()
    expect(page.locator("#verdict-title")).to_contain_text("✔ VALID")
    expect(page.get_by_text("Signed by Demo University").first).to_be_visible()
    page.get_by_text("Technical details").first.click()
    assert_accessible(page, context="verify-valid")
    screenshot(page, "verify-valid")

    # A revoked one, pasted as JSON.
    revoked = credential_of(site, seeded.revoked_award_id)
    page.goto(f"{site.base_url}/verify")
    page.get_by_label("The credential's JSON text").fill(json.dumps(revoked))
    page.get_by_role("button", name="Verify the pasted credential").click()
    expect(page.locator("#verdict-title")).to_contain_text("✘ INVALID")
    expect(page.get_by_text("revoked").first).to_be_visible()
    assert_accessible(page, context="verify-revoked")
    screenshot(page, "verify-revoked")

    # A tampered one: someone improved their grade.
    tampered = json.loads(json.dumps(valid))
    tampered["name"] = "Python for Data Analysis (with distinction)"
    page.goto(f"{site.base_url}/verify")
    page.get_by_label("The credential's JSON text").fill(json.dumps(tampered))
    page.get_by_role("button", name="Verify the pasted credential").click()
    expect(page.locator("#verdict-title")).to_contain_text("✘ INVALID")
    expect(page.get_by_text("signature", exact=False).first).to_be_visible()
    screenshot(page, "verify-tampered")

    # Broken input gets a message on the page, not a stack trace.
    page.goto(f"{site.base_url}/verify")
    page.get_by_label("The credential's JSON text").fill("{not json")
    page.get_by_role("button", name="Verify the pasted credential").click()
    expect(page.locator("#verdict-title")).to_contain_text("✘ INVALID")

    # Following the link (or scanning the QR code) of a shared credential.
    link = f"{site.base_url}/credentials/{seeded.award_ids[0]}"
    page.goto(f"{site.base_url}/verify")
    page.get_by_label("The credential's link").fill(link)
    page.get_by_role("button", name="Open and verify").click()
    expect(page.locator("#verdict-title")).to_contain_text("✔ VALID")


def test_staff_bulk_issue_shows_row_errors_before_writing_and_console_pages_pass_axe(
    page: Page, live_site: LiveSite
) -> None:
    site, seeded = live_site, live_site.seeded
    sign_in(page, site, seeded.admin_email)
    expect(page).to_have_url(f"{site.base_url}/console")
    expect(page.get_by_text("Share rate").first).to_be_visible()
    assert_accessible(page, context="console-home")
    screenshot(page, "console-home")

    before = award_count(site)
    page.goto(f"{site.base_url}/console/awards/bulk")
    assert_accessible(page, context="console-bulk")
    page.get_by_label("Or paste the CSV here").fill(
        "learner_email,achievement\n"
        "sofia.rossi@example.org,sql-foundations\n"
        "nobody@example.org,sql-foundations\n"
    )
    page.get_by_role("button", name="Check the rows").click()
    expect(page.get_by_role("heading", name="Check before issuing")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("1 of 2 rows has an error")
    # The row's error is visible on a phone without scrolling the table sideways.
    expect(page.get_by_text("Row 2 (nobody@example.org):")).to_be_visible()
    assert award_count(site) == before, "the preview wrote something"
    assert_accessible(page, context="console-bulk-preview")
    screenshot(page, "console-bulk-preview")

    page.goto(f"{site.base_url}/console/awards/bulk")
    page.get_by_label("Or paste the CSV here").fill(
        "learner_email,achievement\n"
        "sofia.rossi@example.org,sql-foundations\n"
        "nobody@example.org,sql-foundations\n"
    )
    page.get_by_label("Issue the rows that are right, skip the others").check()
    page.get_by_role("button", name="Check the rows").click()
    page.get_by_role("button", name="Issue 1 credential").click()
    expect(page.get_by_role("status")).to_contain_text("1 credential issued")
    assert award_count(site) == before + 1

    for path, name in (
        ("/console/achievements", "console-achievements"),
        ("/console/achievements/new", "console-achievement-new"),
        ("/console/awards", "console-awards"),
        (f"/console/awards/{seeded.revoked_award_id}", "console-award"),
        ("/console/awards/issue", "console-issue"),
        ("/console/institution", "console-institution"),
        ("/console/keys", "console-keys"),
    ):
        response = page.goto(f"{site.base_url}{path}")
        assert response is not None and response.status == 200, path
        assert_accessible(page, context=name)
        screenshot(page, name)
