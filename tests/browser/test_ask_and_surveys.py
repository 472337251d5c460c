"""The ask page and stakeholder surveys in a real browser, on the demo data (issue 6).

A visitor asks a common question and follows its citation, then asks something the sources do
not cover and is pointed to a person; the box on an achievement page answers about that
achievement from its own page; an anonymous employer answers the demo survey (a required answer
left empty first, then a resubmission through the back button that counts nothing twice); staff
read the survey's report and download its CSV. axe-core audits every page on the way.
"""

from __future__ import annotations

import csv
import re
import uuid

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import func, select

from microcred.ask.models import Survey, SurveyQuestion, SurveyResponse
from tests.browser.axe import assert_accessible
from tests.browser.conftest import LiveSite, screenshot

pytestmark = pytest.mark.browser


def sign_in(page: Page, site: LiveSite, email: str) -> None:
    page.goto(f"{site.base_url}/sign-in")
    page.get_by_label("Institution").fill(site.seeded.institution_slug)
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(site.seeded.password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def server_ms(page: Page) -> float:
    """From sending the request to the first byte of the answer, as the browser measured it."""
    timing: float = page.evaluate(
        """() => {
            const [nav] = performance.getEntriesByType('navigation');
            return nav.responseStart - nav.requestStart;
        }"""
    )
    return timing


# --- the database, read beside the browser -----------------------------------------------------


def demo_survey(site: LiveSite) -> Survey:
    with site.sessions() as session:
        survey = session.scalars(select(Survey).where(Survey.slug == site.seeded.survey_slug)).one()
        session.expunge(survey)
        return survey


def response_counts(site: LiveSite, survey_id: uuid.UUID) -> tuple[int, int]:
    """(all responses, submitted responses) of a survey."""
    with site.sessions() as session:
        rows = session.execute(
            select(SurveyResponse.status, func.count())
            .where(SurveyResponse.survey_id == survey_id)
            .group_by(SurveyResponse.status)
        ).all()
    counts = {status: int(n) for status, n in rows}
    return sum(counts.values()), counts.get("submitted", 0)


def newest_response(site: LiveSite, survey_id: uuid.UUID) -> tuple[str, str]:
    """(arm, companion display) of the response started last: the browser's (the seeded ones
    are dated in the past)."""
    with site.sessions() as session:
        row = session.execute(
            select(SurveyResponse.arm, SurveyResponse.companion_display)
            .where(SurveyResponse.survey_id == survey_id)
            .order_by(SurveyResponse.started_at.desc())
            .limit(1)
        ).one()
    return str(row[0]), str(row[1])


def approved_companions(site: LiveSite, survey_id: uuid.UUID) -> int:
    with site.sessions() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(SurveyQuestion)
                .where(
                    SurveyQuestion.survey_id == survey_id,
                    SurveyQuestion.companion_status == "approved",
                )
            )
            or 0
        )


# --- 1. the ask page ---------------------------------------------------------------------------


