"""The knowledge base (sources and their chunks), the answer log, and stakeholder surveys."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from microcred.kit.db import Base, new_id, utcnow


class KnowledgeSource(Base):
    """A document the institution controls: a starter article, its catalogue, or an upload.

    `text` is the normalised text the chunks point into (offsets are into it); the original
    upload is not kept. `content_hash` changes with the text; `indexed_hash` is the hash the
    current chunks were built from, so a source whose two hashes differ is waiting for its
    re-index job and answers still come from the previous, complete chunk set."""

    __tablename__ = "knowledge_sources"
    __table_args__ = (
        UniqueConstraint("institution_id", "key"),
        CheckConstraint("kind IN ('starter', 'catalogue', 'document')", name="kind"),
        CheckConstraint("state IN ('pending', 'indexed', 'failed')", name="state"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    institution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    # Stable within the institution: "starter/what-is-a-micro-credential",
    # "catalogue/<achievement id>", "document/<id>".
    key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10))
    title: Mapped[str] = mapped_column(String(300))
    media_type: Mapped[str] = mapped_column(String(40))
    filename: Mapped[str | None] = mapped_column(String(300))
    # The public page a citation links to (an achievement page, an article page).
    url: Mapped[str | None] = mapped_column(String(500))
    achievement_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("achievements.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    indexed_hash: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(8), default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(default=True)
    chunk_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    indexed_at: Mapped[dt.datetime | None]

    chunks: Mapped[list[KnowledgeChunk]] = relationship(
        cascade="all, delete-orphan", order_by="KnowledgeChunk.ordinal", passive_deletes=True
    )


class KnowledgeChunk(Base):
    """A passage of a source, with the heading path above it and its offsets in the text."""

    __tablename__ = "knowledge_chunks"
    __table_args__ = (UniqueConstraint("source_id", "ordinal"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    source_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("knowledge_sources.id", ondelete="CASCADE")
    )
    institution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    ordinal: Mapped[int]
    heading_path: Mapped[list[Any]]
    text: Mapped[str] = mapped_column(Text)
    start: Mapped[int]
    end: Mapped[int]
    # float32 vector from `embedder`; recomputed when the embedder differs.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedder: Mapped[str | None] = mapped_column(String(120))


class AskedAnswer(Base):
    """One answer to one question (normalised) for one persona and scope: the cache and the log.

    A row is keyed by the knowledge base's version, so a changed source yields a fresh answer
    while the old one stays in the log. Staff may correct an answer (their text replaces the
    composed one and is marked as a person's) and pin it (served for that question whatever
    the version, until unpinned)."""

    __tablename__ = "asked_answers"
    __table_args__ = (
        UniqueConstraint("institution_id", "question_key", "kb_version"),
        CheckConstraint(
            "persona IN ('learner', 'educator', 'employer', 'unspecified')", name="persona"
        ),
        Index("ix_asked_answers_pinned", "institution_id", "question_key", "pinned"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    institution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    question: Mapped[str] = mapped_column(Text)
    # sha256 of the normalised question, the persona and the scope.
    question_key: Mapped[str] = mapped_column(String(64))
    persona: Mapped[str] = mapped_column(String(12))
    achievement_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("achievements.id", ondelete="CASCADE")
    )
    kb_version: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    # [{number, source_key, title, heading_path, quote, start, end, url, sources}]
    citations: Mapped[list[Any]]
    # The passages retrieved, with their scores and reasons (what the composer saw).
    retrieved: Mapped[list[Any]]
    abstained: Mapped[bool]
    reason: Mapped[str] = mapped_column(Text)
    # "extractive" or "llm:<model>"; a staff correction records "staff".
    model: Mapped[str] = mapped_column(String(120))
    latency_ms: Mapped[float] = mapped_column(Float)
    asked_count: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_asked_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    pinned: Mapped[bool] = mapped_column(default=False)
    corrected: Mapped[bool] = mapped_column(default=False)
    reviewed_by: Mapped[str | None] = mapped_column(String(80))
    reviewed_at: Mapped[dt.datetime | None]
    review_note: Mapped[str | None] = mapped_column(Text)


class Survey(Base):
    """A stakeholder survey with a public link; respondents need no account."""

    __tablename__ = "surveys"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'published', 'closed')", name="status"),
        CheckConstraint(
            "companion_display IN ('before', 'after', 'none')", name="companion_display"
        ),
        CheckConstraint("retention_days > 0", name="retention_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    institution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    # The unguessable part of the public link.
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    intro: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(10), default="draft")
    personas: Mapped[list[Any]]
    # When a respondent sees the "Here's what AI says" answer: before answering, after, or never.
    companion_display: Mapped[str] = mapped_column(String(6), default="after")
    # A/B: half the respondents (at random) see no companion answers, so the effect can be measured.
    ab_test: Mapped[bool] = mapped_column(default=False)
    retention_days: Mapped[int] = mapped_column(default=365)
    # Respondent text may go to the configured external LLM only when this is on.
    external_llm_allowed: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    published_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]

    questions: Mapped[list[SurveyQuestion]] = relationship(
        cascade="all, delete-orphan",
        order_by="SurveyQuestion.position",
        lazy="selectin",
        passive_deletes=True,
    )


class SurveyQuestion(Base):
    __tablename__ = "survey_questions"
    __table_args__ = (
        UniqueConstraint("survey_id", "position"),
        CheckConstraint(
            "kind IN ('free_text', 'single_choice', 'multiple_choice', 'scale')", name="kind"
        ),
        CheckConstraint(
            "companion_status IN ('none', 'draft', 'approved')", name="companion_status"
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    survey_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    position: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    prompt: Mapped[str] = mapped_column(Text)
    help_text: Mapped[str] = mapped_column(Text, default="")
    # Choices for the choice kinds; for a scale, the labels of its ends [low, high].
    options: Mapped[list[Any]] = mapped_column(default=list)
    required: Mapped[bool] = mapped_column(default=True)
    # The "Here's what AI says" companion: composed from the knowledge base, approved by staff.
    companion_question: Mapped[str | None] = mapped_column(Text)
    companion_text: Mapped[str | None] = mapped_column(Text)
    companion_citations: Mapped[list[Any]] = mapped_column(default=list)
    companion_model: Mapped[str | None] = mapped_column(String(120))
    companion_status: Mapped[str] = mapped_column(String(8), default="none")
    companion_approved_by: Mapped[str | None] = mapped_column(String(80))
    companion_approved_at: Mapped[dt.datetime | None]


class SurveyResponse(Base):
    """One respondent's pass through a survey: started when they choose their persona,
    submitted once. Anonymous unless they opt in to leave a contact address."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        CheckConstraint("status IN ('started', 'submitted')", name="status"),
        CheckConstraint("arm IN ('shown', 'hidden')", name="arm"),
        Index("ix_survey_responses_survey_started", "survey_id", "started_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    survey_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"))
    # The respondent's secret for this response (in their form); submitting twice is recognised.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    persona: Mapped[str] = mapped_column(String(12))
    # A/B arm; "shown" when the survey is not an A/B test and shows companions at all.
    arm: Mapped[str] = mapped_column(String(6))
    # What this respondent was shown, recorded because it can sway answers: before|after|none.
    companion_display: Mapped[str] = mapped_column(String(6))
    status: Mapped[str] = mapped_column(String(10), default="started")
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[dt.datetime | None]
    contact_opt_in: Mapped[bool] = mapped_column(default=False)
    contact: Mapped[str | None] = mapped_column(String(320))
    # Seeded demo responses are marked so nobody mistakes them for real ones.
    seeded: Mapped[bool] = mapped_column(default=False)

    answers: Mapped[list[SurveyAnswer]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", passive_deletes=True
    )


class SurveyAnswer(Base):
    __tablename__ = "survey_answers"
    __table_args__ = (PrimaryKeyConstraint("response_id", "question_id"),)

    response_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("survey_responses.id", ondelete="CASCADE")
    )
    question_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("survey_questions.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str | None] = mapped_column(Text)
    choices: Mapped[list[Any]] = mapped_column(default=list)
    number: Mapped[int | None]
