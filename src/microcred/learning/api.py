"""JSON routes of the learning context: job postings, demand, skill linking, and (acting for a
learner of the institution, e.g. from an LMS) targets, gaps, plans, enrolments, the chooser."""

from __future__ import annotations

import dataclasses
import uuid
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Query, Response, UploadFile, status

from microcred.identity.deps import Assessor, Reader, scoped
from microcred.kit.errors import InvalidInput, NotFound, PayloadTooLarge
from microcred.kit.pagination import Page
from microcred.kit.principal import Principal
from microcred.kit.web.deps import DbSession, PageDep, SettingsDep
from microcred.learning import service
from microcred.learning.schemas import (
    CatalogueIn,
    ChoiceOut,
    ChooserOut,
    CoverageOut,
    CsvIngestOut,
    EnrolIn,
    EnrolmentOut,
    GapItemOut,
    GapOut,
    LinkIn,
    MasteryOut,
    MasteryOverrideIn,
    Objective,
    PlanOut,
    PostingCreated,
    PostingIn,
    PostingOut,
    PostingSkillOut,
    PriorLearningIn,
    RecommendationOut,
    SkillReviewIn,
    StepOut,
    TargetIn,
    TargetOut,
    TrendsOut,
)

router = APIRouter(tags=["learning"])

# Postings feed the institution's catalog decisions: the catalog scope, issuers or analysts.
PostingEditor = Annotated[Principal, Depends(scoped("catalog", "issuer", "analyst"))]
# Acting for a learner (an LMS setting a target, enrolling) needs the people scope.
ForLearner = Annotated[Principal, Depends(scoped("people"))]


@router.post("/postings", response_model=PostingCreated)
def create_posting(
    session: DbSession,
    settings: SettingsDep,
    principal: PostingEditor,
    body: PostingIn,
    response: Response,
) -> object:
    result = service.ingest_posting(
        session,
        settings=settings,
        actor=principal,
        item=service.PostingIn(
            body.title, body.description, body.posted_on, body.occupation_uri, body.location
        ),
        source="api",
    )
    response.status_code = status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
    return PostingCreated(
        posting=PostingOut.model_validate(result.posting),
        created=result.created,
        language_note=result.language_note,
        notes=result.notes,
    )


@router.post("/postings/upload", response_model=CsvIngestOut)
async def upload_postings(
    session: DbSession,
    settings: SettingsDep,
    principal: PostingEditor,
    file: Annotated[UploadFile, File(description="CSV: title, description, posted_on, ...")],
) -> object:
    data = await file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise PayloadTooLarge(f"the file is larger than {settings.max_upload_bytes:,} bytes")
    result = service.ingest_postings_csv(session, settings=settings, actor=principal, data=data)
    return CsvIngestOut(
        created=result.created,
        unchanged=result.unchanged,
        postings=[p.id for p in result.postings],
    )


@router.get("/postings", response_model=Page[PostingOut])
def list_postings(
    session: DbSession,
    principal: Reader,
    page: PageDep,
    occupation: Annotated[str | None, Query(max_length=200)] = None,
) -> object:
    rows, total = service.list_postings(
        session, actor=principal, page=page, occupation_uri=occupation
    )
    return Page[PostingOut].of([PostingOut.model_validate(r) for r in rows], total=total, page=page)


@router.get("/postings/{posting_id}", response_model=PostingOut)
def get_posting(session: DbSession, principal: Reader, posting_id: uuid.UUID) -> object:
    return service.get_posting(session, actor=principal, posting_id=posting_id)


@router.post("/postings/{posting_id}/skills", response_model=PostingSkillOut)
def review_posting_skill(
    session: DbSession, principal: PostingEditor, posting_id: uuid.UUID, body: SkillReviewIn
) -> object:
    """Reject a skill the linker found, or add (or restore) one: a person has the last word."""
    return service.review_posting_skill(
        session,
        actor=principal,
        posting_id=posting_id,
        skill_uri=body.skill_uri,
        rejected=body.rejected,
        reason=body.reason,
    )


@router.get("/demand/trends", response_model=TrendsOut)
def demand_trends(
    session: DbSession,
    principal: Reader,
    occupation: Annotated[str | None, Query(max_length=200)] = None,
    top: Annotated[int, Query(ge=1, le=50)] = 10,
) -> object:
    return service.demand_trends(session, actor=principal, occupation_uri=occupation, top=top)


