"""A survey's report and CSV export through the service: totals, persona differences, contact
privacy, tenant isolation, the export's audit row, and the demo survey."""

from __future__ import annotations

import csv
import datetime as dt
import io
import time
import uuid
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from microcred.ask import service as knowledge
from microcred.ask import survey_repository, surveys
from microcred.ask.models import Survey
from microcred.ask.survey_report import report_page, survey_csv, survey_report
from microcred.demo_survey import QUESTIONS, TITLE, seed_survey
from microcred.kit import audit
from microcred.kit.errors import Forbidden, NotFound
from microcred.kit.principal import Principal
from microcred.kit.settings import Settings
from tests import factories

NOW = dt.datetime(2025, 3, 20, 12, 0, tzinfo=dt.UTC)


@dataclass
class Small:
    survey: Survey
    choice: uuid.UUID
    free: uuid.UUID
    scale: uuid.UUID


def small_survey(db: Session, t: factories.Tenant, *, personas: tuple[str, ...] = ()) -> Small:
    """Six learners who all say "Cost" and six employers who all say "Skills", one learner
    who opted in to be contacted, and one employer who never submitted."""
    survey = surveys.create_survey(
        db,
        actor=t.admin,
        title="Report me",
        personas=personas or ("learner", "employer"),
        companion_display="none",
    )
    choice = surveys.add_question(
        db,
        actor=t.admin,
        survey_id=survey.id,
        kind="single_choice",
        prompt="What matters most?",
        options=["Cost", "Skills"],
    )
    free = surveys.add_question(
        db,
        actor=t.admin,
        survey_id=survey.id,
        kind="free_text",
        prompt="What would make micro-credentials more valuable?",
    )
    scale = surveys.add_question(
        db,
        actor=t.admin,
        survey_id=survey.id,
        kind="scale",
        prompt="How useful?",
        options=["1 = not at all", "5 = very"],
    )
    surveys.publish_survey(db, actor=t.admin, survey_id=survey.id)
    first, second = personas or ("learner", "employer")
    plan = [(first, "Cost", "A lower price and evening classes", 2)] * 6 + [
        (second, "Skills", "Verified skills aligned with ESCO", 4)
    ] * 6
    for n, (persona, option, text, rating) in enumerate(plan):
        opted = n == 0
        _, token = surveys.start_response(
            db,
            slug=survey.slug,
            persona=persona,
            contact_opt_in=opted,
            contact="me@example.org" if opted else None,
        )
        surveys.submit_response(
            db,
            slug=survey.slug,
            token=token,
            answers={choice.id: option, free.id: text if n != 1 else "idk", scale.id: rating},
        )
    surveys.start_response(db, slug=survey.slug, persona=second)
    return Small(survey, choice.id, free.id, scale.id)


def test_report_totals_and_persona_difference(db: Session, settings: Settings) -> None:
    t = factories.tenant(db)
    s = small_survey(db, t)
    report = survey_report(db, actor=t.admin, survey_id=s.survey.id, settings=settings, now=NOW)
    overall = report.totals.overall
    assert (overall.started, overall.submitted) == (13, 12)
    assert report.totals.by_persona["employer"].started == 7
    assert report.totals.by_persona["learner"].completion_rate == 1.0
    q1, q2, q3 = report.questions
    assert q1.test is not None and q1.test.test == "chi-square test of independence"
    assert q1.test.p_value < 0.05 and "statistically significant" in q1.summary
    assert {g.persona: g.shares["Cost"] for g in q1.choices} == {"learner": 1.0, "employer": 0.0}
    assert q2.themes and report.quality.overall.n_answers == 12
    assert report.quality.overall.non_answer_share == pytest.approx(1 / 12, abs=1e-3)
    assert q3.test is not None and q3.test.test == "Kruskal-Wallis H test"
    assert not report.ab.comparable  # nobody is in the "shown" arm of a survey without AI answers


def test_csv_one_row_per_response_and_contact_only_when_opted_in(
    db: Session, settings: Settings
) -> None:
    t = factories.tenant(db)
    s = small_survey(db, t)
    rows = list(csv.DictReader(io.StringIO(survey_csv(db, actor=t.admin, survey_id=s.survey.id,
                                                      settings=settings))))  # fmt: skip
    assert len(rows) == 13
    assert [r["contact"] for r in rows].count("me@example.org") == 1
    assert all(r["contact"] == "" for r in rows if r["contact"] != "me@example.org")
    assert sorted(r["status"] for r in rows).count("started") == 1
    # The rules store no contact without an opt-in; even a stray one never leaves in an export.
    responses = survey_repository.responses(db, survey_id=s.survey.id)
    stray = next(r for r in responses if not r.contact_opt_in)
    stray.contact = "leak@example.org"
    db.flush()
    again = survey_csv(db, actor=t.admin, survey_id=s.survey.id, settings=settings)
    assert "leak@example.org" not in again


