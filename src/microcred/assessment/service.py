"""Assessment rules: policies, item banks, and the adaptive test from start to credential."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from microcred.assessment import attempts, cat, integrity, irt, items, projects, text_grading
from microcred.assessment import repository as repo
from microcred.assessment.models import (
    AssessmentPolicy,
    Attempt,
    IntegrityFlag,
    Item,
    ProjectBrief,
    ProjectSubmission,
    Response,
    TextFingerprint,
    TextFingerprintBucket,
)
from microcred.assessment.schemas import (
    BankTransfer,
    ItemIn,
    PolicyIn,
    ProjectBriefIn,
    SubmissionIn,
)
from microcred.catalog import service as catalog
from microcred.catalog.schemas import ResultDescriptionIn
from microcred.credentials import service as credentials
from microcred.identity import service as identity
from microcred.kit import audit, jobs
from microcred.kit.db import utcnow
from microcred.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from microcred.kit.pagination import PageRequest
from microcred.kit.principal import Principal
from microcred.kit.settings import Settings

# --- policies ----------------------------------------------------------------------------------


def set_policy(
    session: Session,
    *,
    actor: Principal,
    institution_id: uuid.UUID,
    achievement_id: uuid.UUID,
    data: PolicyIn,
) -> AssessmentPolicy:
    actor.require_role("issuer", "assessor")
    catalog.get_achievement(session, institution_id=institution_id, achievement_id=achievement_id)
    if data.max_items < data.min_items:
        raise InvalidInput("max_items must be at least min_items")
    current = repo.policy(session, institution_id=institution_id, achievement_id=achievement_id)
    before = _policy_snapshot(current) if current else None
    if current is None:
        current = AssessmentPolicy(achievement_id=achievement_id, institution_id=institution_id)
        session.add(current)
    for key, value in data.model_dump().items():
        setattr(current, key, value)
    # The credential's results must mean what the test measures: fix their descriptions now.
    catalog.ensure_result_descriptions(
        session,
        actor=actor,
        institution_id=institution_id,
        achievement_id=achievement_id,
        descriptions=RESULT_DESCRIPTIONS,
    )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="assessment_policy.set",
        subject_type="achievement",
        subject_id=achievement_id,
        institution_id=institution_id,
        before=before,
        after=_policy_snapshot(current),
    )
    return current


def get_policy(
    session: Session, *, institution_id: uuid.UUID, achievement_id: uuid.UUID
) -> AssessmentPolicy:
    found = repo.policy(session, institution_id=institution_id, achievement_id=achievement_id)
    if found is None:
        raise NotFound("this achievement has no assessment policy")
    return found


def _policy_snapshot(policy: AssessmentPolicy) -> dict[str, Any]:
    return {key: getattr(policy, key) for key in PolicyIn.model_fields}


# --- items ---------------------------------------------------------------------------------------


def definition_of(data: ItemIn) -> items.ItemDefinition:
    return items.ItemDefinition(
        kind=data.kind,
        stem=data.stem,
        choices=tuple(items.Choice(c.id, c.text) for c in data.choices),
        key=tuple(data.key),
        formula=data.formula,
        variables=tuple(items.Variable(v.name, v.low, v.high, v.step) for v in data.variables),
        tolerance=data.tolerance,
        tolerance_kind=data.tolerance_kind,
        unit=data.unit,
        rubric=_rubric_loaded(data.rubric.model_dump() if data.rubric is not None else None),
        model_answer=data.model_answer,
    )


def _rubric_stored(rubric: text_grading.Rubric | None) -> dict[str, Any] | None:
    if rubric is None:
        return None
    return {
        "criteria": [
            {
                "id": c.id,
                "description": c.description,
                "points": c.points,
                "concepts": list(c.concepts),
                "misconceptions": list(c.misconceptions),
            }
            for c in rubric.criteria
        ],
        "credit": rubric.credit,
    }


def _rubric_loaded(stored: dict[str, Any] | None) -> text_grading.Rubric | None:
    if stored is None:
        return None
    return text_grading.Rubric(
        criteria=tuple(
            text_grading.Criterion(
                id=c["id"],
                description=c["description"],
                points=c["points"],
                concepts=tuple(c["concepts"]),
                misconceptions=tuple(c["misconceptions"]),
            )
            for c in stored["criteria"]
        ),
        credit=stored["credit"],
    )


def _stored(definition: items.ItemDefinition) -> dict[str, Any]:
    return {
        "stem": definition.stem,
        "choices": [{"id": c.id, "text": c.text} for c in definition.choices],
        "key": list(definition.key),
        "formula": definition.formula,
        "variables": [
            {"name": v.name, "low": str(v.low), "high": str(v.high), "step": str(v.step)}
            for v in definition.variables
        ],
        "tolerance": str(definition.tolerance) if definition.tolerance is not None else None,
        "tolerance_kind": definition.tolerance_kind,
        "unit": definition.unit,
        "rubric": _rubric_stored(definition.rubric),
        "model_answer": definition.model_answer,
    }


def loaded(item: Item) -> items.ItemDefinition:
    """The stored item as the grading module's definition."""
    stored = item.definition
    return items.ItemDefinition(
        kind=item.kind,  # type: ignore[arg-type]
        stem=stored["stem"],
        choices=tuple(items.Choice(c["id"], c["text"]) for c in stored["choices"]),
        key=tuple(stored["key"]),
        formula=stored["formula"],
        variables=tuple(
            items.Variable(v["name"], Decimal(v["low"]), Decimal(v["high"]), Decimal(v["step"]))
            for v in stored["variables"]
        ),
        tolerance=Decimal(stored["tolerance"]) if stored["tolerance"] is not None else None,
        tolerance_kind=stored["tolerance_kind"],
        unit=stored["unit"],
        rubric=_rubric_loaded(stored.get("rubric")),
        model_answer=stored.get("model_answer"),
    )


def _skill_of(session: Session, *, institution_id: uuid.UUID, data: ItemIn) -> str:
    achievement = catalog.get_achievement(
        session, institution_id=institution_id, achievement_id=data.achievement_id
    )
    skill = str(data.skill_url)
    aligned = {a.target_url for a in achievement.alignments}
    if skill not in aligned:
        raise InvalidInput(
            f"{skill} is not one of the achievement's skills "
            f"({', '.join(sorted(aligned)) or 'none aligned yet'})"
        )
    return skill


def create_item(
    session: Session,
    *,
    actor: Principal,
    institution_id: uuid.UUID,
    data: ItemIn,
    family_id: uuid.UUID | None = None,
    version: int = 1,
) -> Item:
    """Add an item to an achievement's bank, with provisional parameters until calibration."""
    actor.require_role("issuer", "assessor")
    skill = _skill_of(session, institution_id=institution_id, data=data)
    definition = definition_of(data)
    try:
        definition.validate()
    except items.ItemError as exc:
        raise InvalidInput(f"the item cannot be used: {exc}") from exc
    # A single-choice item can be guessed: 1/choices is its floor. Multiple choice cannot.
    guessable = len(data.choices) if data.kind == "single_choice" else None
    a, b, c = irt.cold_start(data.author_difficulty, n_choices=guessable)
    item = Item(
        institution_id=institution_id,
        achievement_id=data.achievement_id,
        family_id=family_id or uuid.uuid4(),
        version=version,
        skill_url=skill,
        kind=data.kind,
        definition=_stored(definition),
        author_difficulty=data.author_difficulty,
        a=a,
        b=b,
        c=c,
        calibrated=False,
    )
    session.add(item)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="item.create",
        subject_type="item",
        subject_id=item.id,
        institution_id=institution_id,
        after={
            "family": str(item.family_id),
            "version": version,
            "kind": data.kind,
            "skill": skill,
        },
    )
    return item


