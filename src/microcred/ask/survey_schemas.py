"""Input and output shapes of the survey API (staff building, public answering).

Lengths are checked here loosely (to refuse absurd bodies early) and exactly in
`ask.surveys`, which states the rules once for the API and the pages alike.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

from microcred.kit.schemas import InputModel

Kind = Literal["free_text", "single_choice", "multiple_choice", "scale"]
Display = Literal["before", "after", "none"]
SurveyPersona = Literal["learner", "educator", "employer", "other"]
# One answer: text, an option, several options, or a scale's number; null for none.
RawAnswer = StrictStr | StrictInt | list[StrictStr] | None


class SurveyIn(InputModel):
    title: str = Field(min_length=1, max_length=300)
    intro: str = Field(default="", max_length=5000)
    personas: list[SurveyPersona] = Field(
        default=["learner", "educator", "employer"], min_length=1, max_length=4
    )
    companion_display: Display = "after"
    ab_test: StrictBool = False
    retention_days: StrictInt = Field(default=365, ge=1, le=3650)
    external_llm_allowed: StrictBool = Field(
        default=False,
        description="respondent text may go to the configured external LLM only when on",
    )


class SurveyPatch(InputModel):
    title: str | None = Field(default=None, min_length=1, max_length=300)
    intro: str | None = Field(default=None, max_length=5000)
    personas: list[SurveyPersona] | None = Field(default=None, min_length=1, max_length=4)
    companion_display: Display | None = None
    ab_test: StrictBool | None = None
    retention_days: StrictInt | None = Field(default=None, ge=1, le=3650)
    external_llm_allowed: StrictBool | None = None


class QuestionIn(InputModel):
    kind: Kind
    prompt: str = Field(min_length=1, max_length=1000)
    help_text: str = Field(default="", max_length=2000)
    options: list[StrictStr] = Field(default=[], max_length=12)
    required: StrictBool = True
    companion_question: str | None = Field(default=None, max_length=1000)


class QuestionPatch(InputModel):
    kind: Kind | None = None
    prompt: str | None = Field(default=None, min_length=1, max_length=1000)
    help_text: str | None = Field(default=None, max_length=2000)
    options: list[StrictStr] | None = Field(default=None, max_length=12)
    required: StrictBool | None = None
    companion_question: str | None = Field(default=None, max_length=1000)
    position: StrictInt | None = Field(default=None, ge=0, le=1000, description="0-based")


class CompanionIn(InputModel):
    text: str = Field(min_length=1, max_length=5000)


class CitationOut(BaseModel):
    number: int
    title: str
    url: str | None = None


class QuestionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    position: int
    kind: str
    prompt: str
    help_text: str
    options: list[str]
    required: bool
    companion_question: str | None
    companion_text: str | None
    companion_citations: list[dict[str, Any]]
    companion_model: str | None
    companion_status: str
    companion_approved_by: str | None
    companion_approved_at: dt.datetime | None


class SurveyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    slug: str
    title: str
    intro: str
    status: str
    personas: list[str]
    companion_display: str
    ab_test: bool
    retention_days: int
    external_llm_allowed: bool
    created_by: str
    created_at: dt.datetime
    published_at: dt.datetime | None
    closed_at: dt.datetime | None
    questions: list[QuestionOut]
    public_url: str = ""


class SurveySummaryOut(BaseModel):
    id: uuid.UUID
    slug: str
    title: str
    status: str
    questions: int
    started: int
    submitted: int
    created_at: dt.datetime


# --- public ----------------------------------------------------------------------------------


class CompanionOut(BaseModel):
    """The approved "Here's what AI says" answer, with short source titles."""

    heading: str = "Here's what AI says"
    text: str
    citations: list[CitationOut]


class PublicQuestionOut(BaseModel):
    id: uuid.UUID
    position: int
    kind: str
    prompt: str
    help_text: str
    options: list[str]
    required: bool
    scale_points: int | None = None
    companion: CompanionOut | None = None


class PublicSurveyOut(BaseModel):
    slug: str
    title: str
    intro: str
    personas: list[str]
    retention_days: int
    anonymity: str
    questions: list[PublicQuestionOut]


class StartIn(InputModel):
    persona: str = Field(min_length=1, max_length=40)
    contact_opt_in: StrictBool = False
    contact: str | None = Field(default=None, max_length=320)


class StartedOut(BaseModel):
    token: str = Field(description="keep it: it is needed to submit, and shown only once")
    persona: str
    arm: str
    companion_display: str
    questions: list[PublicQuestionOut]


class SubmitIn(InputModel):
    token: str = Field(min_length=1, max_length=200)
    answers: dict[uuid.UUID, RawAnswer] = Field(max_length=200)


class SubmittedOut(BaseModel):
    status: str
    submitted_at: dt.datetime
    answers: int
