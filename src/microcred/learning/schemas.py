"""Input and output shapes of the learning API: postings, demand, targets, gaps, plans."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from microcred.kit.schemas import InputModel

Objective = Literal["hours", "cost", "count"]


class PostingIn(InputModel):
    title: str = Field(default="", max_length=300)
    description: str = Field(min_length=1, description="the posting's text (at most 100,000 chars)")
    posted_on: dt.date | None = None
    occupation_uri: str | None = Field(default=None, max_length=200)
    location: str | None = Field(default=None, max_length=200)


class PostingSkillOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    skill_uri: str
    label: str
    score: float
    evidence: str
    span_start: int | None
    span_end: int | None
    origin: str
    rejected: bool


class PostingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    title: str
    posted_on: dt.date
    occupation_uri: str | None
    location: str | None
    language: str
    source: str
    extractor: str
    created_at: dt.datetime
    skills: list[PostingSkillOut]


class PostingCreated(BaseModel):
    posting: PostingOut
    created: bool
    language_note: str | None
    notes: list[str]


class CsvIngestOut(BaseModel):
    created: int
    unchanged: int
    postings: list[uuid.UUID]


class SkillReviewIn(InputModel):
    skill_uri: str = Field(min_length=1, max_length=200)
    rejected: bool
    reason: str | None = Field(default=None, max_length=2000)


class LinkIn(InputModel):
    text: str = Field(min_length=1, description="a sentence, a description or a whole posting")
    limit: int = Field(default=10, ge=1, le=50)


class CatalogueItemIn(InputModel):
    key: str = Field(min_length=1, max_length=200, description="the course's id in your catalogue")
    text: str = Field(min_length=1, max_length=10_000, description="title, skills or description")


class CatalogueIn(InputModel):
    courses: list[CatalogueItemIn] = Field(min_length=1, max_length=500)
    limit: int = Field(default=5, ge=1, le=20)


class SkillTrendOut(BaseModel):
    uri: str
    label: str
    postings: int
    share: float
    series: list[float]
    slope: float
    direction: str


class TrendsOut(BaseModel):
    periods: list[str]
    postings_per_period: list[int]
    total_postings: int
    rising: list[SkillTrendOut]
    falling: list[SkillTrendOut]
    top: list[SkillTrendOut]
    occupation_uri: str | None
    note: str | None


class CoverageRowOut(BaseModel):
    uri: str
    label: str
    postings: int
    share: float
    taught_by: list[str]


class CoverageOut(BaseModel):
    total_postings: int
    demanded: int
    covered: int
    demand_covered: float
    taught: list[CoverageRowOut]
    untaught: list[CoverageRowOut]
    summary: str


class TargetIn(InputModel):
    occupation_uri: str | None = Field(default=None, max_length=200)
    posting_text: str | None = Field(default=None, max_length=100_000)
    title: str | None = Field(default=None, max_length=300)
    objective: Objective = "hours"
    budget: Decimal | None = Field(default=None, ge=0, max_digits=10, decimal_places=2)
    max_hours: Decimal | None = Field(default=None, gt=0, max_digits=7, decimal_places=2)

    @model_validator(mode="after")
    def _one_target(self) -> TargetIn:
        if (self.occupation_uri is None) == (self.posting_text is None):
            raise ValueError("give either occupation_uri or posting_text")
        return self


class TargetOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    kind: str
    title: str
    occupation_uri: str | None
    demanded: list[dict[str, Any]]
    objective: str
    budget: Decimal | None
    max_hours: Decimal | None
    updated_at: dt.datetime


class GapItemOut(BaseModel):
    uri: str
    label: str
    relation: str
    weight: float
    demand_share: float | None
    mastery: float | None
    mastered: bool
    taught_by: list[str]
    reasons: list[str]


class GapOut(BaseModel):
    title: str
    kind: str
    skills: list[GapItemOut]
    essential_total: int
    essential_taught: int
    untaught_essential: list[str]
    summary: str


class StepOut(BaseModel):
    order: int
    achievement_id: uuid.UUID
    name: str
    hours: float
    cost: float
    covers: list[str]
    unlocks: list[uuid.UUID]
    reason: str
    enrolled: bool


class PlanOut(BaseModel):
    target: str
    objective: str
    steps: list[StepOut]
    total_hours: float
    total_cost: float
    count: int
    objective_value: float
    lower_bound: float
    optimal: bool
    method: str
    optimality_gap: float
    solve_ms: float
    essential_coverage: float
    uncovered: list[str]
    summary: str
    coverage: str
    notes: list[str]


class EnrolIn(InputModel):
    achievement_id: uuid.UUID
    source: Literal["plan", "nudge", "direct"] = "direct"


class EnrolmentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    achievement_id: uuid.UUID
    source: str
    status: str
    created_at: dt.datetime


class RecommendationOut(BaseModel):
    achievement_id: uuid.UUID
    name: str
    source: str
    reasons: list[str]


class ChoiceOut(BaseModel):
    achievement_id: uuid.UUID
    name: str
    pathway: list[str]
    hours: float
    cost: float
    scores: dict[str, float]
    total: float
    reasons: list[str]


class ChooserOut(BaseModel):
    weights: dict[str, float]
    choices: list[ChoiceOut]


class MasteryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    skill_uri: str
    probability: float
    low: float
    high: float
    evidence_count: int
    source: str
    reasons: list[str]
    model_version: str
    overridden_by: str | None
    updated_at: dt.datetime


class PriorLearningIn(InputModel):
    skill_uri: str = Field(min_length=1, max_length=200)
    level: float = Field(ge=0, le=1, description="the assessor's P(mastered)")
    confidence: Literal["low", "medium", "high"] = "medium"
    evidence: str = Field(min_length=1, max_length=4000)


class MasteryOverrideIn(InputModel):
    skill_uri: str = Field(min_length=1, max_length=200)
    probability: float = Field(ge=0, le=1)
    reason: str = Field(min_length=1, max_length=2000)