def revise_item(
    session: Session,
    *,
    actor: Principal,
    institution_id: uuid.UUID,
    item_id: uuid.UUID,
    data: ItemIn,
) -> Item:
    """A new version replaces the item in the bank; answers keep pointing at the old one."""
    old = get_item(session, institution_id=institution_id, item_id=item_id)
    if old.state != "active":
        raise Conflict("only an active item can be revised")
    if data.achievement_id != old.achievement_id:
        raise InvalidInput("a revision stays in the same achievement's bank")
    retire_item(
        session,
        actor=actor,
        institution_id=institution_id,
        item_id=item_id,
        reason=f"revised as version {old.version + 1}",
    )
    return create_item(
        session,
        actor=actor,
        institution_id=institution_id,
        data=data,
        family_id=old.family_id,
        version=old.version + 1,
    )


def retire_item(
    session: Session,
    *,
    actor: Principal,
    institution_id: uuid.UUID,
    item_id: uuid.UUID,
    reason: str,
) -> Item:
    actor.require_role("issuer", "assessor")
    item = get_item(session, institution_id=institution_id, item_id=item_id)
    if item.state == "retired":
        return item
    item.state = "retired"
    audit.record(
        session,
        actor=actor,
        action="item.retire",
        subject_type="item",
        subject_id=item.id,
        institution_id=institution_id,
        before={"state": "active"},
        after={"state": "retired"},
        reason=reason,
    )
    return item


def get_item(session: Session, *, institution_id: uuid.UUID, item_id: uuid.UUID) -> Item:
    found = repo.item(session, institution_id=institution_id, item_id=item_id)
    if found is None:
        raise NotFound("no such item in this institution")
    return found


def list_items(
    session: Session,
    *,
    institution_id: uuid.UUID,
    achievement_id: uuid.UUID | None,
    page: PageRequest,
) -> tuple[Sequence[Item], int]:
    return repo.page_items(
        session, institution_id=institution_id, achievement_id=achievement_id, page=page
    )


# --- attempts: the adaptive test -------------------------------------------------------------

# Results an adaptive test writes into the credential; the names explain the scale.
SCALE_MEAN, SCALE_SD = 50.0, 10.0
RESULT_DESCRIPTIONS = [
    ResultDescriptionIn(
        key="scaled-score",
        name="Scaled score (T scale: 50 is the mean of the "
        "calibration group, 10 is one standard deviation)",
        result_type="ScaledScore",
        value_min="0",
        value_max="100",
    ),
    ResultDescriptionIn(
        key="standard-error",
        name="Standard error of the scaled score "
        "(how precisely the skill was measured; smaller is more precise)",
        result_type="Result",
    ),
    ResultDescriptionIn(key="items", name="Adaptive test items answered", result_type="Result"),
    ResultDescriptionIn(
        key="attempt", name="Attempt on which the assessment was passed", result_type="Result"
    ),
]


def scaled(theta: float) -> float:
    return min(100.0, max(0.0, SCALE_MEAN + SCALE_SD * theta))


@dataclass(frozen=True, slots=True)
class ItemView:
    """What a learner may see of the current item: never the key or the parameters."""

    attempt_id: uuid.UUID
    item_id: uuid.UUID
    version: int
    position: int
    max_items: int
    kind: str
    stem: str
    choices: tuple[items.Choice, ...]
    unit: str | None
    deadline_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    attempt: Attempt
    finished: bool
    message: str


def _cat_policy(policy: AssessmentPolicy) -> cat.CatPolicy:
    return cat.CatPolicy(
        target_se=policy.target_se,
        min_items=policy.min_items,
        max_items=policy.max_items,
        cut_score=policy.cut_score,
        confidence=policy.confidence,
    )


def _attempt_policy(policy: AssessmentPolicy) -> attempts.AttemptPolicy:
    return attempts.AttemptPolicy(
        max_attempts=policy.max_attempts,
        cooldown=dt.timedelta(minutes=policy.cooldown_minutes),
        time_limit=dt.timedelta(minutes=policy.time_limit_minutes)
        if policy.time_limit_minutes
        else None,
        item_time_limit=dt.timedelta(seconds=policy.item_time_limit_seconds)
        if policy.item_time_limit_seconds
        else None,
    )


def _bank(bank_items: Sequence[Item]) -> cat.ItemBank:
    skills = {url: i for i, url in enumerate(sorted({it.skill_url for it in bank_items}))}
    return cat.ItemBank(
        a=np.array([it.a for it in bank_items]),
        b=np.array([it.b for it in bank_items]),
        c=np.array([it.c for it in bank_items]),
        skill=np.array([skills[it.skill_url] for it in bank_items]),
        ids=tuple(str(it.id) for it in bank_items),
    )


def _rng(attempt: Attempt, version: int) -> np.random.Generator:
    # Deterministic per attempt and step: a retried request makes the same choice.
    return np.random.default_rng([attempt.seed, version])


def _attempt_bank(session: Session, attempt: Attempt) -> tuple[cat.ItemBank, list[Item]]:
    ids = [uuid.UUID(i) for i in attempt.item_ids]
    found = repo.items_by_ids(session, item_ids=ids)
    bank_items = [found[i] for i in ids]
    return _bank(bank_items), bank_items


def _own_attempt(
    session: Session, *, actor: Principal, attempt_id: uuid.UUID, lock: bool = False
) -> Attempt:
    if actor.kind != "learner" or actor.id is None:
        raise Forbidden("only the learner taking the assessment can do this")
    lookup = repo.attempt_locked if lock else repo.attempt
    found = lookup(session, institution_id=actor.tenant, attempt_id=attempt_id)
    if found is None or found.learner_id != actor.id:
        raise NotFound("no such attempt of yours")
    return found


def start_attempt(
    session: Session,
    *,
    actor: Principal,
    achievement_id: uuid.UUID,
    now: dt.datetime | None = None,
) -> Attempt:
    """Start (or resume) the learner's adaptive test for an achievement."""
    if actor.kind != "learner" or actor.id is None:
        raise Forbidden("assessments are taken by learners")
    now = now or utcnow()
    learner = identity.get_learner(session, institution_id=actor.tenant, learner_id=actor.id)
    if learner.status != "active":
        raise Conflict("this account cannot take assessments")
    achievement = catalog.get_achievement(
        session, institution_id=actor.tenant, achievement_id=achievement_id
    )
    if achievement.status != "active":
        raise Conflict("this achievement is retired")
    policy = get_policy(session, institution_id=actor.tenant, achievement_id=achievement_id)
    history = repo.attempts_of(session, learner_id=learner.id, achievement_id=achievement_id)
    running = [a for a in history if a.state == "in_progress"]
    if running:
        return running[0]
    if credentials.live_award_for(session, learner_id=learner.id, achievement_id=achievement_id):
        raise Conflict("you already hold this credential; there is nothing to assess")
    verdict = attempts.may_start(
        _attempt_policy(policy),
        [attempts.PastAttempt(a.started_at, a.finished_at, a.state == "passed") for a in history],
        now=now,
    )
    if not verdict.allowed:
        raise Conflict(
            verdict.reason, retry_at=verdict.retry_at.isoformat() if verdict.retry_at else None
        )
    bank_items = list(repo.active_items(session, achievement_id=achievement_id))
    if len(bank_items) < policy.max_items:
        raise Conflict(
            f"the item bank has {len(bank_items)} items; this assessment needs at "
            f"least {policy.max_items} (its maximum length)"
        )
    bank = _bank(bank_items)
    shown_before = [uuid.UUID(i) for earlier in history for i in _administered_ids(earlier)]
    seen_families = {
        found.family_id for found in repo.items_by_ids(session, item_ids=shown_before).values()
    }
    exclude = [i for i, it in enumerate(bank_items) if it.family_id in seen_families]
    attempt = Attempt(
        institution_id=actor.tenant,
        achievement_id=achievement_id,
        learner_id=learner.id,
        number=verdict.attempt_number or len(history) + 1,
        seed=secrets.randbits(62),
        cat_state={},
        item_ids=[str(it.id) for it in bank_items],
        offered_at=now,
        started_at=now,
        deadline_at=attempts.deadline(_attempt_policy(policy), now),
    )
    state = cat.start(bank, _cat_policy(policy), _rng(attempt, 0), exclude=exclude)
    attempt.cat_state = state.to_dict()
    session.add(attempt)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="attempt.start",
        subject_type="attempt",
        subject_id=attempt.id,
        institution_id=actor.tenant,
        after={
            "achievement": str(achievement_id),
            "number": attempt.number,
            "bank": len(bank_items),
            "excluded": len(exclude),
        },
    )
    return attempt


