"""A learner's project from submission to credential, through the assessor's console; and the
staff bank page. Every page is audited with axe-core."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from microcred.demo import DEMO_PASSWORD
from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveSite, screenshot

pytestmark = pytest.mark.browser


def sign_in(page: Page, site: LiveSite, email: str) -> None:
    page.goto(f"{site.base_url}/sign-in")
    page.get_by_label("Institution").fill(site.seeded.institution_slug)
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_project_submitted_reviewed_in_the_console_and_awarded(
    page: Page, live_site: LiveSite
) -> None:
    site, seeded = live_site, live_site.seeded
    project_url = f"{site.base_url}/assessments/{seeded.project_achievement_id}/project"
    sign_in(page, site, "li.wei@example.org")
    page.goto(project_url)
    expect(
        page.get_by_role("heading", name="Capstone mini-project: mine an open dataset")
    ).to_be_visible()
    assert_accessible(page, context="project-brief")
    page.get_by_label("Title").fill("Do shoppers buy pasta and sauce together?")
    page.get_by_label("What you did and what it shows").fill(
        "I mined association rules (apriori, support 1%) from an open sample of 40,000 "
        "grocery baskets. Pasta and sauce co-occur with lift 3.1; a random split of the baskets "
        "gave the same rule on both halves. The sample is one chain, so it may not generalise."
    )
    page.get_by_label("Links to your work").fill("https://example.org/notebooks/baskets")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.get_by_text("waiting for review").first).to_be_visible()
    screenshot(page, "project-submitted")
    assert_accessible(page, context="project-submitted")
    page.context.clear_cookies()

    sign_in(page, site, "admin@demo-university.example")
    page.goto(f"{site.base_url}/console/review")
    expect(page.get_by_role("heading", name="Projects waiting (2)")).to_be_visible()
    screenshot(page, "console-review")
    assert_accessible(page, context="console-review")
    case = page.locator("section.case", has_text="Do shoppers buy pasta and sauce together?")
    case.get_by_role("group", name="Question and data").get_by_label("2: Clear").check()
    case.get_by_role("group", name="Method").get_by_label("2: Justified").check()
    case.get_by_role("group", name="Validation").get_by_label("1: Basic").check()
    case.get_by_role("group", name="Critical interpretation").get_by_label("1: Present").check()
    case.get_by_label("Feedback for the learner").fill("A clear question, checked on a split.")
    case.get_by_role("button", name="Record the review").click()
    expect(page.get_by_text("Project accepted")).to_be_visible()

    page.goto(f"{site.base_url}/console/assessments/{seeded.assessments['sql-foundations']}")
    expect(page.get_by_role("heading", name="SQL Foundations: assessment")).to_be_visible()
    screenshot(page, "console-bank")
    assert_accessible(page, context="console-bank")
    page.context.clear_cookies()

    sign_in(page, site, "li.wei@example.org")
    page.goto(project_url)
    expect(page.get_by_text("accepted").first).to_be_visible()
    page.get_by_role("link", name="Your credential").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_text("Project").first).to_be_visible()
    screenshot(page, "project-credential")
