"""Assessment policies, items, attempts, responses, projects, text fingerprints and integrity
flags."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from microcred.kit.db import Base, new_id, utcnow


class AssessmentPolicy(Base):
    """How an achievement is assessed: attempt rules and the adaptive test's settings."""

    __tablename__ = "assessment_policies"
    __table_args__ = (
        CheckConstraint("max_attempts >= 1", name="max_attempts"),
        CheckConstraint("cooldown_minutes >= 0", name="cooldown"),
        CheckConstraint("min_items >= 1 AND max_items >= min_items", name="lengths"),
        CheckConstraint("target_se > 0", name="target_se"),
        CheckConstraint("confidence > 0.5 AND confidence < 1", name="confidence"),
    )

    achievement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("achievements.id", ondelete="CASCADE"), primary_key=True
    )
    institution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    max_attempts: Mapped[int] = mapped_column(default=3)
    cooldown_minutes: Mapped[int] = mapped_column(default=24 * 60)
    time_limit_minutes: Mapped[int | None]
    item_time_limit_seconds: Mapped[int | None]
    min_items: Mapped[int] = mapped_column(default=8)
    max_items: Mapped[int] = mapped_column(default=30)
    target_se: Mapped[float] = mapped_column(Float, default=0.30)
    # The pass mark on the ability scale (theta), and how sure the decision must be.
    cut_score: Mapped[float] = mapped_column(Float, default=0.0)
    confidence: Mapped[float] = mapped_column(Float, default=0.95)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Item(Base):
    """One version of an assessment item. Items are never edited in place: a revision is a
    new row, so every recorded response points at exactly what the learner saw."""

    __tablename__ = "items"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('single_choice', 'multiple_choice', 'numeric', 'short_text')", name="kind"
        ),
        CheckConstraint("state IN ('active', 'retired')", name="state"),
        CheckConstraint("a > 0 AND c >= 0 AND c < 1", name="parameters"),
        CheckConstraint("author_difficulty BETWEEN 1 AND 5", name="author_difficulty"),
        Index("ix_items_bank", "achievement_id", "state"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    institution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    achievement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("achievements.id", ondelete="CASCADE")
    )
    # The item family: every version of one item shares it.
    family_id: Mapped[uuid.UUID] = mapped_column(index=True)
    version: Mapped[int] = mapped_column(default=1)
    skill_url: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(20))
    definition: Mapped[dict[str, Any]]
    author_difficulty: Mapped[int] = mapped_column(default=3)
    # IRT parameters (D = 1); provisional from the author's rating until calibrated.
    a: Mapped[float] = mapped_column(Float)
    b: Mapped[float] = mapped_column(Float)
    c: Mapped[float] = mapped_column(Float, default=0.0)
    calibrated: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(8), default="active")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Attempt(Base):
    __tablename__ = "attempts"
    __table_args__ = (
        CheckConstraint(
            "state IN ('in_progress', 'passed', 'failed', 'undecided', 'expired')", name="state"
        ),
        UniqueConstraint("learner_id", "achievement_id", "number"),
        # One attempt in progress per learner and achievement (a second tab resumes it).
        Index(
            "uq_attempts_one_in_progress",
            "learner_id",
            "achievement_id",
            unique=True,
            sqlite_where=text("state = 'in_progress'"),
            postgresql_where=text("state = 'in_progress'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    institution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    achievement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("achievements.id", ondelete="RESTRICT"), index=True
    )
    learner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("learners.id", ondelete="RESTRICT"), index=True
    )
    number: Mapped[int]
    state: Mapped[str] = mapped_column(String(12), default="in_progress")
    # Per-attempt seed: numeric items draw their values from it, so a retake differs.
    seed: Mapped[int] = mapped_column(BigInteger)
    cat_state: Mapped[dict[str, Any]]
    item_ids: Mapped[list[Any]]  # the bank at start, by position in cat_state
    offered_at: Mapped[dt.datetime | None]
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    deadline_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]
    theta: Mapped[float | None] = mapped_column(Float)
    standard_error: Mapped[float | None] = mapped_column(Float)
    decision_reason: Mapped[str | None] = mapped_column(Text)
    award_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("awards.id"))


