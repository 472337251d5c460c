"""Every query of the assessment context."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session

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
from microcred.kit.pagination import PageRequest, fetch_page


def policy(
    session: Session, *, institution_id: uuid.UUID, achievement_id: uuid.UUID
) -> AssessmentPolicy | None:
    return session.scalar(
        select(AssessmentPolicy).where(
            AssessmentPolicy.institution_id == institution_id,
            AssessmentPolicy.achievement_id == achievement_id,
        )
    )


def item(session: Session, *, institution_id: uuid.UUID, item_id: uuid.UUID) -> Item | None:
    return session.scalar(
        select(Item).where(Item.institution_id == institution_id, Item.id == item_id)
    )


def items_by_ids(session: Session, *, item_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Item]:
    rows = session.scalars(select(Item).where(Item.id.in_(list(item_ids))))
    return {row.id: row for row in rows}


def active_items(session: Session, *, achievement_id: uuid.UUID) -> Sequence[Item]:
    """The bank an attempt starts from, in a stable order."""
    return session.scalars(
        select(Item)
        .where(Item.achievement_id == achievement_id, Item.state == "active")
        .order_by(Item.created_at, Item.id)
    ).all()


def page_items(
    session: Session,
    *,
    institution_id: uuid.UUID,
    achievement_id: uuid.UUID | None,
    page: PageRequest,
) -> tuple[Sequence[Item], int]:
    where = [Item.institution_id == institution_id]
    if achievement_id is not None:
        where.append(Item.achievement_id == achievement_id)
    return fetch_page(session, Item, where=where, order_by=[Item.created_at, Item.id], page=page)


def attempts_of(
    session: Session, *, learner_id: uuid.UUID, achievement_id: uuid.UUID
) -> Sequence[Attempt]:
    return session.scalars(
        select(Attempt)
        .where(Attempt.learner_id == learner_id, Attempt.achievement_id == achievement_id)
        .order_by(Attempt.number)
    ).all()


def attempt_locked(
    session: Session, *, institution_id: uuid.UUID, attempt_id: uuid.UUID
) -> Attempt | None:
    """Locked for the transaction: two tabs answering at once take turns."""
    return session.scalar(
        select(Attempt)
        .where(Attempt.institution_id == institution_id, Attempt.id == attempt_id)
        .with_for_update()
    )


def attempt(
    session: Session, *, institution_id: uuid.UUID, attempt_id: uuid.UUID
) -> Attempt | None:
    return session.scalar(
        select(Attempt).where(Attempt.institution_id == institution_id, Attempt.id == attempt_id)
    )


def responses_of(session: Session, *, attempt_id: uuid.UUID) -> Sequence[Response]:
    return session.scalars(
        select(Response).where(Response.attempt_id == attempt_id).order_by(Response.position)
    ).all()


def mean_seconds(session: Session, *, item_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, float]:
    """Mean response time per item over everyone's answers (the rapid-guess norm)."""
    rows = session.execute(
        select(Response.item_id, func.avg(Response.seconds), func.count())
        .where(Response.item_id.in_(list(item_ids)))
        .group_by(Response.item_id)
    )
    return {item_id: float(mean) for item_id, mean, count in rows if count >= 20}


def open_flags(
    session: Session, *, institution_id: uuid.UUID, page: PageRequest
) -> tuple[Sequence[IntegrityFlag], int]:
    return fetch_page(
        session,
        IntegrityFlag,
        where=[IntegrityFlag.institution_id == institution_id, IntegrityFlag.state == "open"],
        order_by=[IntegrityFlag.created_at, IntegrityFlag.id],
        page=page,
    )


def flag(
    session: Session, *, institution_id: uuid.UUID, flag_id: uuid.UUID
) -> IntegrityFlag | None:
    return session.scalar(
        select(IntegrityFlag).where(
            IntegrityFlag.institution_id == institution_id, IntegrityFlag.id == flag_id
        )
    )


def scored_responses(
    session: Session, *, achievement_id: uuid.UUID
) -> Sequence[tuple[uuid.UUID, uuid.UUID, bool]]:
    """(attempt, item, correct) for every finished attempt of the achievement."""
    rows = session.execute(
        select(Response.attempt_id, Response.item_id, Response.correct)
        .join(Attempt, Attempt.id == Response.attempt_id)
        .where(Attempt.achievement_id == achievement_id, Attempt.state != "in_progress")
    )
    return [(r[0], r[1], bool(r[2])) for r in rows]


def response(
    session: Session, *, institution_id: uuid.UUID, response_id: uuid.UUID, lock: bool = False
) -> tuple[Response, Attempt] | None:
    """An answer with its attempt; `lock` holds the attempt for the transaction (a regrade)."""
    query = (
        select(Response, Attempt)
        .join(Attempt, Attempt.id == Response.attempt_id)
        .where(Response.id == response_id, Attempt.institution_id == institution_id)
    )
    row = session.execute(query.with_for_update(of=Attempt) if lock else query).first()
    return (row[0], row[1]) if row else None


def passed_attempt(
    session: Session, *, learner_id: uuid.UUID, achievement_id: uuid.UUID
) -> Attempt | None:
    return session.scalar(
        select(Attempt)
        .where(
            Attempt.learner_id == learner_id,
            Attempt.achievement_id == achievement_id,
            Attempt.state == "passed",
        )
        .order_by(Attempt.number.desc())
        .limit(1)
    )


# --- projects --------------------------------------------------------------------------------


