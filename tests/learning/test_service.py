"""Skills intelligence end to end through the services, on SQLite and PostgreSQL: postings and
their skills, demand trends, coverage, the target job, gap, plan, enrolment, nudges, the
chooser and mastery."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session

from microcred.catalog import framework
from microcred.catalog.schemas import AlignmentIn
from microcred.credentials import service as credentials
from microcred.kit import audit
from microcred.kit.errors import Conflict, Forbidden, InvalidInput, NotFound, PayloadTooLarge
from microcred.kit.pagination import PageRequest
from microcred.kit.principal import SYSTEM, Principal
from microcred.kit.settings import Settings
from microcred.learning import service
from tests import factories

SKILL = "http://data.europa.eu/esco/skill/"
DATA_ANALYST = "http://data.europa.eu/esco/occupation/d3edb8f8-3a06-47a0-8fb9-9b212c006aa2"
STATISTICS = SKILL + "7ee4c2ea-b349-4bd2-81a3-ec31475d4833"
STAT_TECHNIQUES = SKILL + "382c11ed-20d5-4ae7-b60e-15fec527fa6c"
CLEANSING = SKILL + "50b100ea-74fd-4706-99db-3e4ca55e51b8"
QUALITY = SKILL + "cc7370dd-69fa-4c67-a96f-d4d135d38700"
BI = SKILL + "143769cb-b61e-47d8-a61e-eedfbec1016c"
VISUAL = SKILL + "348b74cd-49ce-4844-8bdf-ec188b497213"
QUERY_LANGUAGES = SKILL + "9cf681c7-89ec-470c-b651-7fe03786f586"
TODAY = dt.date(2026, 11, 1)
_n = itertools.count()


@pytest.fixture
def tenant(db: Session) -> factories.Tenant:
    t = factories.tenant(db)
    framework.load_bundled_framework(db, actor=SYSTEM)
    return t


def course(
    db: Session, t: factories.Tenant, name: str, skills: list[str], **kw: object
) -> uuid.UUID:
    values: dict[str, object] = {
        "name": name,
        "slug": f"{name.lower().replace(' ', '-')}-{next(_n)}",
        "alignments": [AlignmentIn(target_url=s) for s in skills],  # type: ignore[arg-type]
        "result_descriptions": [],
    }
    if "cost" in kw:
        values["currency"] = "EUR"
    values.update(kw)
    return factories.achievement(db, t, **values).id


def as_learner(t: factories.Tenant, learner_id: uuid.UUID) -> Principal:
    return Principal(kind="learner", id=learner_id, institution_id=t.id)


POSTING = """Data Analyst