def test_the_ask_page_cites_its_sources_and_abstains_outside_them(
    page: Page, live_site: LiveSite
) -> None:
    site = live_site
    page.goto(f"{site.base_url}/ask")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ask about micro-credentials")
    common = page.get_by_role("list", name="Common questions")
    common.get_by_role("link", name="What is a micro-credential?").click()

    answer = page.get_by_role("region", name="Answer", exact=True)
    expect(answer.get_by_role("heading", level=2)).to_have_text("Answer")
    print(f"\n/ask fresh answer: {server_ms(page):.0f} ms server time (browser navigation timing)")
    served = answer.locator("dt:text-is('Served') + dd")
    print(f"/ask 'Served': {served.text_content()}")
    citation = answer.locator(".answer-text").get_by_role("link", name="source 1")
    expect(citation).to_have_text("[1]")
    citation.click()
    expect(page).to_have_url(re.compile(r"#cite-1$"))
    source = page.locator("#cite-1")
    expect(source).to_be_visible()
    expect(source.locator("blockquote")).to_have_text(re.compile(r"\w{3,}"))
    expect(answer.get_by_role("list", name="Sources").get_by_role("listitem").first).to_be_visible()

    why = answer.locator("details.why")
    expect(why.get_by_text("How it was composed")).to_be_hidden()
    why.get_by_text("Why this answer?").click()
    expect(why.get_by_text("How it was composed")).to_be_visible()
    expect(why.get_by_text("Model", exact=True)).to_be_visible()
    screenshot(page, "ask-answer")
    assert_accessible(page, context="ask-answer")

    question = page.get_by_label("Your question")
    question.fill("What is the capital of Peru?")
    page.get_by_label("I am").select_option(label="A learner")
    page.get_by_role("button", name="Ask", exact=True).click()
    expect(page).to_have_url(re.compile(r"persona=learner"))
    abstained = page.get_by_role("region", name="No grounded answer")
    expect(abstained.get_by_role("heading", level=2)).to_have_text("No grounded answer")
    expect(page.get_by_label("I am")).to_have_value("learner")
    contact = page.locator("main a[href^='mailto:']")
    expect(contact).to_have_count(1)
    expect(contact).to_have_text(re.compile(r"^\S+@\S+$"))
    print(f"/ask abstention: {server_ms(page):.0f} ms server time")
    screenshot(page, "ask-abstained")
    assert_accessible(page, context="ask-abstained")


# --- 2. the box on an achievement page -------------------------------------------------------


