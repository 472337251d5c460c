"""Job postings and the skills they demand, learners' mastery of skills, their target job and
their enrolments."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from microcred.kit.db import Base, new_id, utcnow


class JobPosting(Base):
    """A job advertisement an institution collected, with the skills extracted from it."""

    __tablename__ = "job_postings"
    __table_args__ = (
        # Re-uploading the same posting (same text) is recognised, not stored twice.
        UniqueConstraint("institution_id", "content_hash"),
        CheckConstraint("source IN ('paste', 'upload', 'csv', 'api', 'demo')", name="source"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    institution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    posted_on: Mapped[dt.date] = mapped_column(index=True)
    occupation_uri: Mapped[str | None] = mapped_column(
        ForeignKey("esco_occupations.uri", ondelete="SET NULL"), index=True
    )
    location: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(8))
    content_hash: Mapped[str] = mapped_column(String(64))
    # The linker and model that extracted the skills, so a figure can be traced to its model.
    extractor: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    skills: Mapped[list[PostingSkill]] = relationship(
        cascade="all, delete-orphan", order_by="PostingSkill.score.desc()", lazy="selectin"
    )


class PostingSkill(Base):
    """A skill a posting demands: found by the linker (with its evidence) or added by staff.

    Staff can reject an extracted skill; it stays recorded, marked, and out of the figures."""

    __tablename__ = "posting_skills"
    __table_args__ = (
        PrimaryKeyConstraint("posting_id", "skill_uri"),
        CheckConstraint("origin IN ('linker', 'staff')", name="origin"),
    )

    posting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("job_postings.id", ondelete="CASCADE"))
    skill_uri: Mapped[str] = mapped_column(
        ForeignKey("esco_skills.uri", ondelete="CASCADE"), index=True
    )
    label: Mapped[str] = mapped_column(String(400))
    score: Mapped[float] = mapped_column(Float)
    evidence: Mapped[str] = mapped_column(String(500), default="")
    span_start: Mapped[int | None]
    span_end: Mapped[int | None]
    origin: Mapped[str] = mapped_column(String(6), default="linker")
    rejected: Mapped[bool] = mapped_column(default=False)


class SkillMastery(Base):
    """A learner's current mastery estimate of one skill, with its uncertainty and reasons."""

    __tablename__ = "skill_mastery"
    __table_args__ = (
        PrimaryKeyConstraint("learner_id", "skill_uri"),
        CheckConstraint("probability >= 0 AND probability <= 1", name="probability"),
    )

    learner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    skill_uri: Mapped[str] = mapped_column(String(200))
    probability: Mapped[float] = mapped_column(Float)
    low: Mapped[float] = mapped_column(Float)
    high: Mapped[float] = mapped_column(Float)
    evidence_count: Mapped[int] = mapped_column(default=0)
    source: Mapped[str] = mapped_column(String(16))
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    model_version: Mapped[str] = mapped_column(String(60))
    # A person may override the estimate; the override wins until new evidence arrives.
    overridden_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MasteryEvidence(Base):
    """One piece of evidence behind a mastery estimate (append-only)."""

    __tablename__ = "mastery_evidence"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('practice', 'assessment', 'award', 'prior_learning', 'override')",
            name="kind",
        ),
        # The same answer, attempt or award counts once, however often it is replayed.
        UniqueConstraint("learner_id", "skill_uri", "kind", "reference"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    learner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("learners.id", ondelete="CASCADE"), index=True
    )
    skill_uri: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    reference: Mapped[str] = mapped_column(String(100))
    correct: Mapped[bool | None]
    theta: Mapped[float | None] = mapped_column(Float)
    standard_error: Mapped[float | None] = mapped_column(Float)
    probability_after: Mapped[float] = mapped_column(Float)
    detail: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class BKTParameters(Base):
    """Knowledge-tracing parameters fitted per skill from the platform's practice answers."""

    __tablename__ = "bkt_parameters"

    skill_uri: Mapped[str] = mapped_column(String(200), primary_key=True)
    p_init: Mapped[float] = mapped_column(Float)
    p_learn: Mapped[float] = mapped_column(Float)
    p_guess: Mapped[float] = mapped_column(Float)
    p_slip: Mapped[float] = mapped_column(Float)
    answers: Mapped[int]
    version: Mapped[str] = mapped_column(String(60))
    fitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class LearningTarget(Base):
    """The job a learner aims at (an ESCO occupation or a pasted posting) and how to plan."""

    __tablename__ = "learning_targets"
    __table_args__ = (
        CheckConstraint("kind IN ('occupation', 'posting')", name="kind"),
        CheckConstraint("objective IN ('hours', 'cost', 'count')", name="objective"),
        CheckConstraint("budget IS NULL OR budget >= 0", name="budget"),
        CheckConstraint("max_hours IS NULL OR max_hours > 0", name="max_hours"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    learner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("learners.id", ondelete="CASCADE"), unique=True
    )
    kind: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(300))
    occupation_uri: Mapped[str | None] = mapped_column(
        ForeignKey("esco_occupations.uri", ondelete="SET NULL")
    )
    posting_text: Mapped[str | None] = mapped_column(Text)
    # The skills read from a pasted posting, kept so the gap stays the same between visits.
    demanded: Mapped[list[Any]] = mapped_column(default=list)
    objective: Mapped[str] = mapped_column(String(6), default="hours")
    budget: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    max_hours: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Enrolment(Base):
    """A learner's enrolment in an achievement, from their plan, a nudge or directly."""

    __tablename__ = "enrolments"
    __table_args__ = (
        UniqueConstraint("learner_id", "achievement_id"),
        CheckConstraint("source IN ('plan', 'nudge', 'direct')", name="source"),
        CheckConstraint("status IN ('active', 'completed', 'withdrawn')", name="status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    learner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("learners.id", ondelete="CASCADE"), index=True
    )
    achievement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("achievements.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(10), default="active")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)
