"""Achievements (micro-credentials), their skill alignments, result descriptions and
prerequisites; the imported skills framework (ESCO skills, occupations and their relations)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Numeric,
    PrimaryKeyConstraint,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from microcred.kit.db import Base, new_id, utcnow


class Achievement(Base):
    __tablename__ = "achievements"
    __table_args__ = (
        UniqueConstraint("institution_id", "slug"),
        CheckConstraint("status IN ('active', 'retired')", name="status"),
        CheckConstraint("status_purpose IN ('revocation', 'suspension')", name="status_purpose"),
        CheckConstraint("hours IS NULL OR hours >= 0", name="hours"),
        # Added by migration 0006 on PostgreSQL only: SQLite cannot add a CHECK in place, and
        # copying `achievements` would break the tables that reference it; the service guards.
        CheckConstraint("cost IS NULL OR cost >= 0", name="cost"),
        CheckConstraint(
            "delivery IS NULL OR delivery IN ('self-paced', 'scheduled', 'blended')",
            name="delivery",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    institution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    slug: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(default=1)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    criteria_narrative: Mapped[str] = mapped_column(Text)
    criteria_url: Mapped[str | None] = mapped_column(String(500))
    achievement_type: Mapped[str] = mapped_column(String(40), default="MicroCredential")
    image_url: Mapped[str | None] = mapped_column(String(500))
    hours: Mapped[Decimal | None] = mapped_column(Numeric(7, 2))
    # Credentials carry exactly one status entry (the OB 3.0 schema allows one), so the
    # achievement decides whether its awards can be suspended and reinstated or only revoked.
    status_purpose: Mapped[str] = mapped_column(String(12), default="revocation")
    # Months a credential stays valid; none means it does not expire.
    validity_months: Mapped[int | None]
    # What a learner weighs when choosing (issue 5's programme chooser): price in the
    # institution's currency, how it is delivered, and who vouches for it.
    cost: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    currency: Mapped[str | None] = mapped_column(String(3))
    delivery: Mapped[str | None] = mapped_column(String(12))
    endorsements: Mapped[list[Any]] = mapped_column(default=list, server_default=text("'[]'"))
    status: Mapped[str] = mapped_column(String(8), default="active")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    alignments: Mapped[list[SkillAlignment]] = relationship(
        cascade="all, delete-orphan", order_by="SkillAlignment.position", lazy="selectin"
    )
    result_descriptions: Mapped[list[ResultDescription]] = relationship(
        cascade="all, delete-orphan", order_by="ResultDescription.position", lazy="selectin"
    )


class SkillAlignment(Base):
    """An ESCO skill the achievement attests, by its concept URI."""

    __tablename__ = "skill_alignments"
    __table_args__ = (UniqueConstraint("achievement_id", "target_url"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    achievement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("achievements.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    target_url: Mapped[str] = mapped_column(String(500))
    target_name: Mapped[str] = mapped_column(String(300))
    target_description: Mapped[str | None] = mapped_column(Text)
    target_framework: Mapped[str] = mapped_column(String(100), default="ESCO")
    target_code: Mapped[str | None] = mapped_column(String(500))


class ResultDescription(Base):
    """How an assessment outcome is reported (OB 3.0 ResultDescription)."""

    __tablename__ = "result_descriptions"
    __table_args__ = (UniqueConstraint("achievement_id", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    achievement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("achievements.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(default=0)
    key: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(200))
    result_type: Mapped[str] = mapped_column(String(40))
    value_min: Mapped[str | None] = mapped_column(String(40))
    value_max: Mapped[str | None] = mapped_column(String(40))
    required_value: Mapped[str | None] = mapped_column(String(40))


class AchievementPrerequisite(Base):
    """An achievement a learner should hold (or be planned to take) before this one.

    The graph must stay acyclic; the service refuses an edge that would close a cycle."""

    __tablename__ = "achievement_prerequisites"
    __table_args__ = (
        PrimaryKeyConstraint("achievement_id", "prerequisite_id"),
        CheckConstraint("achievement_id <> prerequisite_id", name="not_self"),
    )

    achievement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("achievements.id", ondelete="CASCADE")
    )
    prerequisite_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("achievements.id", ondelete="CASCADE"), index=True
    )


class FrameworkSkill(Base):
    """An ESCO skill, knowledge concept or skill group, as imported (`microcred import-esco`)."""

    __tablename__ = "esco_skills"

    uri: Mapped[str] = mapped_column(String(200), primary_key=True)
    label: Mapped[str] = mapped_column(String(400), index=True)
    alt_labels: Mapped[list[Any]] = mapped_column(default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    # "skill/competence", "knowledge", "" for a skill group.
    skill_type: Mapped[str] = mapped_column(String(40), default="")
    reuse_level: Mapped[str] = mapped_column(String(40), default="")
    is_group: Mapped[bool] = mapped_column(default=False)
    framework_version: Mapped[str] = mapped_column(String(20))


class Occupation(Base):
    """An ESCO occupation: a target a learner can aim at."""

    __tablename__ = "esco_occupations"

    uri: Mapped[str] = mapped_column(String(200), primary_key=True)
    label: Mapped[str] = mapped_column(String(400), index=True)
    alt_labels: Mapped[list[Any]] = mapped_column(default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    isco_group: Mapped[str] = mapped_column(String(10), default="")
    framework_version: Mapped[str] = mapped_column(String(20))


class OccupationSkill(Base):
    """ESCO's occupation-skill relation: the skill is essential or optional for the job."""

    __tablename__ = "esco_occupation_skills"
    __table_args__ = (
        PrimaryKeyConstraint("occupation_uri", "skill_uri"),
        CheckConstraint("relation IN ('essential', 'optional')", name="relation"),
    )

    occupation_uri: Mapped[str] = mapped_column(
        ForeignKey("esco_occupations.uri", ondelete="CASCADE")
    )
    skill_uri: Mapped[str] = mapped_column(
        ForeignKey("esco_skills.uri", ondelete="CASCADE"), index=True
    )
    relation: Mapped[str] = mapped_column(String(9))


class SkillHierarchy(Base):
    """ESCO's broader/narrower relation between skills and skill groups."""

    __tablename__ = "esco_skill_hierarchy"
    __table_args__ = (PrimaryKeyConstraint("skill_uri", "broader_uri"),)

    skill_uri: Mapped[str] = mapped_column(ForeignKey("esco_skills.uri", ondelete="CASCADE"))
    broader_uri: Mapped[str] = mapped_column(
        ForeignKey("esco_skills.uri", ondelete="CASCADE"), index=True
    )
