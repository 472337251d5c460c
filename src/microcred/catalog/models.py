"""Achievements (micro-credentials), their skill alignments and result descriptions."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from microcred.kit.db import Base, new_id, utcnow


class Achievement(Base):
    __tablename__ = "achievements"
    __table_args__ = (
        UniqueConstraint("institution_id", "slug"),
        CheckConstraint("status IN ('active', 'retired')", name="status"),
        CheckConstraint("status_purpose IN ('revocation', 'suspension')", name="status_purpose"),
        CheckConstraint("hours IS NULL OR hours >= 0", name="hours"),
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
