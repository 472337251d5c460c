"""The adaptive test end to end through the services: start, answer, pass or fail, cooldown,
retake with different items, and the credential with the measurement in it."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from microcred.assessment import items, service
from microcred.assessment.schemas import ItemIn, PolicyIn
from microcred.credentials import service as credentials
from microcred.kit import audit
from microcred.kit.errors import Conflict, InvalidInput, NotFound
from microcred.kit.principal import Principal
from microcred.kit.settings import Settings
from tests import factories

T0 = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.UTC)


def setup_bank(db: Session, **policy: object) -> tuple[factories.Tenant, uuid.UUID]:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    for n in range(24):
        service.create_item(
            db,
            actor=t.admin,
            institution_id=t.id,
            data=ItemIn.model_validate(
                {
                    "achievement_id": achievement.id,
                    "skill_url": factories.PYTHON_SKILL if n % 2 else factories.SQL_SKILL,
                    "kind": "numeric",
                    "stem": f"Item {n}: what is {{x}} times {n + 2}?",
                    "formula": f"x * {n + 2}",
                    "variables": [{"name": "x", "low": 2, "high": 40, "step": 1}],
                    "tolerance": "0.001",
                    "author_difficulty": 1 + n % 5,
                }
            ),
        )
    settings = {
        "max_attempts": 2,
        "cooldown_minutes": 60,
        "min_items": 4,
        "max_items": 10,
        "target_se": 0.45,
        "cut_score": 0.0,
    }
    settings.update(policy)
    service.set_policy(
        db,
        actor=t.admin,
        institution_id=t.id,
        achievement_id=achievement.id,
        data=PolicyIn.model_validate(settings),
    )
    return t, achievement.id


def as_learner(db: Session, t: factories.Tenant) -> Principal:
    learner = factories.learner(db, t)
    return Principal(kind="learner", id=learner.id, institution_id=t.id)


def right_answer(db: Session, learner: Principal, attempt_id: uuid.UUID) -> tuple[object, float]:
    view = service.current_item(db, actor=learner, attempt_id=attempt_id)
    attempt = service.repo.attempt(db, institution_id=learner.tenant, attempt_id=attempt_id)
    assert attempt is not None
    item = service.get_item(db, institution_id=learner.tenant, item_id=view.item_id)
    definition = service.loaded(item)
    shown = items.instantiate(definition, seed=items.instance_seed(attempt.seed, str(item.id)))
    value = items.Formula.parse(definition.formula or "").evaluate(
        {k: float(v) for k, v in shown.values.items()}
    )
    return view, value


def take(
    db: Session,
    settings: Settings,
    learner: Principal,
    achievement_id: uuid.UUID,
    *,
    knows: bool,
    start: dt.datetime,
) -> service.AttemptOutcome:
    attempt = service.start_attempt(db, actor=learner, achievement_id=achievement_id, now=start)
    now = start
    for _ in range(50):
        view, value = right_answer(db, learner, attempt.id)
        now += dt.timedelta(seconds=45)
        outcome = service.answer_item(
            db,
            actor=learner,
            settings=settings,
            attempt_id=attempt.id,
            item_id=view.item_id,
            answer=value if knows else value + 1,
            version=view.version,
            now=now,
        )
        if outcome.finished:
            return outcome
    raise AssertionError("the test never stopped")


def test_a_strong_learner_passes_and_gets_the_measurement_in_the_credential(
    db: Session, settings: Settings
) -> None:
    t, achievement_id = setup_bank(db)
    learner = as_learner(db, t)
    outcome = take(db, settings, learner, achievement_id, knows=True, start=T0)
    attempt = outcome.attempt
    assert attempt.state == "passed" and attempt.award_id is not None
    assert "pass" in (attempt.decision_reason or "").lower()
    award = credentials.get_award(db, institution_id=t.id, award_id=attempt.award_id)
    results = {
        r["resultDescription"].split("#result-")[1]: r["value"]
        for r in award.credential["credentialSubject"]["result"]
    }
    assert float(results["scaled-score"]) > 50
    assert 0 < float(results["standard-error"]) < 10  # under one SD of the scale
    assert int(results["items"]) >= 4
    assert results["attempt"] == "1"
    names = [
        d["name"] for d in award.credential["credentialSubject"]["achievement"]["resultDescription"]
    ]
    assert any("T scale" in n for n in names)
    assert credentials.verify_document(db, settings=settings, data=award.credential).valid
    with pytest.raises(Conflict, match="already hold this credential"):
        service.start_attempt(
            db, actor=learner, achievement_id=achievement_id, now=T0 + dt.timedelta(days=2)
        )


def test_fail_cooldown_and_a_retake_with_different_items(db: Session, settings: Settings) -> None:
    t, achievement_id = setup_bank(db)
    learner = as_learner(db, t)
    first = take(db, settings, learner, achievement_id, knows=False, start=T0).attempt
    assert first.state == "failed" and first.award_id is None
    ended = first.finished_at
    assert ended is not None
    with pytest.raises(Conflict, match="next attempt opens") as refused:
        service.start_attempt(
            db, actor=learner, achievement_id=achievement_id, now=ended + dt.timedelta(minutes=10)
        )
    assert refused.value.extra["retry_at"]
    second = service.start_attempt(
        db, actor=learner, achievement_id=achievement_id, now=ended + dt.timedelta(minutes=61)
    )
    assert second.number == 2
    first_items = service._administered_ids(first)
    offered = service.current_item(db, actor=learner, attempt_id=second.id).item_id
    assert str(offered) not in first_items
    outcome = take(
        db, settings, learner, achievement_id, knows=True, start=ended + dt.timedelta(minutes=61)
    )
    assert outcome.attempt.id == second.id and outcome.attempt.state == "passed"


def test_refusals_leave_the_attempt_as_it_was(db: Session, settings: Settings) -> None:
    t, achievement_id = setup_bank(db)
    learner = as_learner(db, t)
    attempt = service.start_attempt(db, actor=learner, achievement_id=achievement_id, now=T0)
    view, value = right_answer(db, learner, attempt.id)
    before = dict(attempt.cat_state)
    other_item = next(uuid.UUID(i) for i in attempt.item_ids if uuid.UUID(i) != view.item_id)
    kwargs = {
        "actor": learner,
        "settings": settings,
        "attempt_id": attempt.id,
        "now": T0 + dt.timedelta(seconds=30),
    }
    with pytest.raises(Conflict, match="not the item offered"):
        service.answer_item(db, item_id=other_item, answer=1, version=view.version, **kwargs)
    with pytest.raises(Conflict, match="stale session version"):
        service.answer_item(
            db, item_id=view.item_id, answer=value, version=view.version + 3, **kwargs
        )
    with pytest.raises(InvalidInput, match="not part of the attempt"):
        service.answer_item(db, item_id=uuid.uuid4(), answer=value, version=view.version, **kwargs)
    with pytest.raises(InvalidInput, match="not a number"):
        service.answer_item(db, item_id=view.item_id, answer="lots", version=view.version, **kwargs)
    assert attempt.cat_state == before
    service.answer_item(db, item_id=view.item_id, answer=value, version=view.version, **kwargs)
    with pytest.raises(Conflict, match="already answered"):
        service.answer_item(db, item_id=view.item_id, answer=value, version=view.version, **kwargs)
    # A second tab resumes the same attempt instead of starting another.
    again = service.start_attempt(db, actor=learner, achievement_id=achievement_id, now=T0)
    assert again.id == attempt.id
    stranger = as_learner(db, t)
    with pytest.raises(NotFound):
        service.current_item(db, actor=stranger, attempt_id=attempt.id)


def test_time_limit_ends_the_attempt_without_counting_late_answers(
    db: Session, settings: Settings
) -> None:
    t, achievement_id = setup_bank(db, time_limit_minutes=5)
    learner = as_learner(db, t)
    attempt = service.start_attempt(db, actor=learner, achievement_id=achievement_id, now=T0)
    view, value = right_answer(db, learner, attempt.id)
    late = service.answer_item(
        db,
        actor=learner,
        settings=settings,
        attempt_id=attempt.id,
        item_id=view.item_id,
        answer=value,
        version=view.version,
        now=T0 + dt.timedelta(minutes=6),
    )
    assert late.finished and "not counted" in late.message
    assert attempt.state in ("failed", "undecided") and attempt.award_id is None
    # The timed-out attempt still reads back: a retake after the cooldown starts normally.
    retake = service.start_attempt(
        db, actor=learner, achievement_id=achievement_id, now=T0 + dt.timedelta(hours=2)
    )
    assert retake.number == 2 and retake.id != attempt.id


def test_rapid_guessing_is_flagged_for_a_person_to_review(db: Session, settings: Settings) -> None:
    t, achievement_id = setup_bank(db)
    learner = as_learner(db, t)
    attempt = service.start_attempt(db, actor=learner, achievement_id=achievement_id, now=T0)
    now = T0
    while attempt.state == "in_progress":
        view, value = right_answer(db, learner, attempt.id)
        now += dt.timedelta(seconds=1)  # nobody reads an item in a second
        service.answer_item(
            db,
            actor=learner,
            settings=settings,
            attempt_id=attempt.id,
            item_id=view.item_id,
            answer=value + 1,
            version=view.version,
            now=now,
        )
    flags, total = service.review_queue(db, institution_id=t.id, page=service.PageRequest(10, 0))
    assert total >= 1 and flags[0].kind == "rapid_guessing"
    reviewed = service.review_flag(
        db,
        actor=t.admin,
        institution_id=t.id,
        flag_id=flags[0].id,
        decision="cleared",
        note="network glitch, spoke to learner",
    )
    assert reviewed.state == "cleared"
    with pytest.raises(Conflict, match="already cleared"):
        service.review_flag(
            db, actor=t.admin, institution_id=t.id, flag_id=flags[0].id, decision="upheld", note="x"
        )


def test_review_queue_over_the_api(client: TestClient, db: Session, settings: Settings) -> None:
    t, achievement_id = setup_bank(db)
    learner = as_learner(db, t)
    attempt = service.start_attempt(db, actor=learner, achievement_id=achievement_id, now=T0)
    now = T0
    while attempt.state == "in_progress":
        view, value = right_answer(db, learner, attempt.id)
        now += dt.timedelta(seconds=1)
        service.answer_item(
            db,
            actor=learner,
            settings=settings,
            attempt_id=attempt.id,
            item_id=view.item_id,
            answer=value + 1,
            version=view.version,
            now=now,
        )
    db.commit()
    queue = client.get("/api/v1/integrity-flags", headers=t.headers).json()
    assert queue["total"] >= 1 and queue["items"][0]["kind"] == "rapid_guessing"
    flag_id = queue["items"][0]["id"]
    path = f"/api/v1/integrity-flags/{flag_id}/review"
    assert (
        client.post(
            path, json={"decision": "dismissed", "note": "ok"}, headers=t.headers
        ).status_code
        == 422
    )
    upheld = client.post(
        path, json={"decision": "upheld", "note": "answers in one second each"}, headers=t.headers
    )
    assert upheld.status_code == 200 and upheld.json()["state"] == "upheld"
    assert (
        client.get("/api/v1/integrity-flags", headers=t.headers).json()["total"]
        == queue["total"] - 1
    )


def test_a_learner_who_holds_the_credential_is_not_assessed_again(
    db: Session, settings: Settings
) -> None:
    t, achievement_id = setup_bank(db)
    learner = as_learner(db, t)
    credentials.issue_award(
        db,
        actor=t.admin,
        settings=settings,
        institution_id=t.id,
        achievement_id=achievement_id,
        learner_id=learner.id,
    )
    with pytest.raises(Conflict, match="already hold this credential"):
        service.start_attempt(db, actor=learner, achievement_id=achievement_id, now=T0)


def test_every_answer_and_the_outcome_are_audited(db: Session, settings: Settings) -> None:
    t, achievement_id = setup_bank(db)
    learner = as_learner(db, t)
    outcome = take(db, settings, learner, achievement_id, knows=True, start=T0)
    events = audit.history(
        db, institution_id=t.id, subject_type="attempt", subject_id=outcome.attempt.id
    )
    actions = [e.action for e in events]
    answers = service.repo.responses_of(db, attempt_id=outcome.attempt.id)
    assert actions[0] == "attempt.start" and actions[-1] == "attempt.passed"
    assert actions.count("attempt.answer") == len(answers)
    assert events[-1].after is not None and events[-1].after["flags"] == []
