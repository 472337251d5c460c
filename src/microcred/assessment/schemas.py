"""Input and output shapes of the assessment API."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from microcred.kit.schemas import InputModel


class PolicyIn(InputModel):
    max_attempts: int = Field(default=3, ge=1, le=20)
    cooldown_minutes: int = Field(default=24 * 60, ge=0, le=60 * 24 * 365)
    time_limit_minutes: int | None = Field(default=None, ge=1, le=24 * 60)
    item_time_limit_seconds: int | None = Field(default=None, ge=5, le=3600)
    min_items: int = Field(default=8, ge=1, le=200)
    max_items: int = Field(default=30, ge=1, le=200)
    target_se: float = Field(default=0.30, gt=0.05, le=1.5)
    cut_score: float = Field(default=0.0, ge=-4, le=4, description="pass mark on the theta scale")
    confidence: float = Field(default=0.95, gt=0.5, lt=1)


class PolicyOut(PolicyIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")
    achievement_id: uuid.UUID


class ChoiceIn(InputModel):
    id: str = Field(pattern=r"^[a-z0-9]{1,8}$")
    text: str = Field(min_length=1, max_length=2000)


class VariableIn(InputModel):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,30}$")
    low: Decimal
    high: Decimal
    step: Decimal = Field(gt=0)


class ItemIn(InputModel):
    achievement_id: uuid.UUID
    skill_url: AnyHttpUrl = Field(description="the ESCO skill this item measures")
    kind: Literal["single_choice", "multiple_choice", "numeric"]
    stem: str = Field(min_length=1, max_length=5000)
    choices: list[ChoiceIn] = Field(default_factory=list, max_length=12)
    key: list[str] = Field(default_factory=list, max_length=12)
    formula: str | None = Field(default=None, max_length=500)
    variables: list[VariableIn] = Field(default_factory=list, max_length=20)
    tolerance: Decimal | None = None
    tolerance_kind: Literal["absolute", "relative"] = "absolute"
    unit: str | None = Field(default=None, max_length=40)
    author_difficulty: int = Field(
        default=3, ge=1, le=5, description="1 very easy … 5 very hard (cold start)"
    )


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    family_id: uuid.UUID
    version: int
    achievement_id: uuid.UUID
    skill_url: str
    kind: str
    definition: dict[str, Any]
    author_difficulty: int
    a: float
    b: float
    c: float
    calibrated: bool
    state: str
    created_at: dt.datetime


class FlagOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    attempt_id: uuid.UUID
    kind: str
    reason: str
    evidence: dict[str, Any]
    state: str
    created_at: dt.datetime
    reviewed_by: str | None
    reviewed_at: dt.datetime | None
    review_note: str | None


class FlagReviewIn(InputModel):
    decision: Literal["cleared", "upheld"]
    note: str = Field(min_length=3, max_length=2000)
