"""Input and output shapes of the catalog API."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from microcred.kit.schemas import InputModel

ResultType = Literal[
    "GradePointAverage",
    "LetterGrade",
    "Percent",
    "PerformanceLevel",
    "PredictedScore",
    "RawScore",
    "Result",
    "RubricCriterion",
    "RubricCriterionLevel",
    "RubricScore",
    "ScaledScore",
    "Status",
]


class AlignmentIn(InputModel):
    target_url: AnyHttpUrl = Field(description="the skill's URI (an ESCO concept URI for ESCO)")
    target_name: str | None = Field(
        default=None, max_length=300, description="defaults to the ESCO preferred label"
    )
    target_description: str | None = Field(default=None, max_length=2000)
    target_framework: str = Field(default="ESCO", max_length=100)


class AlignmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    target_url: str
    target_name: str
    target_description: str | None
    target_framework: str
    target_code: str | None


class ResultDescriptionIn(InputModel):
    key: str = Field(pattern=r"^[a-z][a-z0-9-]{0,59}$")
    name: str = Field(min_length=1, max_length=200)
    result_type: ResultType
    value_min: str | None = Field(default=None, max_length=40)
    value_max: str | None = Field(default=None, max_length=40)
    required_value: str | None = Field(default=None, max_length=40)


class ResultDescriptionOut(ResultDescriptionIn):
    model_config = ConfigDict(from_attributes=True)


class AchievementIn(InputModel):
    slug: str = Field(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$")
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(min_length=1, max_length=10_000)
    criteria_narrative: str = Field(min_length=1, max_length=10_000)
    criteria_url: AnyHttpUrl | None = None
    image_url: AnyHttpUrl | None = None
    hours: Decimal | None = Field(default=None, ge=0, le=10_000, decimal_places=2)
    status_purpose: Literal["revocation", "suspension"] = "revocation"
    validity_months: int | None = Field(default=None, ge=1, le=600)
    alignments: list[AlignmentIn] = Field(default_factory=list, max_length=100)
    result_descriptions: list[ResultDescriptionIn] = Field(default_factory=list, max_length=50)


class AchievementUpdate(InputModel):
    """Any subset of fields; each change bumps the achievement's version."""

    name: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, min_length=1, max_length=10_000)
    criteria_narrative: str | None = Field(default=None, min_length=1, max_length=10_000)
    criteria_url: AnyHttpUrl | None = None
    image_url: AnyHttpUrl | None = None
    hours: Decimal | None = Field(default=None, ge=0, le=10_000, decimal_places=2)
    validity_months: int | None = Field(default=None, ge=1, le=600)
    alignments: list[AlignmentIn] | None = Field(default=None, max_length=100)
    result_descriptions: list[ResultDescriptionIn] | None = Field(default=None, max_length=50)


class AchievementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    slug: str
    version: int
    name: str
    description: str
    criteria_narrative: str
    criteria_url: str | None
    achievement_type: str
    image_url: str | None
    hours: Decimal | None
    status_purpose: str
    validity_months: int | None
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime
    alignments: list[AlignmentOut]
    result_descriptions: list[ResultDescriptionOut]


class EscoSkillOut(BaseModel):
    uri: str
    label: str
    skill_type: str
    description: str
