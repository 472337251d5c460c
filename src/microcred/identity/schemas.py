"""Input and output shapes of the identity API."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from microcred.kit.schemas import InputModel


class InstitutionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    slug: str
    name: str
    url: str | None
    email: str | None
    description: str | None
    did_method: str


class InstitutionUpdate(InputModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    url: str | None = Field(default=None, max_length=500)
    email: str | None = Field(default=None, max_length=320)
    description: str | None = Field(default=None, max_length=2000)


class LearnerIn(InputModel):
    email: str = Field(max_length=320)
    display_name: str = Field(min_length=1, max_length=200)
    did: str | None = Field(default=None, max_length=500)
    password: str | None = Field(default=None, min_length=10, max_length=200)


class LearnerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    email: str
    display_name: str
    did: str | None
    status: str
    identity_assurance: str
    created_at: dt.datetime


class IdentityAssuranceIn(InputModel):
    """How the institution established who the learner is (shown on their records)."""

    level: Literal["self_asserted", "email", "id_document", "in_person"]


class ReasonIn(InputModel):
    reason: str = Field(min_length=3, max_length=2000)


class StaffIn(InputModel):
    email: str = Field(max_length=320)
    display_name: str = Field(min_length=1, max_length=200)
    roles: list[str] = Field(min_length=1)
    password: str | None = Field(default=None, min_length=10, max_length=200)


class StaffOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    email: str
    display_name: str
    roles: list[str]
    active: bool


class ApiTokenIn(InputModel):
    staff_member_id: uuid.UUID
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str] = Field(min_length=1)
    expires_at: dt.datetime | None = None


class ApiTokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    prefix: str
    scopes: list[str]
    staff_member_id: uuid.UUID
    created_at: dt.datetime
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None


class ApiTokenCreated(ApiTokenOut):
    token: str = Field(description="the secret; shown once, store it now")