def test_export_is_audited_without_respondent_data(db: Session, settings: Settings) -> None:
    t = factories.tenant(db)
    s = small_survey(db, t)
    survey_csv(db, actor=t.admin, survey_id=s.survey.id, settings=settings)
    db.flush()
    events = [
        e
        for e in audit.history(
            db, institution_id=t.id, subject_type="survey", subject_id=s.survey.id
        )
        if e.action == "survey.export"
    ]
    assert len(events) == 1
    event = events[0]
    assert event.actor == t.admin.audit_actor
    assert event.after == {
        "format": "csv",
        "responses": 13,
        "submitted": 12,
        "with_contact": 1,
        "seeded": 0,
    }
    assert "me@example.org" not in str(event.after) and "price" not in str(event.after)


def test_other_institutions_and_non_staff_are_refused(db: Session, settings: Settings) -> None:
    t = factories.tenant(db)
    other = factories.tenant(db)
    s = small_survey(db, t)
    with pytest.raises(NotFound):
        survey_report(db, actor=other.admin, survey_id=s.survey.id, settings=settings)
    with pytest.raises(NotFound):
        survey_csv(db, actor=other.admin, survey_id=s.survey.id, settings=settings)
    with pytest.raises(NotFound):
        survey_report(db, actor=t.admin, survey_id=uuid.uuid4(), settings=settings)
    learner = factories.learner(db, t)
    as_learner = Principal(kind="learner", id=learner.id, institution_id=t.id)
    with pytest.raises(Forbidden):
        survey_report(db, actor=as_learner, survey_id=s.survey.id, settings=settings)
    # Any staff member reads the report; exporting answers and contacts needs an editor.
    viewer = Principal(kind="staff", id=uuid.uuid4(), institution_id=t.id, roles=frozenset())
    assert survey_report(db, actor=viewer, survey_id=s.survey.id, settings=settings)
    with pytest.raises(Forbidden):
        survey_csv(db, actor=viewer, survey_id=s.survey.id, settings=settings)


def test_the_other_persona_is_reported_as_someone_else(db: Session, settings: Settings) -> None:
    """Surveys call it "other", the analysis "unspecified": the report maps one to the other."""
    t = factories.tenant(db)
    s = small_survey(db, t, personas=("learner", "other"))
    report = survey_report(db, actor=t.admin, survey_id=s.survey.id, settings=settings, now=NOW)
    assert report.totals.by_persona["unspecified"].started == 7


def test_demo_survey_has_companions_personas_themes_and_a_test(
    db: Session, settings: Settings
) -> None:
    t = factories.tenant(db)
    knowledge.ensure_knowledge_base(db, actor=t.admin, institution_id=t.id, settings=settings)
    knowledge.index_pending(db, institution_id=t.id, settings=settings)
    started = time.perf_counter()
    survey = seed_survey(db, settings=settings, actor=t.admin, now=NOW)
    seeded_in = time.perf_counter() - started
    assert survey.title == TITLE and survey.status == "published" and survey.ab_test
    assert "Demo data" in survey.intro
    assert len(survey.questions) == len(QUESTIONS)
    approved = [q for q in survey.questions if q.companion_status == "approved"]
    assert len(approved) >= len(QUESTIONS) - 2, [q.companion_text for q in survey.questions]
    assert all(q.companion_citations for q in approved)
    assert all(q.companion_status in ("approved", "none") for q in survey.questions)
    page = report_page(db, actor=t.admin, survey_id=survey.id, settings=settings, now=NOW)
    report = page.report
    assert page.seeded == report.n_responses == 90
    by_persona = report.totals.by_persona
    assert all(by_persona[p].started >= 20 for p in ("learner", "educator", "employer"))
    assert 0.65 <= (report.totals.overall.completion_rate or 0) <= 0.95
    assert report.quality.overall.non_answer_share  # a few "n/a" and "idk"
    first_day = dt.date.fromisoformat(report.timeline.buckets[0].start)
    assert (NOW.date() - first_day).days >= 20
    chosen = report.questions[0]
    assert chosen.test is not None and chosen.test.test == "chi-square test of independence"
    assert chosen.test.p_value < 0.05
    free = [q for q in report.questions if q.kind == "free_text"]
    assert all(len(q.themes) >= 2 for q in free)
    assert all(q.distinctive_terms for q in free)
    assert report.ab.comparable and report.ab.completion is not None
    # The same `now` gives the same answers (ids and tokens aside).
    other = factories.tenant(db)
    again = seed_survey(db, settings=settings, actor=other.admin, now=NOW)
    second = survey_report(db, actor=other.admin, survey_id=again.id, settings=settings, now=NOW)
    assert second.totals == report.totals and second.timeline == report.timeline
    assert seeded_in < 10, f"seeding took {seeded_in:.1f} s"
