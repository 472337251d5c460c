"""Input and output shapes of the catalog API."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, StringConstraints

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


Delivery = Literal["self-paced", "scheduled", "blended"]
Endorsement = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Cost = Annotated[
    Decimal,
    Field(ge=0, lt=10_000_000, decimal_places=2, description="price in `currency`; 0 if free"),
]
Currency = Annotated[
    str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. EUR (needed if cost > 0)")
]
Prerequisites = Annotated[
    list[uuid.UUID],
    Field(max_length=50, description="ids of this institution's achievements to hold first"),
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
    cost: Cost | None = None
    currency: Currency | None = None
    delivery: Delivery | None = None
    endorsements: list[Endorsement] = Field(
        default_factory=list, max_length=20, description="organisations that vouch for it"
    )
    prerequisites: Prerequisites = Field(default_factory=list)


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
    cost: Cost | None = None
    currency: Currency | None = None
    delivery: Delivery | None = None
    endorsements: list[Endorsement] | None = Field(default=None, max_length=20)
    prerequisites: Prerequisites | None = None


class PrerequisitesIn(InputModel):
    prerequisites: Prerequisites


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
    cost: Decimal | None
    currency: str | None
    delivery: str | None
    endorsements: list[str]
    prerequisites: list[uuid.UUID] = Field(
        default_factory=list, description="ids of the achievements to hold first"
    )


class EscoSkillOut(BaseModel):
    uri: str
    label: str
    skill_type: str
    description: str


class FrameworkSkillHit(BaseModel):
    """A skill found by label; `matched` is the alternative label that matched, if not the
    preferred one."""

    uri: str
    label: str
    skill_type: str
    description: str
    matched: str | None


class FrameworkSkillOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    uri: str
    label: str
    skill_type: str
    reuse_level: str
    description: str


class OccupationHit(BaseModel):
    id: str = Field(description="the UUID at the end of the ESCO concept URI")
    uri: str
    label: str
    isco_group: str
    description: str
    matched: str | None


class OccupationOut(BaseModel):
    id: str = Field(description="the UUID at the end of the ESCO concept URI")
    uri: str
    label: str
    alt_labels: list[str]
    description: str
    isco_group: str
    framework_version: str
    essential_skills: list[FrameworkSkillOut]
    optional_skills: list[FrameworkSkillOut]
