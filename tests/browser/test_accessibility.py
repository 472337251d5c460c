"""WCAG 2.2 AA (axe-core) on the pages anyone can open without signing in, with the demo data.

The signed-in learner's pages are audited along the way in test_learner_journey.py.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveSite, screenshot

pytestmark = pytest.mark.browser


def test_signed_out_pages(page: Page, live_site: LiveSite) -> None:
    site = live_site
    page.goto(f"{site.base_url}/")
    expect(page.get_by_role("main").get_by_role("link", name="Sign in")).to_be_visible()
    assert_accessible(page, context="home-signed-out")

    page.goto(f"{site.base_url}/sign-in")
    assert_accessible(page, context="sign-in")
    page.get_by_label("Institution").fill(site.seeded.institution_slug)
    page.get_by_label("E-mail").fill(site.seeded.learner_email)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    screenshot(page, "sign-in-error")
    assert_accessible(page, context="sign-in-error")


def test_public_credential_pages(page: Page, live_site: LiveSite) -> None:
    """Every shared demo credential, anonymously: the verdict matches the award's state."""
    seeded = live_site.seeded
    shared = [seeded.award_ids[i] for i in (0, 2, 4, 5)]
    for award_id in shared:
        page.goto(f"{live_site.base_url}/credentials/{award_id}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        valid = award_id not in (seeded.revoked_award_id, seeded.suspended_award_id)
        expect(page.locator("#verdict-title")).to_contain_text("✔ VALID" if valid else "✘ INVALID")
        if award_id == seeded.revoked_award_id:
            name = "credential-revoked"
        elif award_id == seeded.suspended_award_id:
            name = "credential-suspended"
        else:
            name = f"credential-{seeded.award_ids.index(award_id)}"
        screenshot(page, name)
        assert_accessible(page, context=name)