def _administered_ids(attempt: Attempt) -> set[str]:
    if not attempt.cat_state:
        return set()
    state = cat.CatState.from_dict(attempt.cat_state)
    return {attempt.item_ids[i] for i in state.administered}


def current_item(session: Session, *, actor: Principal, attempt_id: uuid.UUID) -> ItemView:
    attempt = _own_attempt(session, actor=actor, attempt_id=attempt_id)
    if attempt.state != "in_progress":
        raise Conflict(f"this attempt has ended ({attempt.state})")
    state = cat.CatState.from_dict(attempt.cat_state)
    policy = get_policy(session, institution_id=actor.tenant, achievement_id=attempt.achievement_id)
    if state.offered is None:  # pragma: no cover - a running attempt always offers an item
        raise Conflict("no item is waiting")
    item = get_item(
        session, institution_id=actor.tenant, item_id=uuid.UUID(attempt.item_ids[state.offered])
    )
    shown = items.instantiate(loaded(item), seed=items.instance_seed(attempt.seed, str(item.id)))
    return ItemView(
        attempt_id=attempt.id,
        item_id=item.id,
        version=state.version,
        position=state.n_items + 1,
        max_items=policy.max_items,
        kind=item.kind,
        stem=shown.stem,
        choices=shown.choices,
        unit=shown.unit,
        deadline_at=attempt.deadline_at,
    )


def answer_item(
    session: Session,
    *,
    actor: Principal,
    settings: Settings,
    attempt_id: uuid.UUID,
    item_id: uuid.UUID,
    answer: Any,
    version: int,
    now: dt.datetime | None = None,
) -> AttemptOutcome:
    """Grade an answer to the offered item and move the adaptive test on.

    Refused without any change: another attempt's item, an item not offered now, a
    resubmitted answer, a stale page (version), a malformed answer. An answer after the time
    limit is not counted and ends the attempt on what was answered in time.
    """
    now = now or utcnow()
    attempt = _own_attempt(session, actor=actor, attempt_id=attempt_id, lock=True)
    if attempt.state != "in_progress":
        raise Conflict(f"this attempt has ended ({attempt.state})")
    policy = get_policy(session, institution_id=actor.tenant, achievement_id=attempt.achievement_id)
    state = cat.CatState.from_dict(attempt.cat_state)
    in_time, why = attempts.answer_in_time(
        _attempt_policy(policy),
        started_at=attempt.started_at,
        item_shown_at=attempt.offered_at or attempt.started_at,
        now=now,
    )
    if not in_time:
        finished = cat.end(state, cat.STOP_TIME_LIMIT)
        _finish(
            session,
            actor=actor,
            settings=settings,
            attempt=attempt,
            state=finished,
            policy=policy,
            now=now,
        )
        return AttemptOutcome(attempt, True, f"{why}; the answer was not counted")
    try:
        index = attempt.item_ids.index(str(item_id))
    except ValueError:
        raise InvalidInput("this item is not part of the attempt") from None
    bank, bank_items = _attempt_bank(session, attempt)
    definition = loaded(bank_items[index])
    shaped = _shaped(definition, answer)
    try:
        graded = items.grade(
            definition,
            shaped,
            seed=items.instance_seed(attempt.seed, str(item_id)),
        )
        new_state = cat.answer(
            state,
            bank,
            _cat_policy(policy),
            item_index=index,
            correct=graded.correct,
            expected_version=version,
            rng=_rng(attempt, state.version + 1),
        )
    except items.ItemError as exc:
        raise InvalidInput(str(exc)) from exc
    except cat.CatError as exc:
        raise Conflict(str(exc)) from exc
    seconds = max(0.0, (now - (attempt.offered_at or attempt.started_at)).total_seconds())
    response = Response(
        attempt_id=attempt.id,
        position=state.n_items,
        item_id=item_id,
        answer={"value": answer},
        correct=graded.correct,
        grading=dict(graded.grading) if graded.grading is not None else None,
        seconds=seconds,
        answered_at=now,
    )
    session.add(response)
    attempt.cat_state = new_state.to_dict()
    attempt.offered_at = now
    attempt.theta, attempt.standard_error = new_state.theta, new_state.se
    session.flush()
    if definition.kind == "short_text":
        _check_text_answer(
            session, attempt=attempt, response=response, item=bank_items[index], text=shaped
        )
    audit.record(
        session,
        actor=actor,
        action="attempt.answer",
        subject_type="attempt",
        subject_id=attempt.id,
        institution_id=attempt.institution_id,
        after={
            "item": str(item_id),
            "position": state.n_items,
            "correct": graded.correct,
            "seconds": round(seconds, 1),
            "version": new_state.version,
        },
    )
    if new_state.finished:
        _finish(
            session,
            actor=actor,
            settings=settings,
            attempt=attempt,
            state=new_state,
            policy=policy,
            now=now,
        )
        return AttemptOutcome(attempt, True, attempt.decision_reason or "finished")
    return AttemptOutcome(attempt, False, "answer recorded")


def _check_text_answer(
    session: Session, *, attempt: Attempt, response: Response, item: Item, text: str
) -> None:
    """Flag for a person: a grade the rubric baseline is unsure of, and an answer that nearly
    duplicates another learner's answer to the same item (any version of it)."""
    if response.grading is not None and response.grading.get("needs_review"):
        session.add(
            IntegrityFlag(
                institution_id=attempt.institution_id,
                attempt_id=attempt.id,
                kind="uncertain_grade",
                reason=(
                    f"the automatic rubric grade of answer {response.position + 1} is uncertain "
                    f"(confidence {response.grading['confidence']:.2f}); please check it"
                ),
                evidence={"response": str(response.id), "grading": response.grading},
            )
        )
    matches = fingerprint_text(
        session,
        institution_id=attempt.institution_id,
        scope_id=item.family_id,
        learner_id=attempt.learner_id,
        text=text,
        response_id=response.id,
    )
    if matches:
        session.add(
            _near_duplicate_flag(
                matches,
                institution_id=attempt.institution_id,
                attempt_id=attempt.id,
                what=f"answer {response.position + 1}",
                compared_with="another learner's answer to the same item",
                evidence={"response": str(response.id)},
            )
        )


def _near_duplicate_flag(
    matches: Sequence[tuple[dict[str, str], float]],
    *,
    institution_id: uuid.UUID,
    what: str,
    compared_with: str,
    evidence: dict[str, Any],
    attempt_id: uuid.UUID | None = None,
    submission_id: uuid.UUID | None = None,
) -> IntegrityFlag:
    """A flag naming the closest matches (from `fingerprint_text`) for an assessor."""
    return IntegrityFlag(
        institution_id=institution_id,
        attempt_id=attempt_id,
        submission_id=submission_id,
        kind="near_duplicate",
        reason=f"{what} shares {matches[0][1]:.0%} of its word sequences with {compared_with}",
        evidence={
            **evidence,
            "matches": [{**owner, "similarity": round(sim, 3)} for owner, sim in matches[:5]],
        },
    )


