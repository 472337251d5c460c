"""Skills intelligence in a real browser, on the demo data: a learner picks the target job
"data analyst" by searching, sees the gap and the plan, and enrols in the first step; a staff
member reads the demand trends and the coverage report. axe-core audits every page on the way.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveSite, screenshot

pytestmark = pytest.mark.browser
DATA_ANALYST = "http://data.europa.eu/esco/occupation/d3edb8f8-3a06-47a0-8fb9-9b212c006aa2"


def sign_in(page: Page, site: LiveSite, email: str) -> None:
    page.goto(f"{site.base_url}/sign-in")
    page.get_by_label("Institution").fill(site.seeded.institution_slug)
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(site.seeded.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_a_learner_targets_data_analyst_and_enrols_in_the_first_step(
    page: Page, live_site: LiveSite
) -> None:
    site = live_site
    sign_in(page, site, site.seeded.learner_email)
    page.get_by_role("navigation", name="Site").get_by_role("link", name="My target job").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My target job")
    assert_accessible(page, context="target-empty")

    page.get_by_label("Occupation (for example “data analyst”)").fill("data analyst")
    page.get_by_role("button", name="Search").click()
    page.get_by_label("data analyst", exact=True).check()
    screenshot(page, "target-search")
    assert_accessible(page, context="target-search")
    page.get_by_role("button", name="Save and see my plan").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("My plan toward data analyst")
    expect(page.locator(".coverage-sentence")).to_contain_text("The catalog covers")
    expect(page.get_by_role("heading", name="The skills data analyst asks for")).to_be_visible()
    expect(page.locator("table.gap tbody tr").first).to_be_visible()
    first = page.locator("#step-1")
    expect(first.get_by_role("heading", level=3)).to_have_text(re.compile(r"^Step 1: "))
    screenshot(page, "plan")
    assert_accessible(page, context="plan")

    first.get_by_role("button", name=re.compile(r"^Enrol")).click()
    expect(page.get_by_role("status")).to_have_text("You are enrolled.")
    expect(page.locator("#step-1")).to_contain_text("Enrolled")
    expect(
        page.locator("#step-1").get_by_role("button", name=re.compile("^Withdraw"))
    ).to_be_visible()
    screenshot(page, "plan-enrolled")
    assert_accessible(page, context="plan-enrolled")

    page.get_by_role("navigation", name="Learning").get_by_role(
        "link", name="Compare programmes"
    ).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Compare programmes")
    expect(page.locator(".weights-words")).to_contain_text("counts 40%")
    assert_accessible(page, context="chooser")

    # Amira holds Python for Data Analysis and SQL Foundations: their skills show as mastered.
    page.get_by_role("navigation", name="Learning").get_by_role("link", name="My skills").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My skills")
    expect(page.locator(".mastery-list li.card").first).to_contain_text("mastered")
    screenshot(page, "my-skills")
    assert_accessible(page, context="my-skills")


def test_staff_read_demand_trends_and_the_coverage_report(page: Page, live_site: LiveSite) -> None:
    site = live_site
    sign_in(page, site, site.seeded.admin_email)
    page.get_by_role("navigation", name="Site").get_by_role("link", name="Skills demand").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Skills demand")
    trend = page.locator("svg#trend-chart, svg[aria-labelledby^='trend-chart']")
    expect(trend).to_have_attribute("role", "img")
    expect(page.get_by_role("img", name=re.compile("rising and falling"))).to_be_visible()
    expect(page.get_by_role("heading", name="Coverage report")).to_be_visible()
    expect(page.locator(".coverage-sentence")).to_contain_text("The catalog teaches")
    expect(page.get_by_role("heading", name="In demand, taught nowhere here")).to_be_visible()
    screenshot(page, "demand")
    assert_accessible(page, context="demand")

    page.get_by_label("Occupation").select_option(value=DATA_ANALYST)
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Skills demand: data analyst")
    assert_accessible(page, context="demand-data-analyst")

    page.get_by_role("navigation", name="Console").get_by_role("link", name="Job postings").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Job postings")
    assert_accessible(page, context="postings")
    page.locator("table tbody tr th a").first.click()
    expect(page.locator(".posting-text")).to_be_visible()
    screenshot(page, "posting")
    assert_accessible(page, context="posting")