def test_the_achievement_page_box_answers_about_that_achievement(
    page: Page, live_site: LiveSite
) -> None:
    site = live_site
    achievement_id = site.seeded.assessments["sql-foundations"]
    page.goto(f"{site.base_url}/achievements/{achievement_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("SQL Foundations")
    box = page.get_by_role("region", name="Questions about SQL Foundations?")
    box.get_by_label("Your question").fill("How much does it cost?")
    box.get_by_label("I am").select_option(value="learner")
    box.get_by_role("button", name="Ask").click()

    expect(page).to_have_url(re.compile(rf"/ask\?.*achievement={achievement_id}"))
    expect(page.get_by_text("Answers about SQL Foundations")).to_be_visible()
    answer = page.get_by_role("region", name="Answer", exact=True)
    expect(answer.get_by_role("heading", level=2)).to_have_text("Answer")
    expect(answer.locator(".answer-text")).to_contain_text("[1]")
    own_page = f"{site.base_url}/achievements/{achievement_id}"
    sources = answer.get_by_role("list", name="Sources")
    cited = sources.locator(f"a[href='{own_page}']")
    expect(cited.first).to_have_text("SQL Foundations")
    screenshot(page, "ask-achievement")


# --- 3. answering the demo survey ------------------------------------------------------------


def _answer_every_question(sections: Locator, *, skip: str | None) -> dict[str, str]:
    """Answer each question on the page, in the way its kind takes; returns what was typed into
    free-text boxes by question prompt (the box of `skip`'s prompt is left empty)."""
    typed: dict[str, str] = {}
    for i in range(sections.count()):
        section = sections.nth(i)
        prompt = section.get_by_role("heading", level=2).inner_text()
        if section.locator("textarea").count():
            text = "" if skip and skip in prompt else f"Answer {i + 1}: recognised by employers."
            section.get_by_label("Your answer").fill(text)
            typed[prompt] = text
        elif section.locator("input[type=checkbox]").count():
            boxes = section.get_by_role("checkbox")
            boxes.nth(0).check()
            boxes.nth(1).check()
        else:  # one choice, or a scale: the second option (a scale's 2)
            section.get_by_role("radio").nth(1).check()
    return typed


def test_an_anonymous_employer_answers_the_demo_survey_once(
    page: Page, live_site: LiveSite
) -> None:
    site = live_site
    survey = demo_survey(site)
    before_all, before_submitted = response_counts(site, survey.id)

    page.goto(f"{site.base_url}/s/{site.seeded.survey_slug}")
    expect(page.get_by_role("heading", level=1)).to_have_text(survey.title)
    expect(page.get_by_text("7 questions.")).to_be_visible()
    screenshot(page, "survey-intro")
    assert_accessible(page, context="survey-intro")
    page.get_by_role("group", name="Who are you?").get_by_label("An employer or recruiter").check()
    expect(page.get_by_label("Yes, keep my e-mail address with my answers")).not_to_be_checked()
    page.get_by_role("button", name="Start").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(survey.title)
    sections = page.locator("section.survey-question")
    expect(sections).to_have_count(7)
    assert response_counts(site, survey.id) == (before_all + 1, before_submitted)

    # The companion box matches the arm the server drew for this response.
    arm, display = newest_response(site, survey.id)
    companions = page.locator("details.companion-after")
    if arm == "hidden":
        assert display == "none"
        expect(page.get_by_text("Here's what AI says")).to_have_count(0)
    else:
        assert (arm, display) == ("shown", "after")
        expect(companions).to_have_count(approved_companions(site, survey.id))
        first = companions.first
        expect(first.get_by_role("heading", name="Here's what AI says")).to_be_hidden()
        first.get_by_text("Here's what AI says (open after answering)").click()
        expect(first.get_by_role("heading", name="Here's what AI says")).to_be_visible()
        expect(first.locator(".companion p").first).to_have_text(re.compile(r"\w{3,}"))
    print(f"\nsurvey respondent arm: {arm} (companion display {display})")
    assert_accessible(page, context="survey-questions")

    # A required free-text answer left empty: refused, everything else kept.
    required = "What would make micro-credentials more valuable to you?"
    typed = _answer_every_question(sections, skip=required)
    with page.expect_response(re.compile(r"/submit$")) as refused:
        page.get_by_role("button", name="Send my answers").click()
    assert refused.value.status == 422
    expect(page.get_by_role("alert")).to_contain_text("1 answer needs attention")
    question = page.locator("section.survey-question", has_text=required)
    expect(question.locator(".bad")).to_be_visible()
    expect(question.get_by_label("Your answer")).to_have_attribute("aria-invalid", "true")
    for i in range(7):
        section = sections.nth(i)
        prompt = section.get_by_role("heading", level=2).inner_text()
        if prompt in typed:
            expect(section.get_by_label("Your answer")).to_have_value(typed[prompt])
        elif section.get_by_role("checkbox").count():
            expect(section.get_by_role("checkbox").nth(0)).to_be_checked()
            expect(section.get_by_role("checkbox").nth(1)).to_be_checked()
        else:
            expect(section.get_by_role("radio").nth(1)).to_be_checked()
    screenshot(page, "survey-required-missing")
    assert_accessible(page, context="survey-required-missing")
    assert response_counts(site, survey.id) == (before_all + 1, before_submitted)

    question.get_by_label("Your answer").fill("Clear recognition by employers in my sector.")
    sent: list[list[str]] = page.evaluate(
        "() => Array.from(new FormData(document.querySelector('main form')).entries())"
    )
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")
    expect(page.get_by_role("status")).to_contain_text("Your answers were saved")
    thanks = page.url
    screenshot(page, "survey-thanks")
    assert response_counts(site, survey.id) == (before_all + 1, before_submitted + 1)

    # Back to the form: the page it was posted from is never stored (no-store), so Chromium
    # cannot show it again without sending the form again ("Confirm Form Resubmission"), which
    # Playwright cannot click. Return to the thanks page and send the very same fields again,
    # as that button would.
    with pytest.raises(PlaywrightError, match="ERR_CACHE_MISS"):
        page.go_back()
    page.wait_for_url("chrome-error://chromewebdata/")  # Chromium's own error page
    page.goto(thanks)
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you")
    with page.expect_response(re.compile(r"/submit$")) as again:
        page.evaluate(
            """([action, fields]) => {
                const form = document.createElement('form');
                form.method = 'post';
                form.action = action;
                for (const [name, value] of fields) {
                    const input = document.createElement('input');
                    input.type = 'hidden';
                    input.name = name;
                    input.value = value;
                    form.append(input);
                }
                document.body.append(form);
                form.submit();
            }""",
            [f"/s/{site.seeded.survey_slug}/submit", sent],
        )
    assert again.value.status == 409
    expect(page.get_by_role("heading", level=1)).to_have_text("Already submitted")
    expect(page.get_by_role("alert")).to_contain_text("Nothing was changed")
    screenshot(page, "survey-already-submitted")
    assert response_counts(site, survey.id) == (before_all + 1, before_submitted + 1)


# --- 4. reading the report -------------------------------------------------------------------


def test_staff_read_the_survey_report_and_download_its_csv(page: Page, live_site: LiveSite) -> None:
    site = live_site
    survey = demo_survey(site)
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, site, site.seeded.admin_email)
    page.get_by_role("navigation", name="Site").get_by_role("link", name="Skills demand").click()
    console = page.get_by_role("navigation", name="Console")
    console.get_by_role("link", name="Knowledge base").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Knowledge")
    assert_accessible(page, context="knowledge")
    console.get_by_role("link", name="Surveys").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Surveys")
    total, submitted = response_counts(site, survey.id)
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name=survey.title))
    expect(row.get_by_role("cell")).to_have_text(
        ["published", "7", str(total), re.compile(rf"^{submitted} \(report")]
    )
    row.get_by_role("link", name=f"report of {survey.title}").click()
    expect(page).to_have_url(re.compile(rf"/console/surveys/{survey.id}/report$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Report: {survey.title}")

    kpis = page.get_by_role("region", name="Key figures").get_by_role("listitem")
    expect(kpis).to_have_count(5)
    expect(kpis.nth(0)).to_have_text(f"{total} responses started")
    expect(kpis.nth(1)).to_have_text(f"{submitted} responses submitted")
    expect(kpis.nth(2)).to_have_text(f"{submitted / total:.0%} completion rate")
    expect(kpis.nth(3)).to_have_text(re.compile(r"^0\.\d\d mean free-text answer quality"))

    charts = page.locator("svg[role=img]")
    assert charts.count() >= 4  # timeline, completion, quality, one per question
    expect(charts.first.locator("title")).to_have_text(re.compile(r"\w+"))
    expect(page.get_by_role("img", name=re.compile("Completion rate per persona"))).to_be_visible()

    personas = page.get_by_role("table", name="Completion and free-text answer quality per persona")
    expect(personas.get_by_role("rowheader")).to_have_text(["Learners", "Educators", "Employers"])
    differences = page.get_by_role("region", name="How personas differ, question by question")
    expect(differences.get_by_text(re.compile(r"statistic \d"))).not_to_have_count(0)
    free_text = differences.get_by_role("article").filter(
        has=page.get_by_role("heading", name="What people wrote, by theme")
    )
    expect(free_text.first.locator("ul.reasons q").first).to_have_text(re.compile(r"\w+"))

    ab = page.get_by_role("region", name="Does showing the AI answer change the responses? (A/B)")
    ab_table = ab.get_by_role("table", name="Companion answers shown against hidden")
    expect(ab_table.get_by_role("rowheader").first).to_have_text("Completion rate")
    test_name = ab_table.get_by_role("row").nth(1).get_by_role("cell").nth(4)
    expect(test_name).to_have_text(re.compile(r"\btest\b"))
    screenshot(page, "survey-report")
    assert_accessible(page, context="survey-report")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the responses (CSV)").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:7] == [
        "response_id",
        "persona",
        "arm",
        "companion_display",
        "status",
        "started_at",
        "submitted_at",
    ]
    assert rows[0][-1] == "contact"
    total_now, submitted_now = response_counts(site, survey.id)
    assert len(rows) - 1 == total_now
    assert sum(1 for r in rows[1:] if r[4] == "submitted") == submitted_now