def fingerprint_text(
    session: Session,
    *,
    institution_id: uuid.UUID,
    scope_id: uuid.UUID,
    learner_id: uuid.UUID,
    text: str,
    response_id: uuid.UUID | None = None,
    submission_id: uuid.UUID | None = None,
    threshold: float = 0.8,
) -> list[tuple[dict[str, str], float]]:
    """Store the text's MinHash fingerprint; return other learners' earlier texts in the scope
    that it nearly duplicates (exact Jaccard of word 3-grams >= threshold), most similar first.
    Texts too short to tell copying from agreement are neither stored nor compared."""
    grams = integrity.shingles(text)
    if len(text.split()) < integrity.MIN_WORDS_TO_COMPARE or not grams:
        return []
    keys = integrity.lsh_keys(grams)
    found = []
    for other in repo.similar_fingerprints(
        session, scope_id=scope_id, keys=keys, exclude_learner=learner_id
    ):
        similarity = integrity.jaccard(grams, set(other.shingles))
        if similarity >= threshold:
            owner = (
                {"response": str(other.response_id)}
                if other.response_id
                else {"submission": str(other.submission_id)}
            )
            found.append((owner, similarity))
    fingerprint = TextFingerprint(
        institution_id=institution_id,
        scope_id=scope_id,
        learner_id=learner_id,
        response_id=response_id,
        submission_id=submission_id,
        shingles=sorted(grams),
    )
    session.add(fingerprint)
    session.flush()
    session.add_all(
        TextFingerprintBucket(
            fingerprint_id=fingerprint.id, band=band, scope_id=scope_id, bucket=key
        )
        for band, key in enumerate(keys)
    )
    return sorted(found, key=lambda pair: -pair[1])


def _shaped(definition: items.ItemDefinition, answer: Any) -> Any:
    """A form sends every answer as a list of values; only multiple choice keeps the list."""
    if isinstance(answer, list) and definition.kind != "multiple_choice":
        return answer[0] if len(answer) == 1 else ""
    return answer


def _finish(
    session: Session,
    *,
    actor: Principal,
    settings: Settings,
    attempt: Attempt,
    state: cat.CatState,
    policy: AssessmentPolicy,
    now: dt.datetime,
) -> None:
    outcome = cat.decision(state, _cat_policy(policy))
    attempt.cat_state = state.to_dict()
    attempt.state = {"pass": "passed", "fail": "failed"}.get(outcome.outcome, "undecided")
    attempt.theta, attempt.standard_error = outcome.theta, outcome.se
    attempt.decision_reason = outcome.statement
    attempt.finished_at = now
    session.flush()
    flags = _raise_flags(session, attempt=attempt, state=state)
    missing = None
    if attempt.state == "passed":
        missing = _award_if_complete(
            session,
            settings=settings,
            institution_id=attempt.institution_id,
            learner_id=attempt.learner_id,
            achievement_id=attempt.achievement_id,
        )
        if missing:
            attempt.decision_reason = f"{outcome.statement} To earn the credential: {missing}."
    audit.record(
        session,
        actor=actor,
        action=f"attempt.{attempt.state}",
        subject_type="attempt",
        subject_id=attempt.id,
        institution_id=attempt.institution_id,
        after={
            "theta": round(outcome.theta, 3),
            "se": round(outcome.se, 3),
            "items": outcome.n_items,
            "stopped": state.stopped,
            "flags": flags,
            "award": str(attempt.award_id) if attempt.award_id else None,
            "still_missing": missing,
        },
        reason=outcome.statement,
    )


PROJECT_RESULT_DESCRIPTIONS = [
    ResultDescriptionIn(
        key="project-points",
        name="Project: rubric points given by an assessor (the pass mark is stated in the "
        "achievement's criteria)",
        result_type="Result",
    ),
    ResultDescriptionIn(
        key="project-scaled-score",
        name="Project: scaled score from the rubric levels (graded response model, T scale)",
        result_type="ScaledScore",
        value_min="0",
        value_max="100",
    ),
]


def _award_if_complete(
    session: Session,
    *,
    settings: Settings,
    institution_id: uuid.UUID,
    learner_id: uuid.UUID,
    achievement_id: uuid.UUID,
) -> str | None:
    """Award the credential once every part the achievement asks for is passed: the adaptive
    test where it has a policy, the project where it has a brief. Returns what is still
    missing, or None once awarded (now or earlier)."""
    policy = repo.policy(session, institution_id=institution_id, achievement_id=achievement_id)
    brief = repo.brief(session, institution_id=institution_id, achievement_id=achievement_id)
    attempt = (
        repo.passed_attempt(session, learner_id=learner_id, achievement_id=achievement_id)
        if policy is not None
        else None
    )
    accepted = [
        s
        for s in repo.submissions_of(session, learner_id=learner_id, achievement_id=achievement_id)
        if s.state == "accepted"
    ]
    submission = accepted[-1] if accepted else None
    if policy is not None and attempt is None:
        return "pass the adaptive test"
    if brief is not None and submission is None:
        return "have the project accepted by an assessor"
    held = credentials.live_award_for(session, learner_id=learner_id, achievement_id=achievement_id)
    if held is None:
        engine = Principal.system(institution_id, roles={"issuer"}, label="assessment")
        descriptions = (RESULT_DESCRIPTIONS if attempt is not None else []) + (
            PROJECT_RESULT_DESCRIPTIONS if submission is not None else []
        )
        catalog.ensure_result_descriptions(
            session,
            actor=engine,
            institution_id=institution_id,
            achievement_id=achievement_id,
            descriptions=descriptions,
        )
        results: list[credentials.ResultIn] = []
        evidence: list[credentials.EvidenceIn] = []
        if attempt is not None:
            theta, se = attempt.theta or 0.0, attempt.standard_error or 0.0
            answered = cat.CatState.from_dict(attempt.cat_state).n_items
            results += [
                credentials.ResultIn("scaled-score", f"{scaled(theta):.1f}"),
                credentials.ResultIn("standard-error", f"{SCALE_SD * se:.1f}"),
                credentials.ResultIn("items", str(answered)),
                credentials.ResultIn("attempt", str(attempt.number)),
            ]
        if submission is not None and brief is not None:
            results += [
                credentials.ResultIn(
                    "project-points", f"{submission.points} of {_brief_rubric(brief).total}"
                ),
                credentials.ResultIn(
                    "project-scaled-score", f"{scaled(submission.theta or 0.0):.1f}"
                ),
            ]
            evidence.append(
                credentials.EvidenceIn(
                    name=submission.title,
                    description=f"Project for “{brief.title}”, reviewed against its rubric",
                    narrative=submission.feedback,
                    url=submission.links[0] if submission.links else None,
                    genre="Project",
                )
            )
        key = f"attempt:{attempt.id}" if attempt is not None else f"project:{submission.id}"  # type: ignore[union-attr]
        held, _ = credentials.issue_award(
            session,
            actor=engine,
            settings=settings,
            institution_id=institution_id,
            achievement_id=achievement_id,
            learner_id=learner_id,
            results=results,
            evidence=evidence,
            idempotency_key=key,
        )
    # Held already (awarded meanwhile by other means): link it, never issue twice.
    if attempt is not None:
        attempt.award_id = held.id
    if submission is not None:
        submission.award_id = held.id
    session.flush()
    return None