def brief(
    session: Session, *, institution_id: uuid.UUID, achievement_id: uuid.UUID
) -> ProjectBrief | None:
    return session.scalar(
        select(ProjectBrief).where(
            ProjectBrief.institution_id == institution_id,
            ProjectBrief.achievement_id == achievement_id,
        )
    )


def submissions_of(
    session: Session, *, learner_id: uuid.UUID, achievement_id: uuid.UUID
) -> Sequence[ProjectSubmission]:
    return session.scalars(
        select(ProjectSubmission)
        .where(
            ProjectSubmission.learner_id == learner_id,
            ProjectSubmission.achievement_id == achievement_id,
        )
        .order_by(ProjectSubmission.number)
    ).all()


def submission_locked(
    session: Session, *, institution_id: uuid.UUID, submission_id: uuid.UUID
) -> ProjectSubmission | None:
    return session.scalar(
        select(ProjectSubmission)
        .where(
            ProjectSubmission.institution_id == institution_id,
            ProjectSubmission.id == submission_id,
        )
        .with_for_update()
    )


def submission(
    session: Session, *, institution_id: uuid.UUID, submission_id: uuid.UUID
) -> ProjectSubmission | None:
    return session.scalar(
        select(ProjectSubmission).where(
            ProjectSubmission.institution_id == institution_id,
            ProjectSubmission.id == submission_id,
        )
    )


def waiting_submissions(
    session: Session, *, institution_id: uuid.UUID, page: PageRequest
) -> tuple[Sequence[ProjectSubmission], int]:
    return fetch_page(
        session,
        ProjectSubmission,
        where=[
            ProjectSubmission.institution_id == institution_id,
            ProjectSubmission.state == "submitted",
        ],
        order_by=[ProjectSubmission.submitted_at, ProjectSubmission.id],
        page=page,
    )


def reviewed_levels(session: Session, *, achievement_id: uuid.UUID) -> Sequence[dict[str, int]]:
    """The rubric levels of every reviewed submission (the GRM calibration data)."""
    return [
        dict(levels)
        for levels in session.scalars(
            select(ProjectSubmission.levels).where(
                ProjectSubmission.achievement_id == achievement_id,
                ProjectSubmission.levels.is_not(None),
            )
        )
    ]


# --- text fingerprints -----------------------------------------------------------------------


def similar_fingerprints(
    session: Session, *, scope_id: uuid.UUID, keys: Sequence[int], exclude_learner: uuid.UUID
) -> Sequence[TextFingerprint]:
    """Earlier texts in the scope sharing at least one LSH band with these keys."""
    candidates = (
        select(TextFingerprintBucket.fingerprint_id)
        .where(
            TextFingerprintBucket.scope_id == scope_id,
            tuple_(TextFingerprintBucket.band, TextFingerprintBucket.bucket).in_(
                list(enumerate(keys))
            ),
        )
        .distinct()
    )
    return session.scalars(
        select(TextFingerprint).where(
            TextFingerprint.id.in_(candidates), TextFingerprint.learner_id != exclude_learner
        )
    ).all()


def assessed_achievements(
    session: Session, *, institution_id: uuid.UUID
) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """(achievements with an adaptive test, achievements with a project brief)."""
    tested = session.scalars(
        select(AssessmentPolicy.achievement_id).where(
            AssessmentPolicy.institution_id == institution_id
        )
    ).all()
    projects = session.scalars(
        select(ProjectBrief.achievement_id).where(ProjectBrief.institution_id == institution_id)
    ).all()
    return set(tested), set(projects)


def attempts_of_learner(session: Session, *, learner_id: uuid.UUID) -> Sequence[Attempt]:
    return session.scalars(
        select(Attempt).where(Attempt.learner_id == learner_id).order_by(Attempt.number)
    ).all()


def submissions_of_learner(
    session: Session, *, learner_id: uuid.UUID
) -> Sequence[ProjectSubmission]:
    return session.scalars(
        select(ProjectSubmission)
        .where(ProjectSubmission.learner_id == learner_id)
        .order_by(ProjectSubmission.number)
    ).all()


def finished_attempts_of(session: Session, *, learner_id: uuid.UUID) -> list[Attempt]:
    """The learner's finished adaptive attempts that produced an ability estimate."""
    return list(
        session.scalars(
            select(Attempt)
            .where(
                Attempt.learner_id == learner_id,
                Attempt.state.in_(("passed", "failed")),
                Attempt.theta.is_not(None),
                Attempt.standard_error.is_not(None),
            )
            .order_by(Attempt.finished_at, Attempt.id)
        )
    )


def answers_by_skill(
    session: Session, *, learner_id: uuid.UUID
) -> list[tuple[uuid.UUID, str, bool]]:
    """(response id, the item's skill, correct) for every graded answer, oldest first."""
    stmt = (
        select(Response.id, Item.skill_url, Response.correct)
        .join(Attempt, Attempt.id == Response.attempt_id)
        .join(Item, Item.id == Response.item_id)
        .where(Attempt.learner_id == learner_id)
        .order_by(Response.answered_at, Response.position, Response.id)
    )
    return [(r[0], r[1], bool(r[2])) for r in session.execute(stmt)]


def all_answers(session: Session) -> list[tuple[uuid.UUID, str, bool]]:
    """(learner, skill, correct) for every graded answer of every learner, in time order."""
    stmt = (
        select(Attempt.learner_id, Item.skill_url, Response.correct)
        .join(Attempt, Attempt.id == Response.attempt_id)
        .join(Item, Item.id == Response.item_id)
        .order_by(Response.answered_at, Response.position, Response.id)
    )
    return [(r[0], r[1], bool(r[2])) for r in session.execute(stmt)]
