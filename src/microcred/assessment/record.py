"""What a learner did to earn a credential, for the record page; and their progress.

Learners say a certificate means little unless it shows the work: how many assessments and
projects, how many attempts, how demanding the test was. These read the assessment context
for the credentials pages, which cannot import it (assessment awards credentials, not the
other way round).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy.orm import Session

from microcred.assessment import repository as repo
from microcred.assessment.models import Attempt, ProjectSubmission
from microcred.assessment.service import scaled
from microcred.catalog import service as catalog
from microcred.kit.errors import Forbidden
from microcred.kit.pagination import PageRequest
from microcred.kit.principal import Principal

FINISHED = ("passed", "failed")
Work = TypeVar("Work", Attempt, ProjectSubmission)


@dataclass(frozen=True, slots=True)
class Activity:
    """How an award was earned. Counts are of finished work only."""

    has_test: bool
    has_project: bool
    assessments_completed: int
    attempts_used: int
    max_attempts: int | None
    passing_attempt: int | None
    scaled_score: float | None
    adaptive_max_items: int | None
    cut_score_scaled: float | None
    confidence: float | None
    cooldown_minutes: int | None
    projects_accepted: int
    project_submissions: int


def activity(
    session: Session, *, institution_id: uuid.UUID, learner_id: uuid.UUID, achievement_id: uuid.UUID
) -> Activity:
    policy = repo.policy(session, institution_id=institution_id, achievement_id=achievement_id)
    brief = repo.brief(session, institution_id=institution_id, achievement_id=achievement_id)
    attempts = repo.attempts_of(session, learner_id=learner_id, achievement_id=achievement_id)
    submissions = repo.submissions_of(session, learner_id=learner_id, achievement_id=achievement_id)
    passed = next((a for a in attempts if a.state == "passed"), None)
    return Activity(
        has_test=policy is not None,
        has_project=brief is not None,
        assessments_completed=sum(1 for a in attempts if a.state in FINISHED),
        attempts_used=len(attempts),
        max_attempts=policy.max_attempts if policy else None,
        passing_attempt=passed.number if passed else None,
        scaled_score=scaled(passed.theta) if passed and passed.theta is not None else None,
        adaptive_max_items=policy.max_items if policy else None,
        cut_score_scaled=scaled(policy.cut_score) if policy else None,
        confidence=policy.confidence if policy else None,
        cooldown_minutes=policy.cooldown_minutes if policy else None,
        projects_accepted=sum(1 for s in submissions if s.state == "accepted"),
        project_submissions=len(submissions),
    )


@dataclass(frozen=True, slots=True)
class Progress:
    """Where the learner stands with one assessed achievement."""

    achievement_id: uuid.UUID
    achievement_name: str
    hours: float | None
    has_test: bool
    has_project: bool
    attempts_used: int
    max_attempts: int | None
    test_passed: bool
    test_in_progress: bool
    project_state: str | None  # submitted | returned | accepted | None (nothing submitted)

    @property
    def summary(self) -> str:
        parts: list[str] = []
        if self.has_test:
            if self.test_passed:
                parts.append("test passed")
            elif self.test_in_progress:
                parts.append("test in progress")
            elif self.attempts_used:
                parts.append(f"{self.attempts_used} of {self.max_attempts} attempts used")
            else:
                parts.append("test not started")
        if self.has_project:
            parts.append(
                {
                    None: "project not submitted",
                    "submitted": "project waiting for review",
                    "returned": "project returned with feedback",
                    "accepted": "project accepted",
                }.get(self.project_state, f"project {self.project_state}")
            )
        return "; ".join(parts)


def progress(session: Session, *, actor: Principal) -> list[Progress]:
    """Every achievement with an assessment, and how far the learner got with it."""
    if actor.kind != "learner" or actor.id is None:
        raise Forbidden("progress is a learner's")
    tested, projects = repo.assessed_achievements(session, institution_id=actor.tenant)
    attempts = _by_achievement(repo.attempts_of_learner(session, learner_id=actor.id))
    submissions = _by_achievement(repo.submissions_of_learner(session, learner_id=actor.id))
    out: list[Progress] = []
    achievements, _ = catalog.list_achievements(
        session, institution_id=actor.tenant, page=PageRequest(limit=500, offset=0), status="active"
    )
    for achievement in achievements:
        if achievement.id not in tested and achievement.id not in projects:
            continue
        mine = attempts.get(achievement.id, [])
        handed_in = submissions.get(achievement.id, [])
        policy = (
            repo.policy(session, institution_id=actor.tenant, achievement_id=achievement.id)
            if achievement.id in tested
            else None
        )
        out.append(
            Progress(
                achievement_id=achievement.id,
                achievement_name=achievement.name,
                hours=float(achievement.hours) if achievement.hours is not None else None,
                has_test=achievement.id in tested,
                has_project=achievement.id in projects,
                attempts_used=len(mine),
                max_attempts=policy.max_attempts if policy else None,
                test_passed=any(a.state == "passed" for a in mine),
                test_in_progress=any(a.state == "in_progress" for a in mine),
                project_state=handed_in[-1].state if handed_in else None,
            )
        )
    return out


def _by_achievement(rows: Sequence[Work]) -> dict[uuid.UUID, list[Work]]:
    grouped: dict[uuid.UUID, list[Work]] = {}
    for row in rows:
        grouped.setdefault(row.achievement_id, []).append(row)
    return grouped


@dataclass(frozen=True, slots=True)
class AbilityEvidence:
    """A finished adaptive test: the ability estimate against the achievement's cut score."""

    attempt_id: uuid.UUID
    achievement_id: uuid.UUID
    theta: float
    standard_error: float
    cut_theta: float
    items: int


@dataclass(frozen=True, slots=True)
class LearnerEvidence:
    abilities: list[AbilityEvidence]
    answers: list[tuple[uuid.UUID, str, bool]]  # (response id, skill uri, correct), oldest first


def learner_evidence(
    session: Session, *, institution_id: uuid.UUID, learner_id: uuid.UUID
) -> LearnerEvidence:
    """Everything the assessment context knows of a learner's skills, for mastery tracking."""
    abilities: list[AbilityEvidence] = []
    for attempt in repo.finished_attempts_of(session, learner_id=learner_id):
        policy = repo.policy(
            session, institution_id=institution_id, achievement_id=attempt.achievement_id
        )
        if policy is None or attempt.theta is None or attempt.standard_error is None:
            continue
        abilities.append(
            AbilityEvidence(
                attempt.id,
                attempt.achievement_id,
                float(attempt.theta),
                float(attempt.standard_error),
                float(policy.cut_score),
                0,  # the ability and its SE already say how much the test measured
            )
        )
    return LearnerEvidence(abilities, repo.answers_by_skill(session, learner_id=learner_id))


def all_graded_answers(session: Session) -> list[tuple[uuid.UUID, str, bool]]:
    """Every learner's graded answers by skill, for fitting knowledge tracing."""
    return repo.all_answers(session)