@router.get("/demand/coverage", response_model=CoverageOut)
def coverage_report(
    session: DbSession,
    principal: Reader,
    occupation: Annotated[str | None, Query(max_length=200)] = None,
) -> object:
    return service.coverage_report(session, actor=principal, occupation_uri=occupation)


@router.post("/skills/link")
def link_skills(
    session: DbSession, settings: SettingsDep, principal: Reader, body: LinkIn
) -> dict[str, Any]:
    """Text (an achievement's description, a posting) → ranked framework skills with the
    words that matched: the suggestions staff see when they align an achievement."""
    suggestions = service.suggest_alignments(
        session, settings=settings, text=body.text, limit=body.limit
    )
    return {"skills": suggestions}


@router.post("/skills/map")
def map_catalogue(
    session: DbSession, settings: SettingsDep, principal: Reader, body: CatalogueIn
) -> dict[str, Any]:
    """An external course catalogue mapped to the framework: each course's best skills."""
    mapped = service.map_catalogue(
        session,
        settings=settings,
        items=[(c.key, c.text) for c in body.courses],
        limit=body.limit,
    )
    return {"courses": [{"key": key, "skills": skills} for key, skills in mapped]}


# --- acting for a learner of the institution ---------------------------------------------


@router.put("/learners/{learner_id}/target", response_model=TargetOut)
def set_target(
    session: DbSession,
    settings: SettingsDep,
    principal: ForLearner,
    learner_id: uuid.UUID,
    body: TargetIn,
) -> object:
    return service.set_target(
        session,
        settings=settings,
        actor=principal,
        learner_id=learner_id,
        target=service.TargetIn(
            occupation_uri=body.occupation_uri,
            posting_text=body.posting_text,
            title=body.title,
            objective=body.objective,
            budget=body.budget,
            max_hours=body.max_hours,
        ),
    )


@router.get("/learners/{learner_id}/target", response_model=TargetOut)
def get_target(session: DbSession, principal: ForLearner, learner_id: uuid.UUID) -> object:
    found = service.get_target(session, actor=principal, learner_id=learner_id)
    if found is None:
        raise NotFound("this learner has not chosen a target job")
    return found


def gap_out(gap: service.Gap) -> GapOut:
    return GapOut(
        title=gap.title,
        kind=gap.kind,
        skills=[GapItemOut(**dataclasses.asdict(item)) for item in gap.skills],
        essential_total=gap.essential_total,
        essential_taught=gap.essential_taught,
        untaught_essential=[g.uri for g in gap.untaught_essential],
        summary=gap.summary,
    )


@router.get("/learners/{learner_id}/gap", response_model=GapOut)
def get_gap(session: DbSession, principal: ForLearner, learner_id: uuid.UUID) -> object:
    return gap_out(service.gap_for(session, actor=principal, learner_id=learner_id))


def plan_out(view: service.PlanView) -> PlanOut:
    if view.plan is None:
        infeasible = view.infeasible
        assert infeasible is not None
        raise InvalidInput(
            str(infeasible),
            binds=list(infeasible.binds),
            min_budget=infeasible.min_budget,
            min_hours=infeasible.min_hours,
            drop=[g.uri for g in getattr(infeasible, "drop", []) or []],
        )
    plan = view.plan
    return PlanOut(
        target=view.gap.title,
        objective=view.objective,
        steps=[
            StepOut(
                order=step.order,
                achievement_id=uuid.UUID(step.course.id),
                name=step.course.name,
                hours=step.course.hours,
                cost=step.course.cost,
                covers=[g.uri for g in step.covers],
                unlocks=[uuid.UUID(i) for i in step.unlocks],
                reason=step.reason,
                enrolled=step.course.id in view.enrolled,
            )
            for step in plan.steps
        ],
        total_hours=plan.total_hours,
        total_cost=plan.total_cost,
        count=plan.count,
        objective_value=plan.objective_value,
        lower_bound=plan.lower_bound,
        optimal=plan.optimal,
        method=plan.method,
        optimality_gap=plan.gap,
        solve_ms=plan.solve_ms,
        essential_coverage=plan.essential_coverage,
        uncovered=[g.uri for g in plan.uncovered],
        summary=plan.summary,
        coverage=view.coverage_sentence,
        notes=list(plan.notes),
    )