def _raise_flags(session: Session, *, attempt: Attempt, state: cat.CatState) -> list[str]:
    """Integrity signals for an assessor; they decide nothing on their own. Returns their kinds."""
    answered = list(repo.responses_of(session, attempt_id=attempt.id))
    if len(answered) < 2:
        return []
    norms = repo.mean_seconds(session, item_ids=[r.item_id for r in answered])
    # Until an item has 20 timed answers, assume a minute's reading as its norm.
    means = [norms.get(r.item_id, 60.0) for r in answered]
    found = [
        integrity.rapid_guessing(
            [r.seconds for r in answered], integrity.rapid_guess_thresholds(means)
        )
    ]
    bank_items = repo.items_by_ids(session, item_ids=[r.item_id for r in answered])
    probabilities = irt.p_correct(
        np.array([state.theta]),
        np.array([bank_items[r.item_id].a for r in answered]),
        np.array([bank_items[r.item_id].b for r in answered]),
        np.array([bank_items[r.item_id].c for r in answered]),
    )[0]
    found.append(integrity.person_misfit([r.correct for r in answered], probabilities))
    raised = [flag for flag in found if flag is not None]
    for flag in raised:
        session.add(
            IntegrityFlag(
                institution_id=attempt.institution_id,
                attempt_id=attempt.id,
                kind=flag.kind,
                reason=flag.reason,
                evidence=dict(flag.evidence),
            )
        )
    return [flag.kind for flag in raised]


def review_flag(
    session: Session,
    *,
    actor: Principal,
    institution_id: uuid.UUID,
    flag_id: uuid.UUID,
    decision: str,
    note: str,
) -> IntegrityFlag:
    """An assessor clears or upholds a flag; upholding does not revoke anything by itself."""
    actor.require_role("assessor")
    if decision not in ("cleared", "upheld"):
        raise InvalidInput("decide 'cleared' or 'upheld'")
    found = repo.flag(session, institution_id=institution_id, flag_id=flag_id)
    if found is None:
        raise NotFound("no such flag")
    if found.state != "open":
        raise Conflict(f"this flag was already {found.state}")
    found.state, found.review_note = decision, note
    found.reviewed_by, found.reviewed_at = actor.audit_actor, utcnow()
    audit.record(
        session,
        actor=actor,
        action=f"integrity_flag.{decision}",
        subject_type="attempt",
        subject_id=found.attempt_id,
        institution_id=institution_id,
        before={"state": "open"},
        after={"state": decision, "kind": found.kind},
        reason=note,
    )
    return found


def review_queue(
    session: Session, *, institution_id: uuid.UUID, page: PageRequest
) -> tuple[Sequence[IntegrityFlag], int]:
    return repo.open_flags(session, institution_id=institution_id, page=page)


# --- what the learner sees around the test ---------------------------------------------------


@dataclass(frozen=True, slots=True)
class Overview:
    achievement_name: str
    max_attempts: int
    attempts_used: int
    in_progress: uuid.UUID | None
    passed: bool
    may_start: bool
    reason: str
    max_items: int
    time_limit_minutes: int | None
    project_title: str | None = None


def overview(
    session: Session,
    *,
    actor: Principal,
    achievement_id: uuid.UUID,
    now: dt.datetime | None = None,
) -> Overview:
    if actor.kind != "learner" or actor.id is None:
        raise Forbidden("assessments are taken by learners")
    achievement = catalog.get_achievement(
        session, institution_id=actor.tenant, achievement_id=achievement_id
    )
    policy = get_policy(session, institution_id=actor.tenant, achievement_id=achievement_id)
    history = repo.attempts_of(session, learner_id=actor.id, achievement_id=achievement_id)
    running = next((a.id for a in history if a.state == "in_progress"), None)
    verdict = attempts.may_start(
        _attempt_policy(policy),
        [attempts.PastAttempt(a.started_at, a.finished_at, a.state == "passed") for a in history],
        now=now or utcnow(),
    )
    brief = repo.brief(session, institution_id=actor.tenant, achievement_id=achievement_id)
    return Overview(
        achievement_name=achievement.name,
        max_attempts=policy.max_attempts,
        attempts_used=len(history),
        in_progress=running,
        passed=any(a.state == "passed" for a in history),
        may_start=verdict.allowed or running is not None,
        reason=verdict.reason,
        max_items=policy.max_items,
        time_limit_minutes=policy.time_limit_minutes,
        project_title=brief.title if brief else None,
    )


@dataclass(frozen=True, slots=True)
class SkillResult:
    skill_url: str
    name: str
    answered: int
    correct: int

    @property
    def strength(self) -> bool:
        return self.answered > 0 and self.correct / self.answered >= 0.6


@dataclass(frozen=True, slots=True)
class Report:
    attempt: Attempt
    achievement_name: str
    scaled_score: float | None
    scaled_se: float | None
    items: int
    skills: list[SkillResult]
    credential_url: str | None


def report(session: Session, *, actor: Principal, attempt_id: uuid.UUID) -> Report:
    """The result of a finished attempt: the decision, the scaled score and, per skill, what
    went well and what to work on. Answers themselves are not revealed."""
    attempt = _own_attempt(session, actor=actor, attempt_id=attempt_id)
    if attempt.state == "in_progress":
        raise Conflict("this attempt is still running")
    achievement = catalog.get_achievement(
        session, institution_id=actor.tenant, achievement_id=attempt.achievement_id
    )
    names = {a.target_url: a.target_name for a in achievement.alignments}
    answered = list(repo.responses_of(session, attempt_id=attempt.id))
    bank_items = repo.items_by_ids(session, item_ids=[r.item_id for r in answered])
    counts: dict[str, list[int]] = {}
    for response in answered:
        tally = counts.setdefault(bank_items[response.item_id].skill_url, [0, 0])
        tally[0] += 1
        tally[1] += int(response.correct)
    credential_url = None
    if attempt.award_id is not None:
        award = credentials.get_award(
            session, institution_id=actor.tenant, award_id=attempt.award_id
        )
        credential_url = str(award.credential["id"])
    return Report(
        attempt=attempt,
        achievement_name=achievement.name,
        scaled_score=scaled(attempt.theta) if attempt.theta is not None else None,
        scaled_se=SCALE_SD * attempt.standard_error if attempt.standard_error is not None else None,
        items=len(answered),
        skills=[
            SkillResult(url, names.get(url, url), n, c)
            for url, (n, c) in sorted(counts.items(), key=lambda kv: names.get(kv[0], ""))
        ],
        credential_url=credential_url,
    )


def report_or_item(
    session: Session, *, actor: Principal, attempt_id: uuid.UUID
) -> Report | ItemView:
    """What the attempt page shows: the next item while running, the report once finished."""
    attempt = _own_attempt(session, actor=actor, attempt_id=attempt_id)
    if attempt.state == "in_progress":
        return current_item(session, actor=actor, attempt_id=attempt_id)
    return report(session, actor=actor, attempt_id=attempt_id)


# --- calibration -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CalibrationReport:
    calibrated: int
    anchors: int
    skipped: int
    persons: int
    converged: bool
    iterations: int


