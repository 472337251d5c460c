"""ask: the knowledge base, the answer log, stakeholder surveys

Revision ID: 0007_ask_surveys
Revises: 0006_skills_intelligence
Create Date: 2026-11-22 20:40:42.336404
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

import microcred.kit.db

revision: str = "0007_ask_surveys"
down_revision: str | None = "0006_skills_intelligence"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "surveys",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("intro", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column(
            "personas",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("companion_display", sa.String(length=6), nullable=False),
        sa.Column("ab_test", sa.Boolean(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("external_llm_allowed", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", microcred.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_at", microcred.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", microcred.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "companion_display IN ('before', 'after', 'none')",
            name=op.f("ck_surveys_companion_display"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'closed')", name=op.f("ck_surveys_status")
        ),
        sa.CheckConstraint("retention_days > 0", name=op.f("ck_surveys_retention_positive")),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_surveys_institution_id_institutions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveys")),
        sa.UniqueConstraint("slug", name=op.f("uq_surveys_slug")),
    )
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_surveys_institution_id"), ["institution_id"], unique=False
        )

    op.create_table(
        "asked_answers",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("question_key", sa.String(length=64), nullable=False),
        sa.Column("persona", sa.String(length=12), nullable=False),
        sa.Column("achievement_id", sa.Uuid(), nullable=True),
        sa.Column("kb_version", sa.String(length=64), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column(
            "citations",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "retrieved",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("abstained", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("model", sa.String(length=120), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("asked_count", sa.Integer(), nullable=False),
        sa.Column("created_at", microcred.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_asked_at", microcred.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("corrected", sa.Boolean(), nullable=False),
        sa.Column("reviewed_by", sa.String(length=80), nullable=True),
        sa.Column("reviewed_at", microcred.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "persona IN ('learner', 'educator', 'employer', 'unspecified')",
            name=op.f("ck_asked_answers_persona"),
        ),
        sa.ForeignKeyConstraint(
            ["achievement_id"],
            ["achievements.id"],
            name=op.f("fk_asked_answers_achievement_id_achievements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_asked_answers_institution_id_institutions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asked_answers")),
        sa.UniqueConstraint(
            "institution_id",
            "question_key",
            "kb_version",
            name=op.f("uq_asked_answers_institution_id_question_key_kb_version"),
        ),
    )
    with op.batch_alter_table("asked_answers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_asked_answers_institution_id"), ["institution_id"], unique=False
        )
        batch_op.create_index(
            "ix_asked_answers_pinned", ["institution_id", "question_key", "pinned"], unique=False
        )

    op.create_table(
        "knowledge_sources",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("media_type", sa.String(length=40), nullable=False),
        sa.Column("filename", sa.String(length=300), nullable=True),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("achievement_id", sa.Uuid(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("indexed_hash", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("chunk_count", sa.Integer(), nullable=False),
        sa.Column("created_at", microcred.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", microcred.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("indexed_at", microcred.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('starter', 'catalogue', 'document')", name=op.f("ck_knowledge_sources_kind")
        ),
        sa.CheckConstraint(
            "state IN ('pending', 'indexed', 'failed')", name=op.f("ck_knowledge_sources_state")
        ),
        sa.ForeignKeyConstraint(
            ["achievement_id"],
            ["achievements.id"],
            name=op.f("fk_knowledge_sources_achievement_id_achievements"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_knowledge_sources_institution_id_institutions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_sources")),
        sa.UniqueConstraint(
            "institution_id", "key", name=op.f("uq_knowledge_sources_institution_id_key")
        ),
    )
    with op.batch_alter_table("knowledge_sources", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_knowledge_sources_achievement_id"), ["achievement_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_knowledge_sources_institution_id"), ["institution_id"], unique=False
        )

    op.create_table(
        "survey_questions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("survey_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("help_text", sa.Text(), nullable=False),
        sa.Column(
            "options",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("companion_question", sa.Text(), nullable=True),
        sa.Column("companion_text", sa.Text(), nullable=True),
        sa.Column(
            "companion_citations",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("companion_model", sa.String(length=120), nullable=True),
        sa.Column("companion_status", sa.String(length=8), nullable=False),
        sa.Column("companion_approved_by", sa.String(length=80), nullable=True),
        sa.Column(
            "companion_approved_at", microcred.kit.db.UTCDateTime(timezone=True), nullable=True
        ),
        sa.CheckConstraint(
            "companion_status IN ('none', 'draft', 'approved')",
            name=op.f("ck_survey_questions_companion_status"),
        ),
        sa.CheckConstraint(
            "kind IN ('free_text', 'single_choice', 'multiple_choice', 'scale')",
            name=op.f("ck_survey_questions_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["surveys.id"],
            name=op.f("fk_survey_questions_survey_id_surveys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_questions")),
        sa.UniqueConstraint(
            "survey_id", "position", name=op.f("uq_survey_questions_survey_id_position")
        ),
    )
    op.create_table(
        "survey_responses",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("survey_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("persona", sa.String(length=12), nullable=False),
        sa.Column("arm", sa.String(length=6), nullable=False),
        sa.Column("companion_display", sa.String(length=6), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("started_at", microcred.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", microcred.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("contact_opt_in", sa.Boolean(), nullable=False),
        sa.Column("contact", sa.String(length=320), nullable=True),
        sa.Column("seeded", sa.Boolean(), nullable=False),
        sa.CheckConstraint("arm IN ('shown', 'hidden')", name=op.f("ck_survey_responses_arm")),
        sa.CheckConstraint(
            "status IN ('started', 'submitted')", name=op.f("ck_survey_responses_status")
        ),
        sa.ForeignKeyConstraint(
            ["survey_id"],
            ["surveys.id"],
            name=op.f("fk_survey_responses_survey_id_surveys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_responses")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_survey_responses_token_hash")),
    )
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_survey_responses_survey_started", ["survey_id", "started_at"], unique=False
        )

    op.create_table(
        "knowledge_chunks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=False),
        sa.Column("institution_id", sa.Uuid(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column(
            "heading_path",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("start", sa.Integer(), nullable=False),
        sa.Column("end", sa.Integer(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.Column("embedder", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(
            ["institution_id"],
            ["institutions.id"],
            name=op.f("fk_knowledge_chunks_institution_id_institutions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["knowledge_sources.id"],
            name=op.f("fk_knowledge_chunks_source_id_knowledge_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_knowledge_chunks")),
        sa.UniqueConstraint(
            "source_id", "ordinal", name=op.f("uq_knowledge_chunks_source_id_ordinal")
        ),
    )
    with op.batch_alter_table("knowledge_chunks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_knowledge_chunks_institution_id"), ["institution_id"], unique=False
        )

    op.create_table(
        "survey_answers",
        sa.Column("response_id", sa.Uuid(), nullable=False),
        sa.Column("question_id", sa.Uuid(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column(
            "choices",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("number", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["survey_questions.id"],
            name=op.f("fk_survey_answers_question_id_survey_questions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["survey_responses.id"],
            name=op.f("fk_survey_answers_response_id_survey_responses"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("response_id", "question_id", name=op.f("pk_survey_answers")),
    )
    with op.batch_alter_table("survey_answers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_survey_answers_question_id"), ["question_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("survey_answers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_survey_answers_question_id"))

    op.drop_table("survey_answers")
    with op.batch_alter_table("knowledge_chunks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_knowledge_chunks_institution_id"))

    op.drop_table("knowledge_chunks")
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.drop_index("ix_survey_responses_survey_started")

    op.drop_table("survey_responses")
    op.drop_table("survey_questions")
    with op.batch_alter_table("knowledge_sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_knowledge_sources_institution_id"))
        batch_op.drop_index(batch_op.f("ix_knowledge_sources_achievement_id"))

    op.drop_table("knowledge_sources")
    with op.batch_alter_table("asked_answers", schema=None) as batch_op:
        batch_op.drop_index("ix_asked_answers_pinned")
        batch_op.drop_index(batch_op.f("ix_asked_answers_institution_id"))

    op.drop_table("asked_answers")
    with op.batch_alter_table("surveys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_surveys_institution_id"))

    op.drop_table("surveys")