class Response(Base):
    __tablename__ = "responses"
    __table_args__ = (
        UniqueConstraint("attempt_id", "position"),
        UniqueConstraint("attempt_id", "item_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    attempt_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("attempts.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    item_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("items.id"), index=True)
    answer: Mapped[dict[str, Any]]
    correct: Mapped[bool]
    # A short-text answer's rubric grade (points per criterion, evidence, confidence).
    grading: Mapped[dict[str, Any] | None]
    # An assessor's regrade replaces `correct`; the automatic grade stays in `grading`.
    regraded_by: Mapped[str | None] = mapped_column(String(80))
    regrade_note: Mapped[str | None] = mapped_column(Text)
    seconds: Mapped[float] = mapped_column(Float)
    answered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class IntegrityFlag(Base):
    """A signal for an assessor's review queue; a person decides what it means."""

    __tablename__ = "integrity_flags"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('rapid_guessing', 'person_misfit', 'near_duplicate', 'uncertain_grade')",
            name="kind",
        ),
        CheckConstraint("state IN ('open', 'cleared', 'upheld')", name="state"),
        # A flag is about an attempt or about a project submission, never both.
        CheckConstraint("(attempt_id IS NULL) <> (submission_id IS NULL)", name="subject"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    institution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    attempt_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("attempts.id", ondelete="CASCADE"), index=True
    )
    submission_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("project_submissions.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(8), default="open")
    reviewed_by: Mapped[str | None] = mapped_column(String(80))
    reviewed_at: Mapped[dt.datetime | None]
    review_note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ProjectBrief(Base):
    """The project an achievement asks for, and the rubric an assessor scores it with."""

    __tablename__ = "project_briefs"
    __table_args__ = (CheckConstraint("pass_points >= 1", name="pass_points"),)

    achievement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("achievements.id", ondelete="CASCADE"), primary_key=True
    )
    institution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    instructions: Mapped[str] = mapped_column(Text)
    # Criteria with their level descriptors and graded-response-model parameters.
    rubric: Mapped[dict[str, Any]]
    pass_points: Mapped[int]
    calibrated: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class ProjectSubmission(Base):
    """A learner's project, reviewed by an assessor against the brief's rubric."""

    __tablename__ = "project_submissions"
    __table_args__ = (
        CheckConstraint("state IN ('submitted', 'accepted', 'returned')", name="state"),
        UniqueConstraint("learner_id", "achievement_id", "number"),
        # One submission waiting for review per learner and achievement.
        Index(
            "uq_project_submissions_one_waiting",
            "learner_id",
            "achievement_id",
            unique=True,
            sqlite_where=text("state = 'submitted'"),
            postgresql_where=text("state = 'submitted'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    institution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    achievement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("achievements.id", ondelete="RESTRICT"), index=True
    )
    learner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("learners.id", ondelete="RESTRICT"), index=True
    )
    number: Mapped[int]
    state: Mapped[str] = mapped_column(String(10), default="submitted")
    title: Mapped[str] = mapped_column(String(200))
    report: Mapped[str] = mapped_column(Text)
    links: Mapped[list[Any]]
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # The review: a level per rubric criterion, the points, the ability they imply.
    levels: Mapped[dict[str, Any] | None]
    points: Mapped[int | None]
    theta: Mapped[float | None] = mapped_column(Float)
    standard_error: Mapped[float | None] = mapped_column(Float)
    feedback: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(80))
    reviewed_at: Mapped[dt.datetime | None]
    award_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("awards.id"))


class TextFingerprint(Base):
    """The MinHash signature of a free-text answer or project report.

    Answers are compared only within their scope (an item family, or an achievement's project),
    through the LSH buckets below, so finding near-duplicates costs a few indexed lookups
    instead of a scan of every earlier answer.
    """

    __tablename__ = "text_fingerprints"
    __table_args__ = (
        CheckConstraint("(response_id IS NULL) <> (submission_id IS NULL)", name="owner"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    institution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    scope_id: Mapped[uuid.UUID] = mapped_column(index=True)
    learner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("learners.id", ondelete="CASCADE"))
    response_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("responses.id", ondelete="CASCADE"), unique=True
    )
    submission_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("project_submissions.id", ondelete="CASCADE"), unique=True
    )
    # The word shingles, kept to confirm candidates by exact Jaccard similarity.
    shingles: Mapped[list[Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TextFingerprintBucket(Base):
    __tablename__ = "text_fingerprint_buckets"
    __table_args__ = (Index("ix_text_fingerprint_buckets_lookup", "scope_id", "band", "bucket"),)

    fingerprint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("text_fingerprints.id", ondelete="CASCADE"), primary_key=True
    )
    band: Mapped[int] = mapped_column(primary_key=True)
    scope_id: Mapped[uuid.UUID]
    bucket: Mapped[int] = mapped_column(BigInteger)
