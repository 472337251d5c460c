"""Assessment rules: policies, item banks, and the adaptive test from start to credential."""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from microcred.assessment import attempts, cat, integrity, irt, items
from microcred.assessment import repository as repo
from microcred.assessment.models import (
    AssessmentPolicy,
    Attempt,
    IntegrityFlag,
    Item,
    Response,
)
from microcred.assessment.schemas import ItemIn, PolicyIn
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
    try:
        graded = items.grade(
            definition,
            _shaped(definition, answer),
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
    session.add(
        Response(
            attempt_id=attempt.id,
            position=state.n_items,
            item_id=item_id,
            answer={"value": answer},
            correct=graded.correct,
            seconds=seconds,
            answered_at=now,
        )
    )
    attempt.cat_state = new_state.to_dict()
    attempt.offered_at = now
    attempt.theta, attempt.standard_error = new_state.theta, new_state.se
    session.flush()
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
    if attempt.state == "passed":
        _award(session, settings=settings, attempt=attempt, outcome=outcome)
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
        },
        reason=outcome.statement,
    )


def _award(
    session: Session, *, settings: Settings, attempt: Attempt, outcome: cat.Decision
) -> None:
    """Passing awards the credential, with the measurement in its results."""
    engine = Principal.system(attempt.institution_id, roles={"issuer"}, label="adaptive assessment")
    held = credentials.live_award_for(
        session, learner_id=attempt.learner_id, achievement_id=attempt.achievement_id
    )
    if held is not None:  # awarded meanwhile by other means: keep it, do not issue twice
        attempt.award_id = held.id
        return
    catalog.ensure_result_descriptions(
        session,
        actor=engine,
        institution_id=attempt.institution_id,
        achievement_id=attempt.achievement_id,
        descriptions=RESULT_DESCRIPTIONS,
    )
    award, _ = credentials.issue_award(
        session,
        actor=engine,
        settings=settings,
        institution_id=attempt.institution_id,
        achievement_id=attempt.achievement_id,
        learner_id=attempt.learner_id,
        results=[
            credentials.ResultIn("scaled-score", f"{scaled(outcome.theta):.1f}"),
            credentials.ResultIn("standard-error", f"{SCALE_SD * outcome.se:.1f}"),
            credentials.ResultIn("items", str(outcome.n_items)),
            credentials.ResultIn("attempt", str(attempt.number)),
        ],
        idempotency_key=f"attempt:{attempt.id}",
    )
    attempt.award_id = award.id


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
