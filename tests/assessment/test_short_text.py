"""Short-text items in the adaptive test: rubric grading kept beside the answer, uncertain
grades and copied answers flagged for a person, and assessors' regrades."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy.orm import Session

from microcred.assessment import service
from microcred.assessment.schemas import ItemIn, PolicyIn
from microcred.credentials import service as credentials
from microcred.kit import audit
from microcred.kit.errors import Conflict, InvalidInput
from microcred.kit.pagination import PageRequest
from microcred.kit.principal import Principal
from microcred.kit.settings import Settings
from tests import factories
from tests.assessment.test_adaptive_flow import T0, as_learner, setup_bank, take

RUBRIC = {
    "criteria": [
        {
            "id": "left-rows",
            "points": 2,
            "description": "keeps every row of the left table",
            "concepts": ["keeps all rows of the left table", "every row from the left table"],
            "misconceptions": ["only matching rows"],
        },
        {
            "id": "nulls",
            "points": 1,
            "description": "NULL where nothing matches",
            "concepts": ["fills with null", "columns are null"],
        },
    ],
    "credit": 2,
}
MODEL = "A LEFT JOIN keeps all rows of the left table; the right columns are null without a match."
COPIED = (
    "A left join keeps all rows of the left table even when the right table has no matching "
    "row at all, and in that case the columns of the right table are null for those rows."
)


def short_item(achievement_id: uuid.UUID, n: int, **change: object) -> ItemIn:
    return ItemIn.model_validate(
        {
            "achievement_id": achievement_id,
            "skill_url": factories.SQL_SKILL,
            "kind": "short_text",
            "stem": f"Question {n}: what does a LEFT JOIN return that an INNER JOIN does not?",
            "rubric": RUBRIC,
            "model_answer": MODEL,
            "author_difficulty": 3,
            **change,
        }
    )


def text_bank(db: Session) -> tuple[factories.Tenant, uuid.UUID]:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    for n in range(6):
        service.create_item(
            db, actor=t.admin, institution_id=t.id, data=short_item(achievement.id, n)
        )
    service.set_policy(
        db,
        actor=t.admin,
        institution_id=t.id,
        achievement_id=achievement.id,
        data=PolicyIn(min_items=2, max_items=4, target_se=0.2, cooldown_minutes=0),
    )
    return t, achievement.id


def answer(
    db: Session, settings: Settings, learner: Principal, attempt_id: uuid.UUID, text: str, at: int
) -> service.AttemptOutcome:
    view = service.current_item(db, actor=learner, attempt_id=attempt_id)
    assert view.kind == "short_text" and "LEFT JOIN" in view.stem
    return service.answer_item(
        db,
        actor=learner,
        settings=settings,
        attempt_id=attempt_id,
        item_id=view.item_id,
        answer=[text],  # as the page's form sends it
        version=view.version,
        now=T0 + dt.timedelta(minutes=at),
    )


def test_authoring_refuses_unusable_rubrics(db: Session) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    with pytest.raises(InvalidInput, match="needs a rubric"):
        service.create_item(
            db, actor=t.admin, institution_id=t.id, data=short_item(achievement.id, 1, rubric=None)
        )
    with pytest.raises(InvalidInput, match="model answer earns 0 of 3 points"):
        service.create_item(
            db,
            actor=t.admin,
            institution_id=t.id,
            data=short_item(achievement.id, 1, model_answer="Joins are a kind of query."),
        )
    with pytest.raises(InvalidInput, match="credit"):
        service.create_item(
            db,
            actor=t.admin,
            institution_id=t.id,
            data=short_item(achievement.id, 1, rubric={**RUBRIC, "credit": 9}),
        )


def test_answers_are_graded_against_the_rubric_and_copies_flagged(
    db: Session, settings: Settings
) -> None:
    t, achievement_id = text_bank(db)
    first, second, third = as_learner(db, t), as_learner(db, t), as_learner(db, t)
    a1 = service.start_attempt(db, actor=first, achievement_id=achievement_id, now=T0)
    for minute in range(1, 5):
        answer(db, settings, first, a1.id, COPIED, minute)
    responses = service.repo.responses_of(db, attempt_id=a1.id)
    assert len(responses) == 4 and all(r.correct for r in responses)
    grading = responses[0].grading
    assert grading is not None and grading["points"] == 3 and grading["confidence"] == 1.0
    assert grading["criteria"][0]["evidence"] == "keeps all rows of the left table"

    # Four items each out of six: the two learners share at least two items.
    a2 = service.start_attempt(db, actor=second, achievement_id=achievement_id, now=T0)
    for minute in range(1, 5):
        answer(db, settings, second, a2.id, COPIED.replace("at all", "whatsoever"), minute)
    # An honest short answer that happens to agree is too short to compare.
    a3 = service.start_attempt(db, actor=third, achievement_id=achievement_id, now=T0)
    for minute in range(1, 5):
        answer(db, settings, third, a3.id, "It keeps all rows of the left table.", minute)
    flags, _ = service.review_queue(db, institution_id=t.id, page=PageRequest(50, 0))
    copies = [f for f in flags if f.kind == "near_duplicate"]
    assert len(copies) >= 2 and {f.attempt_id for f in copies} == {a2.id}
    originals = {str(r.id) for r in responses}
    assert all(f.evidence["matches"][0]["response"] in originals for f in copies)
    assert all(f.evidence["matches"][0]["similarity"] >= 0.8 for f in copies)


def test_uncertain_grades_go_to_a_person_who_can_regrade(db: Session, settings: Settings) -> None:
    t, achievement_id = text_bank(db)
    learner = as_learner(db, t)
    attempt = service.start_attempt(db, actor=learner, achievement_id=achievement_id, now=T0)
    for minute in range(1, 10):
        outcome = answer(
            db,
            settings,
            learner,
            attempt.id,
            "It does not keep the rows of the left table.",
            minute,
        )
        if outcome.finished:
            break
    assert attempt.state in ("failed", "undecided")
    flags, _ = service.review_queue(db, institution_id=t.id, page=PageRequest(50, 0))
    uncertain = [f for f in flags if f.kind == "uncertain_grade"]
    assert uncertain and "confidence" in uncertain[0].reason
    cases, _ = service.review_cases(db, actor=t.admin, institution_id=t.id, page=PageRequest(50, 0))
    assert cases[0].response is not None and cases[0].model_answer == MODEL
    theta_before = attempt.theta
    response_id = uuid.UUID(uncertain[0].evidence["response"])
    regraded = service.regrade_response(
        db,
        actor=t.admin,
        settings=settings,
        institution_id=t.id,
        response_id=response_id,
        correct=True,
        note="The learner meant it keeps them; misread negation.",
    )
    assert regraded.theta is not None and theta_before is not None
    assert regraded.theta > theta_before and "regrade" in (regraded.decision_reason or "")
    again = service.regrade_response(
        db,
        actor=t.admin,
        settings=settings,
        institution_id=t.id,
        response_id=response_id,
        correct=True,
        note="same again",
    )
    assert again.theta == regraded.theta
    actions = [
        e.action
        for e in audit.history(
            db, institution_id=t.id, subject_type="attempt", subject_id=attempt.id
        )
    ]
    assert actions.count("response.regrade") == 1


def test_a_running_attempt_cannot_be_regraded(db: Session, settings: Settings) -> None:
    t, achievement_id = text_bank(db)
    learner = as_learner(db, t)
    attempt = service.start_attempt(db, actor=learner, achievement_id=achievement_id, now=T0)
    answer(db, settings, learner, attempt.id, MODEL, 1)
    response = service.repo.responses_of(db, attempt_id=attempt.id)[0]
    with pytest.raises(Conflict, match="still running"):
        service.regrade_response(
            db,
            actor=t.admin,
            settings=settings,
            institution_id=t.id,
            response_id=response.id,
            correct=False,
            note="too early",
        )


def test_a_regrade_that_turns_a_pass_into_a_fail_keeps_the_credential_and_flags_it(
    db: Session, settings: Settings
) -> None:
    t, achievement_id = setup_bank(db, min_items=10, confidence=0.8)  # enough to decide either way
    learner = as_learner(db, t)
    attempt = take(db, settings, learner, achievement_id, knows=True, start=T0).attempt
    assert attempt.state == "passed" and attempt.award_id is not None
    for response in service.repo.responses_of(db, attempt_id=attempt.id):
        attempt = service.regrade_response(
            db,
            actor=t.admin,
            settings=settings,
            institution_id=t.id,
            response_id=response.id,
            correct=False,
            note="The answers were copied from a leaked key.",
        )
    assert attempt.state == "failed", attempt.decision_reason
    award = credentials.get_award(db, institution_id=t.id, award_id=attempt.award_id)
    assert award.state == "active"  # revoking is a person's separate decision
    flags, _ = service.review_queue(db, institution_id=t.id, page=PageRequest(50, 0))
    assert any("credential already issued stands" in f.reason for f in flags)


def test_a_regrade_that_turns_a_fail_into_a_pass_awards_the_credential(
    db: Session, settings: Settings
) -> None:
    t, achievement_id = setup_bank(db, min_items=10, confidence=0.8)
    learner = as_learner(db, t)
    attempt = take(db, settings, learner, achievement_id, knows=False, start=T0).attempt
    assert attempt.state == "failed" and attempt.award_id is None
    for response in service.repo.responses_of(db, attempt_id=attempt.id):
        attempt = service.regrade_response(
            db,
            actor=t.admin,
            settings=settings,
            institution_id=t.id,
            response_id=response.id,
            correct=True,
            note="The key of this item was wrong.",
        )
    assert attempt.state == "passed" and attempt.award_id is not None, attempt.decision_reason