@router.get("/learners/{learner_id}/plan", response_model=PlanOut)
def get_plan(
    session: DbSession,
    principal: ForLearner,
    learner_id: uuid.UUID,
    objective: Objective | None = None,
    budget: Annotated[Decimal | None, Query(ge=0, max_digits=10, decimal_places=2)] = None,
    max_hours: Annotated[Decimal | None, Query(gt=0, max_digits=7, decimal_places=2)] = None,
) -> object:
    """The optimal plan toward the learner's target; 422 with the binding constraint and the
    cheapest relaxations when the budget or deadline cannot be met."""
    return plan_out(
        service.plan_for(
            session,
            actor=principal,
            learner_id=learner_id,
            objective=objective,
            budget=budget,
            max_hours=max_hours,
        )
    )


@router.post("/learners/{learner_id}/enrolments", response_model=EnrolmentOut)
def enrol(
    session: DbSession,
    principal: ForLearner,
    learner_id: uuid.UUID,
    body: EnrolIn,
    response: Response,
) -> object:
    found, created = service.enrol(
        session,
        actor=principal,
        learner_id=learner_id,
        achievement_id=body.achievement_id,
        source=body.source,
    )
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return found


@router.get("/learners/{learner_id}/enrolments", response_model=list[EnrolmentOut])
def list_enrolments(session: DbSession, principal: ForLearner, learner_id: uuid.UUID) -> object:
    return [row for row, _ in service.enrolments(session, actor=principal, learner_id=learner_id)]


@router.post(
    "/learners/{learner_id}/enrolments/{achievement_id}/withdraw", response_model=EnrolmentOut
)
def withdraw(
    session: DbSession, principal: ForLearner, learner_id: uuid.UUID, achievement_id: uuid.UUID
) -> object:
    return service.withdraw(
        session, actor=principal, learner_id=learner_id, achievement_id=achievement_id
    )


@router.get("/learners/{learner_id}/next", response_model=RecommendationOut | None)
def next_recommendation(session: DbSession, principal: ForLearner, learner_id: uuid.UUID) -> object:
    found = service.next_recommendation(session, actor=principal, learner_id=learner_id)
    if found is None:
        return None
    return RecommendationOut(
        achievement_id=found.achievement.id,
        name=found.achievement.name,
        source=found.source,
        reasons=found.reasons,
    )


@router.get("/learners/{learner_id}/chooser", response_model=ChooserOut)
def chooser(
    session: DbSession,
    principal: ForLearner,
    learner_id: uuid.UUID,
    relevance: Annotated[float | None, Query(ge=0, le=10)] = None,
    recognition: Annotated[float | None, Query(ge=0, le=10)] = None,
    cost: Annotated[float | None, Query(ge=0, le=10)] = None,
    duration: Annotated[float | None, Query(ge=0, le=10)] = None,
    flexibility: Annotated[float | None, Query(ge=0, le=10)] = None,
) -> object:
    given = {
        "relevance": relevance,
        "recognition": recognition,
        "cost": cost,
        "duration": duration,
        "flexibility": flexibility,
    }
    choices, weights = service.choose(
        session,
        actor=principal,
        learner_id=learner_id,
        weights={k: v for k, v in given.items() if v is not None},
    )
    return ChooserOut(
        weights=weights,
        choices=[
            ChoiceOut(
                achievement_id=c.achievement.id,
                name=c.achievement.name,
                pathway=[a.name for a in c.pathway],
                hours=c.hours,
                cost=c.cost,
                scores=c.scores,
                total=c.total,
                reasons=c.reasons,
            )
            for c in choices
        ],
    )


@router.get("/learners/{learner_id}/mastery", response_model=list[MasteryOut])
def get_mastery(session: DbSession, principal: ForLearner, learner_id: uuid.UUID) -> object:
    """Per-skill mastery with its 80% interval, sources and reasons, brought up to date."""
    rows = service.refresh_mastery(session, actor=principal, learner_id=learner_id)
    return sorted(rows.values(), key=lambda r: (-r.probability, r.skill_uri))


@router.post("/learners/{learner_id}/prior-learning", response_model=MasteryOut)
def recognise_prior_learning(
    session: DbSession, principal: Assessor, learner_id: uuid.UUID, body: PriorLearningIn
) -> object:
    return service.recognise_prior_learning(
        session,
        actor=principal,
        learner_id=learner_id,
        skill_uri=body.skill_uri,
        level=body.level,
        confidence=body.confidence,
        evidence=body.evidence,
    )


@router.put("/learners/{learner_id}/mastery", response_model=MasteryOut)
def override_mastery(
    session: DbSession, principal: Assessor, learner_id: uuid.UUID, body: MasteryOverrideIn
) -> object:
    return service.override_mastery(
        session,
        actor=principal,
        learner_id=learner_id,
        skill_uri=body.skill_uri,
        probability=body.probability,
        reason=body.reason,
    )