What you will do:
- Apply statistical analysis techniques such as regression and hypothesis testing.
- Perform data cleansing and check data quality before every analysis.
- Build business intelligence reports in Power BI.
"""


# --- postings -----------------------------------------------------------------------------


def test_a_posting_is_stored_with_its_skills_and_evidence_once(
    db: Session, settings: Settings, tenant: factories.Tenant
) -> None:
    item = service.PostingIn("Data Analyst", POSTING, TODAY, DATA_ANALYST, "Lyon")
    first = service.ingest_posting(
        db, settings=settings, actor=tenant.admin, item=item, source="paste", today=TODAY
    )
    assert first.created
    found = {s.skill_uri: s for s in first.posting.skills}
    assert STAT_TECHNIQUES in found and CLEANSING in found and BI in found
    for skill in first.posting.skills:
        assert skill.span_start is not None and skill.span_end is not None
        assert first.posting.body[skill.span_start : skill.span_end] == skill.evidence
    assert first.posting.language == "en"
    again = service.ingest_posting(
        db, settings=settings, actor=tenant.admin, item=item, source="paste", today=TODAY
    )
    assert not again.created and again.posting.id == first.posting.id
    events = audit.history(
        db, institution_id=tenant.id, subject_type="job_posting", subject_id=first.posting.id
    )
    assert [e.action for e in events] == ["posting.ingested"]


@pytest.mark.parametrize(
    ("body", "error"),
    [("   ", InvalidInput), ("x" * 100_001, PayloadTooLarge)],
)
def test_an_empty_or_huge_posting_is_refused(
    db: Session, settings: Settings, tenant: factories.Tenant, body: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        service.ingest_posting(
            db,
            settings=settings,
            actor=tenant.admin,
            item=service.PostingIn("t", body),
            source="paste",
        )


def test_a_posting_in_another_language_says_so_and_links_what_it_can(
    db: Session, settings: Settings, tenant: factories.Tenant
) -> None:
    text = (
        "Wir suchen einen Datenanalysten für unser Team in Wien. Sie arbeiten mit SQL und "
        "Python und erstellen Berichte für die Geschäftsführung. Erfahrung mit Statistik "
        "ist von Vorteil."
    )
    result = service.ingest_posting(
        db,
        settings=settings,
        actor=tenant.admin,
        item=service.PostingIn("Datenanalyst", text),
        source="paste",
    )
    assert result.posting.language == "de"
    assert result.language_note
    assert any("SQL" in s.label for s in result.posting.skills)


def test_postings_are_staff_only_and_tenant_scoped(
    db: Session, settings: Settings, tenant: factories.Tenant
) -> None:
    learner = factories.learner(db, tenant)
    with pytest.raises(Forbidden):
        service.ingest_posting(
            db,
            settings=settings,
            actor=as_learner(tenant, learner.id),
            item=service.PostingIn("t", POSTING),
            source="paste",
        )
    mine = service.ingest_posting(
        db,
        settings=settings,
        actor=tenant.admin,
        item=service.PostingIn("t", POSTING),
        source="paste",
    ).posting
    other = factories.tenant(db)
    with pytest.raises(NotFound):
        service.get_posting(db, actor=other.admin, posting_id=mine.id)


def test_a_csv_with_one_bad_row_stores_nothing_and_names_every_bad_row(
    db: Session, settings: Settings, tenant: factories.Tenant
) -> None:
    data = (
        "title,description,posted_on,occupation\n"
        f'Analyst,"{POSTING}",2026-05-01,data analyst\n'
        'Empty,"",2026-05-02,\n'
        'Future,"Use SQL daily.",2999-01-01,\n'
        'Nowhere,"Use SQL daily.",2026-05-03,astronaut of the deep sea\n'
    ).encode()
    with pytest.raises(InvalidInput) as caught:
        service.ingest_postings_csv(
            db, settings=settings, actor=tenant.admin, data=data, today=TODAY
        )
    assert [e["row"] for e in caught.value.errors] == [3, 4, 5]
    _, total = service.list_postings(db, actor=tenant.admin, page=PageRequest(limit=10, offset=0))
    assert total == 0


def test_a_good_csv_is_stored_with_occupations_by_label(
    db: Session, settings: Settings, tenant: factories.Tenant
) -> None:
    data = (
        "Title,Description,Posted_on,Occupation,Location\n"
        f'Analyst,"{POSTING}",2026-05-01,data analyst,Lyon\n'
        'DBA,"Perform regular database backups and tune database performance.",2026-06-01,,\n'
    ).encode()
    result = service.ingest_postings_csv(
        db, settings=settings, actor=tenant.admin, data=data, today=TODAY
    )
    assert (result.created, result.unchanged) == (2, 0)
    assert result.postings[0].occupation_uri == DATA_ANALYST
    with pytest.raises(InvalidInput, match="columns title and description"):
        service.ingest_postings_csv(
            db, settings=settings, actor=tenant.admin, data=b"name,text\na,b\n", today=TODAY
        )


def test_staff_can_reject_and_add_a_skill_and_it_leaves_the_figures(
    db: Session, settings: Settings, tenant: factories.Tenant
) -> None:
    posting = service.ingest_posting(
        db,
        settings=settings,
        actor=tenant.admin,
        item=service.PostingIn("t", POSTING),
        source="paste",
    ).posting
    service.review_posting_skill(
        db, actor=tenant.admin, posting_id=posting.id, skill_uri=BI, rejected=True, reason="no"
    )
    coverage = service.coverage_report(db, actor=tenant.admin)
    assert BI not in {r.uri for r in coverage.untaught + coverage.taught}
    added = service.review_posting_skill(
        db, actor=tenant.admin, posting_id=posting.id, skill_uri=VISUAL, rejected=False
    )
    assert added.origin == "staff"
    with pytest.raises(InvalidInput):
        service.review_posting_skill(
            db,
            actor=tenant.admin,
            posting_id=posting.id,
            skill_uri=SKILL + "00000000-0000-0000-0000-000000000000",
            rejected=False,
        )


# --- demand and coverage ------------------------------------------------------------------


def _postings(db: Session, settings: Settings, t: factories.Tenant) -> None:
    """Statistics in every posting; business intelligence only in the later months."""
    for month in range(1, 7):
        for k in range(3):
            lines = ["Apply statistical analysis techniques to our sales data."]
            if month >= 4:
                lines.append("Build business intelligence reports for managers.")
            if month <= 2:
                lines.append("Perform data cleansing of customer records.")
            service.ingest_posting(
                db,
                settings=settings,
                actor=t.admin,
                item=service.PostingIn(
                    f"Analyst {month}-{k}",
                    "\n".join([*lines, f"Reference {month}-{k}."]),
                    dt.date(2026, month, 10 + k),
                    DATA_ANALYST,
                ),
                source="paste",
                today=TODAY,
            )


def test_demand_trends_find_the_rising_and_falling_skills(
    db: Session, settings: Settings, tenant: factories.Tenant
) -> None:
    _postings(db, settings, tenant)
    trends = service.demand_trends(db, actor=tenant.admin)
    assert trends.periods[0] == "2026-01" and trends.periods[-1] == "2026-06"
    assert trends.postings_per_period == [3] * 6
    assert BI in {t.uri for t in trends.rising}
    assert CLEANSING in {t.uri for t in trends.falling}
    statistics = next(t for t in trends.top if t.uri == STAT_TECHNIQUES)
    assert statistics.postings == 18 and statistics.direction == "steady"


def test_the_coverage_report_lists_demanded_skills_no_achievement_teaches(
    db: Session, settings: Settings, tenant: factories.Tenant
) -> None:
    _postings(db, settings, tenant)
    course(db, tenant, "Statistics", [STAT_TECHNIQUES, STATISTICS])
    report = service.coverage_report(db, actor=tenant.admin, occupation_uri=DATA_ANALYST)
    assert STAT_TECHNIQUES in {r.uri for r in report.taught}
    untaught = {r.uri for r in report.untaught}
    assert {BI, CLEANSING} <= untaught
    assert "taught nowhere here" in report.summary
    assert 0 < report.demand_covered < 1


# --- target, gap, plan --------------------------------------------------------------------


def _catalogue(db: Session, t: factories.Tenant) -> dict[str, uuid.UUID]:
    return {
        "stats": course(
            db, t, "Statistics", [STATISTICS, STAT_TECHNIQUES], hours=Decimal(20), cost=Decimal(180)
        ),
        "clean": course(
            db, t, "Cleaning", [CLEANSING, QUALITY], hours=Decimal(12), cost=Decimal(300)
        ),
        "bi": course(db, t, "BI", [BI, VISUAL], hours=Decimal(18), cost=Decimal(100)),
        "mega": course(
            db,
            t,
            "Everything",
            [STATISTICS, STAT_TECHNIQUES, CLEANSING, QUALITY, BI, VISUAL],
            hours=Decimal(80),
            cost=Decimal(400),
        ),
    }


def test_a_target_by_posting_gives_a_gap_with_reasons_and_an_optimal_plan(
    db: Session, settings: Settings, tenant: factories.Tenant
) -> None:
    ids = _catalogue(db, tenant)
    learner = as_learner(tenant, factories.learner(db, tenant).id)
    target = service.set_target(
        db, settings=settings, actor=learner, target=service.TargetIn(posting_text=POSTING)
    )
    assert target.kind == "posting" and target.title == "Data Analyst"
    gap = service.gap_for(db, actor=learner)
    uris = {g.uri for g in gap.missing}
    assert {STAT_TECHNIQUES, CLEANSING, BI} <= uris
    assert all(g.reasons and "posting asks for it" in g.reasons[0] for g in gap.missing)
    view = service.plan_for(db, actor=learner)
    assert view.plan is not None and view.plan.optimal
    chosen = {uuid.UUID(s.course.id) for s in view.plan.steps}
    # Three short courses (50 h) beat the one long course (80 h) on hours...
    assert ids["mega"] not in chosen and view.plan.total_hours == 50
    # ...but on cost the single 400 course is cheaper than 180 + 300 + 100.
    by_cost = service.plan_for(db, actor=learner, objective="cost")
    assert by_cost.plan is not None
    assert [uuid.UUID(s.course.id) for s in by_cost.plan.steps] == [ids["mega"]]
    assert all(s.reason for s in view.plan.steps)


def test_an_occupation_target_weighs_essential_over_optional_and_says_what_is_taught_nowhere(
    db: Session, settings: Settings, tenant: factories.Tenant
) -> None:
    _catalogue(db, tenant)
    learner = as_learner(tenant, factories.learner(db, tenant).id)
    service.set_target(
        db, settings=settings, actor=learner, target=service.TargetIn(occupation_uri=DATA_ANALYST)
    )
    gap = service.gap_for(db, actor=learner)
    assert gap.title == "data analyst"
    assert gap.essential_total == 30
    essential = [g for g in gap.skills if g.relation == "essential"]
    optional = [g for g in gap.skills if g.relation == "optional"]
    assert (
        essential
        and optional
        and max(g.weight for g in optional) < min(g.weight for g in essential)
    )
    assert len(gap.untaught_essential) == 30 - 6  # the catalogue teaches 6 essential skills
    assert "taught nowhere here" in gap.summary
    view = service.plan_for(db, actor=learner)
    assert view.plan is not None
    assert view.plan.uncovered  # said plainly, not hidden


def test_held_credentials_count_as_mastered(
    db: Session, settings: Settings, tenant: factories.Tenant
) -> None:
    ids = _catalogue(db, tenant)
    person = factories.learner(db, tenant)
    credentials.issue_award(
        db,
        actor=tenant.admin,
        settings=settings,
        institution_id=tenant.id,
        achievement_id=ids["stats"],
        learner_id=person.id,
    )
    learner = as_learner(tenant, person.id)
    service.set_target(
        db, settings=settings, actor=learner, target=service.TargetIn(posting_text=POSTING)
    )
    gap = service.gap_for(db, actor=learner)
    stats = next(g for g in gap.skills if g.uri == STAT_TECHNIQUES)
    assert stats.mastered and any("you hold Statistics" in r for r in stats.reasons)
    view = service.plan_for(db, actor=learner)
    assert view.plan is not None
    assert ids["stats"] not in {uuid.UUID(s.course.id) for s in view.plan.steps}
    rows = service.refresh_mastery(db, actor=learner)
    assert rows[STAT_TECHNIQUES].source == "award" and rows[STAT_TECHNIQUES].probability > 0.9
    again = service.refresh_mastery(db, actor=learner)  # replaying evidence adds nothing
    assert again[STAT_TECHNIQUES].evidence_count == rows[STAT_TECHNIQUES].evidence_count


def test_an_infeasible_budget_names_the_binding_constraint_and_the_cheapest_relaxation(
    db: Session, settings: Settings, tenant: factories.Tenant
) -> None:
    _catalogue(db, tenant)
    learner = as_learner(tenant, factories.learner(db, tenant).id)
    service.set_target(
        db, settings=settings, actor=learner, target=service.TargetIn(posting_text=POSTING)
    )
    view = service.plan_for(db, actor=learner, budget=Decimal(50))
    assert view.plan is None and view.infeasible is not None
    assert "budget" in view.infeasible.binds
    assert view.infeasible.min_budget == 400


def test_the_target_needs_exactly_one_kind_and_a_learner(
    db: Session, settings: Settings, tenant: factories.Tenant
) -> None:
    learner = as_learner(tenant, factories.learner(db, tenant).id)
    with pytest.raises(InvalidInput):
        service.set_target(db, settings=settings, actor=learner, target=service.TargetIn())
    with pytest.raises(InvalidInput):
        service.set_target(
            db,
            settings=settings,
            actor=learner,
            target=service.TargetIn(occupation_uri=DATA_ANALYST, posting_text=POSTING),
        )
    with pytest.raises(NotFound):
        service.set_target(
            db,
            settings=settings,
            actor=learner,
            target=service.TargetIn(occupation_uri="http://data.europa.eu/esco/occupation/nope"),
        )
    with pytest.raises(NotFound):
        service.gap_for(db, actor=learner)
    other = factories.tenant(db)
    with pytest.raises(NotFound):
        service.gap_for(db, actor=other.admin, learner_id=learner.id)


# --- enrolment, nudges, chooser -----------------------------------------------------------


def test_enrolling_twice_is_one_enrolment_and_withdrawing_is_audited(
    db: Session, settings: Settings, tenant: factories.Tenant
) -> None:
    ids = _catalogue(db, tenant)
    learner = as_learner(tenant, factories.learner(db, tenant).id)
    first, created = service.enrol(db, actor=learner, achievement_id=ids["bi"], source="plan")
    second, again = service.enrol(db, actor=learner, achievement_id=ids["bi"], source="plan")
    assert created and not again and first.id == second.id
    service.withdraw(db, actor=learner, achievement_id=ids["bi"])
    back, created = service.enrol(db, actor=learner, achievement_id=ids["bi"])
    assert created and back.id == first.id and back.status == "active"
    actions = [
        e.action
        for e in audit.history(
            db, institution_id=tenant.id, subject_type="enrolment", subject_id=first.id
        )
    ]
    assert actions == ["learning.enrolled", "learning.withdrawn", "learning.enrolled"]
    with pytest.raises(NotFound):
        service.enrol(db, actor=learner, achievement_id=uuid.uuid4())


def test_the_nudge_is_the_first_open_step_of_the_plan(
    db: Session, settings: Settings, tenant: factories.Tenant
) -> None:
    _catalogue(db, tenant)
    learner = as_learner(tenant, factories.learner(db, tenant).id)
    assert service.next_recommendation(db, actor=learner) is None
    service.set_target(
        db, settings=settings, actor=learner, target=service.TargetIn(posting_text=POSTING)
    )
    first = service.next_recommendation(db, actor=learner)
    assert first is not None and first.source == "plan"
    service.enrol(db, actor=learner, achievement_id=first.achievement.id)
    second = service.next_recommendation(db, actor=learner)
    assert second is not None and second.achievement.id != first.achievement.id


def test_the_chooser_ranks_by_visible_weights(
    db: Session, settings: Settings, tenant: factories.Tenant
) -> None:
    ids = _catalogue(db, tenant)
    learner = as_learner(tenant, factories.learner(db, tenant).id)
    service.set_target(
        db, settings=settings, actor=learner, target=service.TargetIn(posting_text=POSTING)
    )
    by_relevance, weights = service.choose(
        db,
        actor=learner,
        weights={"relevance": 10, "recognition": 0, "cost": 0, "duration": 0, "flexibility": 0},
    )
    assert by_relevance[0].achievement.id == ids["mega"]
    assert weights["relevance"] == 1.0
    by_time, _ = service.choose(
        db,
        actor=learner,
        weights={"relevance": 0, "recognition": 0, "cost": 0, "duration": 10, "flexibility": 0},
    )
    assert by_time[0].achievement.id != ids["mega"]
    assert all(set(c.scores) == set(service.DEFAULT_WEIGHTS) for c in by_time)
    with pytest.raises(InvalidInput):
        service.choose(db, actor=learner, weights={"popularity": 1})
    with pytest.raises(InvalidInput):
        service.choose(db, actor=learner, weights=dict.fromkeys(service.DEFAULT_WEIGHTS, 0.0))


# --- mastery ------------------------------------------------------------------------------


def test_recognised_prior_learning_and_overrides_are_explained_and_audited(
    db: Session, settings: Settings, tenant: factories.Tenant
) -> None:
    person = factories.learner(db, tenant)
    row = service.recognise_prior_learning(
        db,
        actor=tenant.admin,
        learner_id=person.id,
        skill_uri=BI,
        level=0.9,
        confidence="high",
        evidence="Three years as a BI developer; portfolio reviewed.",
    )
    assert row.source == "prior_learning" and row.probability == pytest.approx(0.9)
    assert row.low < 0.9 < row.high
    assert "prior learning recognised" in row.reasons[0]
    learner = as_learner(tenant, person.id)
    with pytest.raises(Forbidden):
        service.recognise_prior_learning(
            db,
            actor=learner,
            learner_id=person.id,
            skill_uri=BI,
            level=1,
            confidence="high",
            evidence="me",
        )
    overridden = service.override_mastery(
        db,
        actor=tenant.admin,
        learner_id=person.id,
        skill_uri=BI,
        probability=0.3,
        reason="interview",
    )
    assert overridden.overridden_by and overridden.probability == 0.3
    # The override stands on refresh until new evidence about the skill arrives.
    assert service.refresh_mastery(db, actor=learner)[BI].probability == 0.3
    actions = {
        e.action
        for e in audit.history(
            db, institution_id=tenant.id, subject_type="learner", subject_id=person.id
        )
    }
    assert {"mastery.prior_learning_recognised", "mastery.overridden"} <= actions


def test_a_missing_framework_is_a_clear_conflict(db: Session, settings: Settings) -> None:
    t = factories.tenant(db)
    assert framework.framework_version(db) is None  # each test runs in its own transaction
    with pytest.raises(Conflict, match="import-esco"):
        service.ingest_posting(
            db,
            settings=settings,
            actor=t.admin,
            item=service.PostingIn("t", POSTING),
            source="paste",
        )


def test_knowledge_tracing_is_refit_from_graded_answers(
    db: Session, tenant: factories.Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert service.fit_knowledge_tracing(db, actor=tenant.admin) == 0  # no answers: defaults
    # 40 learners x 8 answers on one skill, improving over time; a rare skill keeps defaults.
    rows = [
        (uuid.UUID(int=learner), BI, int(step >= 3 or (learner + step) % 4 == 0))
        for learner in range(40)
        for step in range(8)
    ] + [(uuid.UUID(int=1), CLEANSING, 1)]
    monkeypatch.setattr(service.assessment_record, "all_graded_answers", lambda _session: rows)
    assert service.fit_knowledge_tracing(db, actor=tenant.admin) == 1
    fitted = service.repo.bkt_parameters(db, skill_uris=[BI, CLEANSING])
    assert set(fitted) == {BI}
    assert fitted[BI].answers == 320 and fitted[BI].version.startswith("em-")
    assert 0 < fitted[BI].p_learn < 1 and fitted[BI].p_guess < 0.5


def test_a_target_posting_in_another_language_carries_the_note_to_the_gap(
    db: Session, settings: Settings, tenant: factories.Tenant
) -> None:
    learner = as_learner(tenant, factories.learner(db, tenant).id)
    text = (
        "Wir suchen einen Datenanalysten. Sie arbeiten mit SQL und Python und erstellen "
        "Berichte für die Geschäftsführung. Erfahrung mit Statistik ist von Vorteil."
    )
    service.set_target(
        db, settings=settings, actor=learner, target=service.TargetIn(posting_text=text)
    )
    gap = service.gap_for(db, actor=learner)
    assert gap.notes and "'de'" in gap.notes[0]


def test_an_occupation_the_catalogue_does_not_teach_gets_an_empty_plan_said_plainly(
    db: Session, settings: Settings, tenant: factories.Tenant
) -> None:
    course(db, tenant, "Pottery", [factories.PYTHON_SKILL], hours=Decimal(2))
    learner = as_learner(tenant, factories.learner(db, tenant).id)
    service.set_target(
        db, settings=settings, actor=learner, target=service.TargetIn(occupation_uri=DATA_ANALYST)
    )
    gap = service.gap_for(db, actor=learner)
    assert gap.essential_taught == 0 and len(gap.untaught_essential) == 30
    assert "covers 0%" in gap.summary
    view = service.plan_for(db, actor=learner)
    assert view.plan is not None and view.plan.steps == []
    assert view.plan.essential_coverage == 0
    assert "taught nowhere here" in view.plan.summary
