"""Input and output shapes of the ask API: questions, answers, knowledge sources, the log."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from microcred.kit.schemas import InputModel

PersonaName = Literal["learner", "educator", "employer", "unspecified"]


class AskIn(InputModel):
    question: str = Field(min_length=1, max_length=2000, description="the question, in words")
    persona: PersonaName = Field(
        default="unspecified", description="who is asking: changes emphasis, never the facts"
    )
    achievement_id: uuid.UUID | None = Field(
        default=None, description="scope the answer to this achievement (and general articles)"
    )
    institution: str | None = Field(
        default=None,
        max_length=63,
        description="the institution's slug; optional when the platform hosts one institution",
    )


class CitationOut(BaseModel):
    number: int
    source_key: str
    title: str
    kind: str
    url: str | None
    heading_path: list[str]
    quote: str
    start: int
    end: int
    sources: list[str]


class RetrievedOut(BaseModel):
    source_key: str
    title: str
    heading_path: list[str]
    score: float
    reasons: list[str]


class AnswerOut(BaseModel):
    id: uuid.UUID
    question: str
    persona: str
    text: str
    citations: list[CitationOut]
    abstained: bool
    reason: str
    model: str
    kb_version: str
    cached: bool
    pinned: bool
    corrected: bool
    latency_ms: float
    achievement_id: uuid.UUID | None
    scope_title: str | None
    contact: str | None
    retrieved: list[RetrievedOut]


class SourceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    key: str
    kind: str
    title: str
    media_type: str
    filename: str | None
    url: str | None
    achievement_id: uuid.UUID | None
    state: str
    error: str | None
    active: bool
    chunk_count: int
    content_hash: str
    indexed_hash: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    indexed_at: dt.datetime | None


class SourceChange(InputModel):
    active: bool
    reason: str = Field(default="", max_length=2000)


class LoggedAnswerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    question: str
    persona: str
    achievement_id: uuid.UUID | None
    kb_version: str
    text: str
    citations: list[dict[str, Any]]
    retrieved: list[dict[str, Any]]
    abstained: bool
    reason: str
    model: str
    latency_ms: float
    asked_count: int
    created_at: dt.datetime
    last_asked_at: dt.datetime
    pinned: bool
    corrected: bool
    reviewed_by: str | None
    reviewed_at: dt.datetime | None
    review_note: str | None


class ReviewIn(InputModel):
    text: str | None = Field(default=None, max_length=5000, description="the corrected answer")
    pinned: bool | None = Field(default=None, description="serve this answer for its question")
    note: str | None = Field(default=None, max_length=2000)