def calibrate_bank(
    session: Session,
    *,
    actor: Principal,
    institution_id: uuid.UUID,
    achievement_id: uuid.UUID,
    responses: np.ndarray[Any, Any] | None = None,
    item_ids: Sequence[uuid.UUID] | None = None,
    min_responses: int = irt.DEFAULT_MIN_RESPONSES,
) -> CalibrationReport:
    """Estimate 2PL parameters (marginal ML, EM) for the achievement's active items.

    Responses come from the platform's finished attempts unless a persons-by-items matrix is
    given (0/1, NaN where an item was not shown; columns in `item_ids` order). Items already
    calibrated are fixed anchors, so new items land on the existing scale; items with fewer
    than `min_responses` answers keep their provisional parameters until they have enough.
    """
    actor.require_role("assessor", "issuer")
    bank = {
        it.id: it
        for it in repo.active_items(session, achievement_id=achievement_id)
        if it.institution_id == institution_id
    }
    if responses is None:
        rows = repo.scored_responses(session, achievement_id=achievement_id)
        people = sorted({r[0] for r in rows})
        columns = sorted({r[1] for r in rows if r[1] in bank})
        matrix = np.full((len(people), len(columns)), np.nan)
        person_at = {p: i for i, p in enumerate(people)}
        column_at = {c: j for j, c in enumerate(columns)}
        for attempt_id, item_id, correct in rows:
            if item_id in column_at:
                matrix[person_at[attempt_id], column_at[item_id]] = float(correct)
    else:
        columns = list(item_ids or [])
        matrix = np.asarray(responses, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape[1] != len(columns):
            raise InvalidInput("one response column per item id")
        unknown = [c for c in columns if c not in bank]
        if unknown:
            raise InvalidInput(f"{len(unknown)} item ids are not active items of this bank")
    counts = np.sum(~np.isnan(matrix), axis=0) if matrix.size else np.zeros(len(columns))
    keep = [j for j, c in enumerate(columns) if counts[j] >= min_responses or bank[c].calibrated]
    if not any(not bank[columns[j]].calibrated for j in keep):
        raise InvalidInput(
            f"no uncalibrated item has {min_responses} responses yet; "
            "provisional parameters stay in use"
        )
    kept = [columns[j] for j in keep]
    fixed = {i: (bank[c].a, bank[c].b, bank[c].c) for i, c in enumerate(kept) if bank[c].calibrated}
    try:
        result = irt.calibrate(
            matrix[:, keep],
            model="2PL",
            fixed=fixed or None,
            min_responses=min(min_responses, irt.MIN_RESPONSES_PER_ITEM),
        )
    except irt.CalibrationError as exc:
        raise InvalidInput(f"the bank cannot be calibrated yet: {exc}") from exc
    updated = 0
    for i, item_id in enumerate(kept):
        if i in fixed:
            continue
        item = bank[item_id]
        item.a, item.b = float(result.params.a[i]), float(result.params.b[i])
        item.c, item.calibrated = 0.0, True
        updated += 1
    report = CalibrationReport(
        calibrated=updated,
        anchors=len(fixed),
        skipped=len(bank) - len(kept),
        persons=result.n_persons,
        converged=result.converged,
        iterations=result.iterations,
    )
    audit.record(
        session,
        actor=actor,
        action="item_bank.calibrate",
        subject_type="achievement",
        subject_id=achievement_id,
        institution_id=institution_id,
        after={
            "calibrated": updated,
            "anchors": len(fixed),
            "skipped": report.skipped,
            "persons": report.persons,
            "converged": report.converged,
            "iterations": report.iterations,
            "log_likelihood": round(result.log_likelihood, 3),
        },
    )
    return report


def request_calibration(
    session: Session, *, actor: Principal, institution_id: uuid.UUID, achievement_id: uuid.UUID
) -> None:
    """Queue the calibration job (it runs after commit, in the background)."""
    actor.require_role("assessor", "issuer")
    if find_brief(session, institution_id=institution_id, achievement_id=achievement_id) is None:
        get_policy(session, institution_id=institution_id, achievement_id=achievement_id)
    jobs.enqueue(
        session,
        "assessment.calibrate_bank",
        institution_id=str(institution_id),
        achievement_id=str(achievement_id),
    )
    audit.record(
        session,
        actor=actor,
        action="item_bank.calibration_requested",
        subject_type="achievement",
        subject_id=achievement_id,
        institution_id=institution_id,
    )


# --- short-text regrades ---------------------------------------------------------------------


def regrade_response(
    session: Session,
    *,
    actor: Principal,
    settings: Settings,
    institution_id: uuid.UUID,
    response_id: uuid.UUID,
    correct: bool,
    note: str,
) -> Attempt:
    """An assessor overrides the automatic grade of one answer of a finished attempt.

    The attempt's ability and decision are recomputed from all its answers. A fail that
    becomes a pass awards the credential; a pass that becomes a fail keeps the credential
    (revoking it is a separate, deliberate act) and raises a flag saying so.
    """
    actor.require_role("assessor")
    found = repo.response(
        session, institution_id=institution_id, response_id=response_id, lock=True
    )
    if found is None:
        raise NotFound("no such answer in this institution")
    response, attempt = found
    if attempt.state == "in_progress":
        raise Conflict("the attempt is still running; regrade it once it has finished")
    if response.correct == correct and response.regraded_by is not None:
        return attempt  # the same regrade again: nothing to change
    before = {"correct": response.correct, "state": attempt.state, "theta": attempt.theta}
    response.correct = correct
    response.regraded_by, response.regrade_note = actor.audit_actor, note
    policy = get_policy(
        session, institution_id=institution_id, achievement_id=attempt.achievement_id
    )
    bank, _ = _attempt_bank(session, attempt)
    state = cat.CatState.from_dict(attempt.cat_state)
    scores = list(state.responses)
    scores[response.position] = correct
    theta, se = cat.posterior(bank, _cat_policy(policy), state.administered, scores)
    state = replace(state, responses=tuple(scores), theta=theta, se=se)
    outcome = cat.decision(state, _cat_policy(policy))
    was = attempt.state
    attempt.cat_state = state.to_dict()
    attempt.state = {"pass": "passed", "fail": "failed"}.get(outcome.outcome, "undecided")
    attempt.theta, attempt.standard_error = outcome.theta, outcome.se
    attempt.decision_reason = f"{outcome.statement} (after an assessor's regrade)"
    session.flush()
    if attempt.state == "passed" and was != "passed":
        missing = _award_if_complete(
            session,
            settings=settings,
            institution_id=institution_id,
            learner_id=attempt.learner_id,
            achievement_id=attempt.achievement_id,
        )
        if missing:
            attempt.decision_reason += f" To earn the credential: {missing}."
    elif was == "passed" and attempt.state != "passed" and attempt.award_id is not None:
        session.add(
            IntegrityFlag(
                institution_id=institution_id,
                attempt_id=attempt.id,
                kind="uncertain_grade",
                reason=(
                    "a regrade turned this pass into "
                    f"{'a fail' if attempt.state == 'failed' else 'an undecided result'}; "
                    "the credential already issued stands until someone decides to revoke it"
                ),
                evidence={"response": str(response.id), "award": str(attempt.award_id)},
            )
        )
    audit.record(
        session,
        actor=actor,
        action="response.regrade",
        subject_type="attempt",
        subject_id=attempt.id,
        institution_id=institution_id,
        before=before,
        after={"correct": correct, "state": attempt.state, "theta": round(outcome.theta, 3)},
        reason=note,
    )
    return attempt


# --- projects ---------------------------------------------------------------------------------


def _brief_rubric(brief: ProjectBrief) -> projects.ProjectRubric:
    return projects.ProjectRubric.from_dict({**brief.rubric, "pass_points": brief.pass_points})


def set_brief(
    session: Session,
    *,
    actor: Principal,
    institution_id: uuid.UUID,
    achievement_id: uuid.UUID,
    data: ProjectBriefIn,
) -> ProjectBrief:
    """Create or replace the project an achievement asks for, with its rubric.

    Changing the rubric's criteria resets their calibration to the cold start, since the
    earlier reviews scored something else.
    """
    actor.require_role("issuer", "assessor")
    catalog.get_achievement(session, institution_id=institution_id, achievement_id=achievement_id)
    try:
        rubric = projects.build_rubric(
            [(c.id, c.name, [(lv.label, lv.descriptor) for lv in c.levels]) for c in data.criteria],
            pass_points=data.pass_points,
        )
    except projects.RubricError as exc:
        raise InvalidInput(f"the rubric cannot be used: {exc}") from exc
    brief = repo.brief(session, institution_id=institution_id, achievement_id=achievement_id)
    before = None
    if brief is None:
        brief = ProjectBrief(institution_id=institution_id, achievement_id=achievement_id)
        session.add(brief)
    else:
        before = {"title": brief.title, "pass_points": brief.pass_points, "rubric": brief.rubric}
        old = _brief_rubric(brief)
        same_shape = [(c.id, len(c.levels)) for c in old.criteria] == [
            (c.id, len(c.levels)) for c in rubric.criteria
        ]
        if same_shape and brief.calibrated:
            # Wording changed, the criteria did not: keep what calibration learned.
            rubric = projects.ProjectRubric(
                tuple(
                    replace(new, a=kept.a, thresholds=kept.thresholds)
                    for new, kept in zip(rubric.criteria, old.criteria, strict=True)
                ),
                rubric.pass_points,
            )
        else:
            brief.calibrated = False
    brief.title, brief.instructions = data.title, data.instructions
    stored = rubric.to_dict()
    brief.rubric = {"criteria": stored["criteria"]}
    brief.pass_points = rubric.pass_points
    brief.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="project_brief.set",
        subject_type="achievement",
        subject_id=achievement_id,
        institution_id=institution_id,
        before=before,
        after={"title": brief.title, "pass_points": brief.pass_points, "rubric": brief.rubric},
    )
    return brief


