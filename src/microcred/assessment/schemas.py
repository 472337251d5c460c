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


class TextCriterionIn(InputModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    description: str = Field(min_length=1, max_length=500)
    points: int = Field(ge=1, le=10)
    concepts: list[str] = Field(
        min_length=1, max_length=20, description="phrasings that earn the criterion"
    )
    misconceptions: list[str] = Field(
        default_factory=list, max_length=20, description="phrasings that cancel it"
    )


class TextRubricIn(InputModel):
    criteria: list[TextCriterionIn] = Field(min_length=1, max_length=20)
    credit: int = Field(ge=1, le=200, description="points needed for the answer to count")


class ItemIn(InputModel):
    achievement_id: uuid.UUID
    skill_url: AnyHttpUrl = Field(description="the ESCO skill this item measures")
    kind: Literal["single_choice", "multiple_choice", "numeric", "short_text"]
    stem: str = Field(min_length=1, max_length=5000)
    choices: list[ChoiceIn] = Field(default_factory=list, max_length=12)
    key: list[str] = Field(default_factory=list, max_length=12)
    formula: str | None = Field(default=None, max_length=500)
    variables: list[VariableIn] = Field(default_factory=list, max_length=20)
    tolerance: Decimal | None = None
    tolerance_kind: Literal["absolute", "relative"] = "absolute"
    unit: str | None = Field(default=None, max_length=40)
    rubric: TextRubricIn | None = None
    model_answer: str | None = Field(default=None, max_length=5000)
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
    attempt_id: uuid.UUID | None
    submission_id: uuid.UUID | None
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


class RegradeIn(InputModel):
    correct: bool
    note: str = Field(min_length=3, max_length=2000)


class LevelIn(InputModel):
    label: str = Field(min_length=1, max_length=80)
    descriptor: str = Field(default="", max_length=1000)


class ProjectCriterionIn(InputModel):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,39}$")
    name: str = Field(min_length=1, max_length=200)
    levels: list[LevelIn] = Field(
        min_length=2, max_length=6, description="lowest first; level k earns k points"
    )


class ProjectBriefIn(InputModel):
    title: str = Field(min_length=1, max_length=200)
    instructions: str = Field(min_length=1, max_length=20_000)
    criteria: list[ProjectCriterionIn] = Field(min_length=1, max_length=12)
    pass_points: int = Field(ge=1, le=60)


class ProjectBriefOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    achievement_id: uuid.UUID
    title: str
    instructions: str
    rubric: dict[str, Any]
    pass_points: int
    calibrated: bool
    updated_at: dt.datetime


class SubmissionIn(InputModel):
    title: str = Field(min_length=1, max_length=200)
    report: str = Field(min_length=20, max_length=20_000)
    links: list[AnyHttpUrl] = Field(default_factory=list, max_length=10)


class SubmissionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    achievement_id: uuid.UUID
    learner_id: uuid.UUID
    number: int
    state: str
    title: str
    report: str
    links: list[str]
    submitted_at: dt.datetime
    levels: dict[str, int] | None
    points: int | None
    theta: float | None
    standard_error: float | None
    feedback: str | None
    reviewed_by: str | None
    reviewed_at: dt.datetime | None
    award_id: uuid.UUID | None


class SubmissionReviewIn(InputModel):
    levels: dict[str, int] = Field(max_length=12)
    feedback: str = Field(min_length=3, max_length=5000)


class ItemTransfer(ItemIn):
    """An item as exported and imported: its definition, and its parameters when calibrated."""

    achievement_id: uuid.UUID | None = None  # type: ignore[assignment]
    a: float | None = Field(default=None, gt=0, le=10)
    b: float | None = Field(default=None, ge=-8, le=8)
    c: float | None = Field(default=None, ge=0, lt=1)


class BankTransfer(InputModel):
    format: Literal["microcred-items/1"] = "microcred-items/1"
    achievement_id: uuid.UUID | None = Field(
        default=None, description="the bank it was exported from (informative only)"
    )
    items: list[ItemTransfer] = Field(min_length=1, max_length=2000)
    keep_calibration: bool = Field(
        default=False,
        description="keep exported a, b, c (only when they are on this bank's scale: "
        "e.g. moving a whole bank); otherwise items start from the author's difficulty",
    )
