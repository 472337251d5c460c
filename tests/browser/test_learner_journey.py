"""In Chromium: a learner signs in, fails the adaptive test, waits out the cooldown, retakes
with different items, passes, and opens the credential the pass awarded."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from playwright.sync_api import Page, expect

from microcred.assessment import cat, items
from microcred.assessment import service as assessment
from microcred.identity import service as identity
from microcred.kit.db import unit_of_work
from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveSite, screenshot

pytestmark = pytest.mark.browser
LEARNER = "li.wei@example.org"


def tenant_of(site: LiveSite) -> uuid.UUID:
    with unit_of_work(site.sessions) as session:
        return identity.institution_by_slug(session, slug=site.seeded.institution_slug).id


def sign_in(page: Page, site: LiveSite) -> None:
    page.goto(f"{site.base_url}/sign-in")
    page.get_by_label("Institution").fill(site.seeded.institution_slug)
    page.get_by_label("E-mail").fill(LEARNER)
    page.get_by_label("Password").fill(site.seeded.password)
    screenshot(page, "sign-in")
    assert_accessible(page, context="sign-in-filled")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_text("Signed in as Li Wei")).to_be_visible()
    assert_accessible(page, context="home-learner")


def answer_current(
    page: Page, site: LiveSite, tenant: uuid.UUID, attempt_id: uuid.UUID, *, right: bool
) -> None:
    """Answer the item on screen, right or wrong, as a learner who knows (or not) would."""
    item_id = uuid.UUID(page.locator("input[name=item_id]").get_attribute("value") or "")
    with unit_of_work(site.sessions) as session:
        attempt = assessment.repo.attempt(session, institution_id=tenant, attempt_id=attempt_id)
        assert attempt is not None
        item = assessment.get_item(session, institution_id=tenant, item_id=item_id)
        definition = assessment.loaded(item)
        seed = items.instance_seed(attempt.seed, str(item.id))
    if definition.kind == "short_text":
        page.get_by_label("Your answer").fill(
            definition.model_answer if right else "I am not sure; it depends on the data."
        )
    elif definition.kind == "numeric":
        shown = items.instantiate(definition, seed=seed)
        value = items.Formula.parse(definition.formula or "").evaluate(
            {k: float(v) for k, v in shown.values.items()}
        )
        page.get_by_label("Your answer").fill(f"{value if right else value + 7:g}")
    else:
        keyed = set(definition.key)
        wanted = keyed if right else {next(c.id for c in definition.choices if c.id not in keyed)}
        for choice in definition.choices:
            if choice.id in wanted:
                page.locator(f"input[name=answer][value={choice.id}]").check()
    page.get_by_role("button", name="Submit answer").click()


def answer_all(
    page: Page, site: LiveSite, tenant: uuid.UUID, *, right: bool, name: str
) -> uuid.UUID:
    attempt_id = uuid.UUID(page.url.rsplit("/", 1)[1])
    audited: set[str] = set()  # each kind of answer field once per attempt
    for position in range(1, 30):
        if not page.get_by_role("button", name="Submit answer").is_visible():
            break
        expect(page.get_by_role("heading", name=f"Question {position}")).to_be_visible()
        if position == 2:
            screenshot(page, f"{name}-item")
        field = page.locator("[name=answer]").first
        kind = field.evaluate("e => e.type || e.tagName")
        if kind not in audited:
            audited.add(kind)
            assert_accessible(page, context=f"{name}-item-{kind}")
        answer_current(page, site, tenant, attempt_id, right=right)
    screenshot(page, f"{name}-result")
    assert_accessible(page, context=f"{name}-result")
    return attempt_id


def test_fail_cooldown_retake_pass_and_credential(page: Page, live_site: LiveSite) -> None:
    site = live_site
    tenant = tenant_of(site)
    sql = site.seeded.assessments["sql-foundations"]
    sign_in(page, site)
    page.goto(f"{site.base_url}/assessments/{sql}")
    expect(page.get_by_text("Attempts used: 0 of 3")).to_be_visible()
    assert_accessible(page, context="assessment-overview")
    page.get_by_role("button", name="Start the assessment").click()
    first = answer_all(page, site, tenant, right=False, name="attempt-1")
    expect(page.get_by_text("Not passed this time.")).to_be_visible()
    expect(page.get_by_text("to work on").first).to_be_visible()

    page.goto(f"{site.base_url}/assessments/{sql}")
    expect(page.get_by_text("the next attempt opens at")).to_be_visible()
    screenshot(page, "cooldown")
    assert_accessible(page, context="assessment-cooldown")
    with unit_of_work(site.sessions) as session:  # the two-minute cooldown passes
        attempt = assessment.repo.attempt(session, institution_id=tenant, attempt_id=first)
        assert attempt is not None and attempt.finished_at is not None
        attempt.finished_at -= dt.timedelta(minutes=5)
        state = cat.CatState.from_dict(attempt.cat_state)
        first_items = {attempt.item_ids[i] for i in state.administered}

    page.goto(f"{site.base_url}/assessments/{sql}")
    expect(page.get_by_text("Attempts used: 1 of 3")).to_be_visible()
    page.get_by_role("button", name="Start the assessment").click()
    assert page.locator("input[name=item_id]").get_attribute("value") not in first_items
    answer_all(page, site, tenant, right=True, name="attempt-2")
    expect(page.get_by_text("Passed.")).to_be_visible()

    # The nudge at the moment of award: the result offers to share, the record leads with it.
    expect(page.get_by_role("link", name="Share it now")).to_be_visible()
    page.get_by_role("link", name="Your credential").click()
    expect(page.get_by_role("heading", name="Share your new credential")).to_be_visible()
    expect(page.get_by_role("heading", name="SQL Foundations")).to_be_visible()
    expect(page.get_by_text("Scaled score (T scale")).to_be_visible()
    screenshot(page, "credential")
    assert_accessible(page, context="credential")