def get_brief(
    session: Session, *, institution_id: uuid.UUID, achievement_id: uuid.UUID
) -> ProjectBrief:
    found = repo.brief(session, institution_id=institution_id, achievement_id=achievement_id)
    if found is None:
        raise NotFound("this achievement asks for no project")
    return found


def find_brief(
    session: Session, *, institution_id: uuid.UUID, achievement_id: uuid.UUID
) -> ProjectBrief | None:
    return repo.brief(session, institution_id=institution_id, achievement_id=achievement_id)


def submit_project(
    session: Session,
    *,
    actor: Principal,
    achievement_id: uuid.UUID,
    data: SubmissionIn,
    now: dt.datetime | None = None,
) -> ProjectSubmission:
    """A learner submits their project for review (one waiting at a time)."""
    if actor.kind != "learner" or actor.id is None:
        raise Forbidden("projects are submitted by learners")
    now = now or utcnow()
    brief = get_brief(session, institution_id=actor.tenant, achievement_id=achievement_id)
    learner = identity.get_learner(session, institution_id=actor.tenant, learner_id=actor.id)
    if learner.status != "active":
        raise Conflict("this account cannot submit projects")
    earlier = repo.submissions_of(session, learner_id=learner.id, achievement_id=achievement_id)
    if any(s.state == "submitted" for s in earlier):
        raise Conflict("your project is waiting for review; you can submit again once returned")
    if any(s.state == "accepted" for s in earlier):
        raise Conflict("your project was already accepted")
    submission = ProjectSubmission(
        institution_id=actor.tenant,
        achievement_id=achievement_id,
        learner_id=learner.id,
        number=len(earlier) + 1,
        state="submitted",
        title=data.title,
        report=data.report,
        links=[str(link) for link in data.links],
        submitted_at=now,
    )
    session.add(submission)
    session.flush()
    matches = fingerprint_text(
        session,
        institution_id=actor.tenant,
        scope_id=brief.achievement_id,
        learner_id=learner.id,
        text=data.report,
        submission_id=submission.id,
    )
    if matches:
        session.add(
            _near_duplicate_flag(
                matches,
                institution_id=actor.tenant,
                submission_id=submission.id,
                what="this report",
                compared_with="another learner's project for the same achievement",
                evidence={},
            )
        )
    audit.record(
        session,
        actor=actor,
        action="project.submit",
        subject_type="project_submission",
        subject_id=submission.id,
        institution_id=actor.tenant,
        after={
            "achievement": str(achievement_id),
            "number": submission.number,
            "near_duplicate": bool(matches),
        },
    )
    return submission


def review_submission(
    session: Session,
    *,
    actor: Principal,
    settings: Settings,
    institution_id: uuid.UUID,
    submission_id: uuid.UUID,
    levels: dict[str, int],
    feedback: str,
) -> ProjectSubmission:
    """An assessor scores the project on every rubric criterion. At or above the pass mark it
    is accepted (and the credential follows if the rest is passed); below, it is returned
    with the feedback and the learner may submit again."""
    actor.require_role("assessor")
    submission = repo.submission_locked(
        session, institution_id=institution_id, submission_id=submission_id
    )
    if submission is None:
        raise NotFound("no such project submission")
    if submission.state != "submitted":
        raise Conflict(f"this submission was already {submission.state}")
    if actor.kind == "learner" and actor.id == submission.learner_id:  # pragma: no cover
        raise Forbidden("nobody reviews their own project")
    brief = get_brief(
        session, institution_id=institution_id, achievement_id=submission.achievement_id
    )
    try:
        result = projects.score(_brief_rubric(brief), levels)
    except projects.RubricError as exc:
        raise InvalidInput(str(exc)) from exc
    submission.levels = dict(result.levels)
    submission.points, submission.theta, submission.standard_error = (
        result.points,
        result.theta,
        result.se,
    )
    submission.feedback = feedback
    submission.reviewed_by, submission.reviewed_at = actor.audit_actor, utcnow()
    submission.state = "accepted" if result.accepted else "returned"
    session.flush()
    missing = None
    if result.accepted:
        missing = _award_if_complete(
            session,
            settings=settings,
            institution_id=institution_id,
            learner_id=submission.learner_id,
            achievement_id=submission.achievement_id,
        )
    audit.record(
        session,
        actor=actor,
        action=f"project.{submission.state}",
        subject_type="project_submission",
        subject_id=submission.id,
        institution_id=institution_id,
        before={"state": "submitted"},
        after={
            "state": submission.state,
            "levels": submission.levels,
            "points": result.points,
            "theta": round(result.theta, 3),
            "award": str(submission.award_id) if submission.award_id else None,
            "still_missing": missing,
        },
        reason=result.statement,
    )
    return submission


def get_submission(
    session: Session, *, institution_id: uuid.UUID, submission_id: uuid.UUID
) -> ProjectSubmission:
    found = repo.submission(session, institution_id=institution_id, submission_id=submission_id)
    if found is None:
        raise NotFound("no such project submission")
    return found


def submissions_waiting(
    session: Session, *, institution_id: uuid.UUID, page: PageRequest
) -> tuple[Sequence[ProjectSubmission], int]:
    return repo.waiting_submissions(session, institution_id=institution_id, page=page)


def calibrate_rubric(
    session: Session,
    *,
    actor: Principal,
    institution_id: uuid.UUID,
    achievement_id: uuid.UUID,
    min_reviews: int = irt.DEFAULT_MIN_RESPONSES,
) -> bool:
    """Fit the graded response model to the reviewed projects once there are enough of them.
    Returns whether the rubric was (re)calibrated."""
    actor.require_role("assessor", "issuer")
    brief = get_brief(session, institution_id=institution_id, achievement_id=achievement_id)
    rubric = _brief_rubric(brief)
    reviews = repo.reviewed_levels(session, achievement_id=achievement_id)
    if len(reviews) < min_reviews:
        return False
    matrix = np.array(
        [[review.get(c.id, -1) for c in rubric.criteria] for review in reviews], dtype=np.int64
    )
    try:
        fitted = irt.calibrate_grm(matrix, standard_errors=False)
    except irt.CalibrationError as exc:
        # E.g. a level nobody reached yet: the cold start stays until the reviews span it.
        raise InvalidInput(f"the rubric cannot be calibrated yet: {exc}") from exc
    brief.rubric = {"criteria": rubric.recalibrated(fitted.params).to_dict()["criteria"]}
    brief.calibrated = True
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="project_rubric.calibrate",
        subject_type="achievement",
        subject_id=achievement_id,
        institution_id=institution_id,
        after={"reviews": len(reviews), "converged": fitted.converged},
    )
    return True


