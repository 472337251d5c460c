"""Every query of the learning context."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from microcred.learning.models import (
    BKTParameters,
    Enrolment,
    JobPosting,
    LearningTarget,
    MasteryEvidence,
    PostingSkill,
    SkillMastery,
)


def posting(
    session: Session, *, institution_id: uuid.UUID, posting_id: uuid.UUID
) -> JobPosting | None:
    return session.scalar(
        select(JobPosting).where(
            JobPosting.institution_id == institution_id, JobPosting.id == posting_id
        )
    )


def posting_by_hash(
    session: Session, *, institution_id: uuid.UUID, content_hash: str
) -> JobPosting | None:
    return session.scalar(
        select(JobPosting).where(
            JobPosting.institution_id == institution_id,
            JobPosting.content_hash == content_hash,
        )
    )


def page_postings(
    session: Session,
    *,
    institution_id: uuid.UUID,
    offset: int,
    limit: int,
    occupation_uri: str | None = None,
) -> tuple[Sequence[JobPosting], int]:
    where = [JobPosting.institution_id == institution_id]
    if occupation_uri is not None:
        where.append(JobPosting.occupation_uri == occupation_uri)
    total = session.scalar(select(func.count()).select_from(JobPosting).where(*where)) or 0
    rows = session.scalars(
        select(JobPosting)
        .where(*where)
        .order_by(JobPosting.posted_on.desc(), JobPosting.created_at.desc(), JobPosting.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return rows, total


def demand_rows(
    session: Session,
    *,
    institution_id: uuid.UUID,
    occupation_uri: str | None = None,
) -> list[tuple[uuid.UUID, str, str]]:
    """(posting id, skill uri, skill label) for every skill a posting asks for and staff kept."""
    where = [
        JobPosting.institution_id == institution_id,
        PostingSkill.rejected.is_(False),
    ]
    if occupation_uri is not None:
        where.append(JobPosting.occupation_uri == occupation_uri)
    stmt = (
        select(JobPosting.id, PostingSkill.skill_uri, PostingSkill.label)
        .join(PostingSkill, PostingSkill.posting_id == JobPosting.id)
        .where(*where)
    )
    return [(r[0], r[1], r[2]) for r in session.execute(stmt)]


def postings_per_day(
    session: Session,
    *,
    institution_id: uuid.UUID,
    occupation_uri: str | None = None,
) -> list[tuple[uuid.UUID, dt.date]]:
    where = [JobPosting.institution_id == institution_id]
    if occupation_uri is not None:
        where.append(JobPosting.occupation_uri == occupation_uri)
    return [
        (r[0], r[1])
        for r in session.execute(select(JobPosting.id, JobPosting.posted_on).where(*where))
    ]


def posting_occupations(session: Session, *, institution_id: uuid.UUID) -> list[tuple[str, int]]:
    stmt = (
        select(JobPosting.occupation_uri, func.count())
        .where(JobPosting.institution_id == institution_id, JobPosting.occupation_uri.is_not(None))
        .group_by(JobPosting.occupation_uri)
        .order_by(func.count().desc())
    )
    return [(str(r[0]), int(r[1])) for r in session.execute(stmt)]


def target_of(session: Session, *, learner_id: uuid.UUID) -> LearningTarget | None:
    return session.scalar(select(LearningTarget).where(LearningTarget.learner_id == learner_id))


def mastery_of(session: Session, *, learner_id: uuid.UUID) -> dict[str, SkillMastery]:
    rows = session.scalars(select(SkillMastery).where(SkillMastery.learner_id == learner_id))
    return {row.skill_uri: row for row in rows}


def mastery_row(session: Session, *, learner_id: uuid.UUID, skill_uri: str) -> SkillMastery | None:
    return session.get(SkillMastery, (learner_id, skill_uri))


def evidence_of(
    session: Session, *, learner_id: uuid.UUID, skill_uri: str | None = None
) -> Sequence[MasteryEvidence]:
    where = [MasteryEvidence.learner_id == learner_id]
    if skill_uri is not None:
        where.append(MasteryEvidence.skill_uri == skill_uri)
    return session.scalars(
        select(MasteryEvidence)
        .where(*where)
        .order_by(MasteryEvidence.created_at, MasteryEvidence.id)
    ).all()


def evidence_references(session: Session, *, learner_id: uuid.UUID) -> set[tuple[str, str, str]]:
    """(skill, kind, reference) already recorded, so replays add nothing."""
    stmt = select(MasteryEvidence.skill_uri, MasteryEvidence.kind, MasteryEvidence.reference).where(
        MasteryEvidence.learner_id == learner_id
    )
    return {(r[0], r[1], r[2]) for r in session.execute(stmt)}


def bkt_parameters(session: Session, *, skill_uris: Sequence[str]) -> dict[str, BKTParameters]:
    if not skill_uris:
        return {}
    rows = session.scalars(select(BKTParameters).where(BKTParameters.skill_uri.in_(skill_uris)))
    return {row.skill_uri: row for row in rows}


def enrolments_of(session: Session, *, learner_id: uuid.UUID) -> Sequence[Enrolment]:
    return session.scalars(
        select(Enrolment).where(Enrolment.learner_id == learner_id).order_by(Enrolment.created_at)
    ).all()


def enrolment(
    session: Session, *, learner_id: uuid.UUID, achievement_id: uuid.UUID
) -> Enrolment | None:
    return session.scalar(
        select(Enrolment).where(
            Enrolment.learner_id == learner_id, Enrolment.achievement_id == achievement_id
        )
    )
