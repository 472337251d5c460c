"""Input and output shapes of the credentials API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from microcred.kit.schemas import InputModel


class ResultValue(InputModel):
    key: str = Field(min_length=1, max_length=60)
    value: str = Field(min_length=1, max_length=200)


class EvidenceItem(InputModel):
    url: AnyHttpUrl | None = None
    name: str | None = Field(default=None, max_length=300)
    description: str | None = Field(default=None, max_length=5000)
    narrative: str | None = Field(default=None, max_length=10_000)
    genre: str | None = Field(default=None, max_length=100)


class AwardIn(InputModel):
    achievement_id: uuid.UUID
    learner_id: uuid.UUID
    results: list[ResultValue] = Field(default_factory=list, max_length=50)
    evidence: list[EvidenceItem] = Field(default_factory=list, max_length=50)
    valid_from: dt.datetime | None = Field(
        default=None, description="defaults to now; must carry a time zone"
    )


class AwardOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    achievement_id: uuid.UUID
    achievement_version: int
    learner_id: uuid.UUID
    state: str
    state_reason: str | None
    issued_at: dt.datetime
    valid_from: dt.datetime
    valid_until: dt.datetime | None
    status_index: int
    credential: dict[str, Any]


class StatusChangeIn(InputModel):
    reason: str = Field(min_length=3, max_length=2000)


class BulkRowIn(InputModel):
    learner_email: str = Field(max_length=320)
    learner_name: str | None = Field(default=None, max_length=200)
    achievement: str = Field(min_length=1, max_length=100, description="slug or id")
    results: dict[str, str] = Field(default_factory=dict)
    evidence: list[EvidenceItem] = Field(default_factory=list, max_length=20)


class BulkIn(InputModel):
    mode: Literal["all_or_nothing", "per_row"] = "all_or_nothing"
    create_learners: bool = False
    rows: list[BulkRowIn] = Field(min_length=1)


class BulkRowOut(BaseModel):
    row: int = Field(description="0-based position in the request (CSV: data row, header excluded)")
    status: Literal["issued", "replayed", "error", "not_written"]
    award_id: uuid.UUID | None = None
    credential_id: str | None = None
    error: str | None = None


class BulkOut(BaseModel):
    mode: str
    written: bool
    issued: int
    errors: int
    rows: list[BulkRowOut]


class IssuerKeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    public_multikey: str
    state: str
    created_at: dt.datetime
    retired_at: dt.datetime | None


class AuditEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    occurred_at: dt.datetime
    actor: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None


class CheckOut(BaseModel):
    name: str
    label: str
    ok: bool
    skipped: bool
    reason: str


class VerdictOut(BaseModel):
    verdict: Literal["VALID", "INVALID"]
    valid: bool
    reason: str
    format: str
    credential_id: str | None
    issuer: str | None
    checks: list[CheckOut]