# --- import and export ------------------------------------------------------------------------


def export_bank(
    session: Session, *, institution_id: uuid.UUID, achievement_id: uuid.UUID
) -> dict[str, Any]:
    """The achievement's active items in the `microcred-items/1` JSON format."""
    catalog.get_achievement(session, institution_id=institution_id, achievement_id=achievement_id)
    exported = []
    for item in repo.active_items(session, achievement_id=achievement_id):
        # The stored definition has the item's input fields (older items lack the newer ones,
        # which default on import).
        entry: dict[str, Any] = {
            "skill_url": item.skill_url,
            "kind": item.kind,
            **item.definition,
            "author_difficulty": item.author_difficulty,
        }
        if item.calibrated:
            entry.update(a=item.a, b=item.b, c=item.c)
        exported.append(entry)
    return {"format": "microcred-items/1", "achievement_id": str(achievement_id), "items": exported}


def import_bank(
    session: Session,
    *,
    actor: Principal,
    institution_id: uuid.UUID,
    achievement_id: uuid.UUID,
    data: BankTransfer,
) -> list[Item]:
    """Add every item or none: all are checked first and every problem is reported by index."""
    actor.require_role("issuer", "assessor")
    catalog.get_achievement(session, institution_id=institution_id, achievement_id=achievement_id)
    errors: list[dict[str, Any]] = []
    prepared: list[ItemIn] = []
    for index, entry in enumerate(data.items):
        item_in = ItemIn.model_validate(
            {
                **entry.model_dump(exclude={"a", "b", "c"}),
                "achievement_id": achievement_id,
            }
        )
        try:
            _skill_of(session, institution_id=institution_id, data=item_in)
            definition_of(item_in).validate()
        except InvalidInput as exc:
            errors.append({"index": index, "detail": exc.detail})
        except items.ItemError as exc:
            errors.append({"index": index, "detail": f"the item cannot be used: {exc}"})
        if data.keep_calibration and None in (entry.a, entry.b, entry.c):
            errors.append({"index": index, "detail": "keep_calibration needs a, b and c"})
        prepared.append(item_in)
    if errors:
        raise InvalidInput(
            f"{len(errors)} of {len(data.items)} items cannot be imported; nothing was added",
            errors=errors,
        )
    created = []
    for entry, item_in in zip(data.items, prepared, strict=True):
        item = create_item(session, actor=actor, institution_id=institution_id, data=item_in)
        if data.keep_calibration:
            item.a, item.b, item.c = entry.a or item.a, entry.b or 0.0, entry.c or 0.0
            item.calibrated = True
        created.append(item)
    audit.record(
        session,
        actor=actor,
        action="item_bank.import",
        subject_type="achievement",
        subject_id=achievement_id,
        institution_id=institution_id,
        after={"items": len(created), "kept_calibration": data.keep_calibration},
    )
    return created


@dataclass(frozen=True, slots=True)
class ProjectPage:
    """What a learner sees of an achievement's project: the brief, the rubric, their work."""

    achievement_id: uuid.UUID
    achievement_name: str
    brief: ProjectBrief
    rubric: projects.ProjectRubric
    submissions: Sequence[ProjectSubmission]
    may_submit: bool
    reason: str
    has_test: bool


def project_page(session: Session, *, actor: Principal, achievement_id: uuid.UUID) -> ProjectPage:
    if actor.kind != "learner" or actor.id is None:
        raise Forbidden("projects are submitted by learners")
    achievement = catalog.get_achievement(
        session, institution_id=actor.tenant, achievement_id=achievement_id
    )
    brief = get_brief(session, institution_id=actor.tenant, achievement_id=achievement_id)
    mine = repo.submissions_of(session, learner_id=actor.id, achievement_id=achievement_id)
    reason = ""
    if any(s.state == "accepted" for s in mine):
        reason = "Your project was accepted."
    elif any(s.state == "submitted" for s in mine):
        reason = "Your project is waiting for an assessor's review."
    return ProjectPage(
        achievement_id=achievement_id,
        achievement_name=achievement.name,
        brief=brief,
        rubric=_brief_rubric(brief),
        submissions=mine,
        may_submit=not reason,
        reason=reason,
        has_test=repo.policy(session, institution_id=actor.tenant, achievement_id=achievement_id)
        is not None,
    )


# --- what staff see in the console ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FlagCase:
    """An open flag with what an assessor needs to decide: the answer and its grading."""

    flag: IntegrityFlag
    response: Response | None
    item_stem: str | None
    model_answer: str | None


@dataclass(frozen=True, slots=True)
class SubmissionCase:
    submission: ProjectSubmission
    achievement_name: str
    rubric: projects.ProjectRubric


def review_cases(
    session: Session, *, actor: Principal, institution_id: uuid.UUID, page: PageRequest
) -> tuple[list[FlagCase], list[SubmissionCase]]:
    """The assessor's queue: open flags and projects waiting for review, oldest first."""
    actor.require_role("assessor", "issuer")
    flags, _ = repo.open_flags(session, institution_id=institution_id, page=page)
    cases = []
    for flag in flags:
        response = None
        stem = model_answer = None
        response_id = flag.evidence.get("response")
        if response_id:
            found = repo.response(
                session, institution_id=institution_id, response_id=uuid.UUID(response_id)
            )
            if found is not None:
                response = found[0]
                item = repo.item(session, institution_id=institution_id, item_id=response.item_id)
                if item is not None:
                    stem, model_answer = (
                        item.definition["stem"],
                        item.definition.get("model_answer"),
                    )
        cases.append(FlagCase(flag, response, stem, model_answer))
    waiting, _ = repo.waiting_submissions(session, institution_id=institution_id, page=page)
    submissions = []
    for submission in waiting:
        brief = get_brief(
            session, institution_id=institution_id, achievement_id=submission.achievement_id
        )
        achievement = catalog.get_achievement(
            session, institution_id=institution_id, achievement_id=submission.achievement_id
        )
        submissions.append(SubmissionCase(submission, achievement.name, _brief_rubric(brief)))
    return cases, submissions


@dataclass(frozen=True, slots=True)
class BankPage:
    achievement_id: uuid.UUID
    achievement_name: str
    skills: list[tuple[str, str]]  # (ESCO URL, label) the items may measure
    policy: AssessmentPolicy | None
    brief: ProjectBrief | None
    items: Sequence[Item]


def bank_page(
    session: Session, *, actor: Principal, institution_id: uuid.UUID, achievement_id: uuid.UUID
) -> BankPage:
    actor.require_role("issuer", "assessor")
    achievement = catalog.get_achievement(
        session, institution_id=institution_id, achievement_id=achievement_id
    )
    return BankPage(
        achievement_id=achievement_id,
        achievement_name=achievement.name,
        skills=[(a.target_url, a.target_name) for a in achievement.alignments],
        policy=repo.policy(session, institution_id=institution_id, achievement_id=achievement_id),
        brief=repo.brief(session, institution_id=institution_id, achievement_id=achievement_id),
        items=repo.active_items(session, achievement_id=achievement_id),
    )
