"""JSON routes of stakeholder surveys: staff build and run them; anyone with the link answers.

Thin: parse, authorise, call `ask.surveys`, shape the answer. The public routes need no
account and are rate limited per client like the other public endpoints.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Response, status

from microcred.ask import surveys
from microcred.ask.models import Survey, SurveyQuestion, SurveyResponse
from microcred.ask.survey_schemas import (
    CitationOut,
    CompanionIn,
    CompanionOut,
    PublicQuestionOut,
    PublicSurveyOut,
    QuestionIn,
    QuestionOut,
    QuestionPatch,
    StartedOut,
    StartIn,
    SubmitIn,
    SubmittedOut,
    SurveyIn,
    SurveyOut,
    SurveyPatch,
    SurveySummaryOut,
)
from microcred.identity.deps import Reader, scoped
from microcred.kit.principal import Principal
from microcred.kit.settings import Settings
from microcred.kit.web.deps import DbSession, SettingsDep

router = APIRouter(tags=["surveys"])

# Building surveys is catalogue work (the survey is about the institution's offer).
SurveyEditor = Annotated[Principal, Depends(scoped("catalog", *surveys.EDITOR_ROLES))]

ANONYMITY = (
    "Your answers are anonymous: no account, IP address or browser details are stored. "
    "Only if you opt in is your e-mail address kept, to contact you about your answers."
)


# --- shaping ---------------------------------------------------------------------------------


def public_url(settings: Settings, survey: Survey) -> str:
    return f"{settings.base_url.rstrip('/')}/s/{survey.slug}"


def survey_out(settings: Settings, survey: Survey) -> SurveyOut:
    out = SurveyOut.model_validate(survey)
    out.public_url = public_url(settings, survey)
    return out


def public_questions(
    survey: Survey, response: SurveyResponse | None = None
) -> list[PublicQuestionOut]:
    """The questions as a respondent sees them: with the approved companion answers this
    respondent is shown (none before they started, none in the hidden arm)."""
    shown = surveys.companions_for(survey, response) if response is not None else {}
    out = []
    for q in survey.questions:
        companion = shown.get(q.id)
        out.append(
            PublicQuestionOut(
                id=q.id,
                position=q.position,
                kind=q.kind,
                prompt=q.prompt,
                help_text=q.help_text,
                options=list(q.options),
                required=q.required,
                scale_points=surveys.SCALE_POINTS if q.kind == "scale" else None,
                companion=_companion(companion) if companion is not None else None,
            )
        )
    return out


def _companion(q: SurveyQuestion) -> CompanionOut:
    return CompanionOut(
        text=q.companion_text or "",
        citations=[
            CitationOut(
                number=int(c.get("number", i)), title=str(c.get("title", "")), url=c.get("url")
            )
            for i, c in enumerate(q.companion_citations, start=1)
        ],
    )


# --- staff -----------------------------------------------------------------------------------


@router.get("/surveys", response_model=list[SurveySummaryOut])
def list_surveys(session: DbSession, principal: Reader) -> object:
    rows = surveys.list_surveys(session, actor=principal)
    counts = surveys.response_counts(session, actor=principal, survey_ids=[s.id for s in rows])
    return [
        SurveySummaryOut(
            id=s.id,
            slug=s.slug,
            title=s.title,
            status=s.status,
            questions=len(s.questions),
            started=counts.get(s.id, (0, 0))[0],
            submitted=counts.get(s.id, (0, 0))[1],
            created_at=s.created_at,
        )
        for s in rows
    ]


@router.post("/surveys", response_model=SurveyOut, status_code=status.HTTP_201_CREATED)
def create_survey(
    session: DbSession, settings: SettingsDep, principal: SurveyEditor, body: SurveyIn
) -> object:
    survey = surveys.create_survey(session, actor=principal, **body.model_dump())
    return survey_out(settings, survey)


@router.get("/surveys/{survey_id}", response_model=SurveyOut)
def get_survey(
    session: DbSession, settings: SettingsDep, principal: Reader, survey_id: uuid.UUID
) -> object:
    return survey_out(settings, surveys.get_survey(session, actor=principal, survey_id=survey_id))


@router.patch("/surveys/{survey_id}", response_model=SurveyOut)
def update_survey(
    session: DbSession,
    settings: SettingsDep,
    principal: SurveyEditor,
    survey_id: uuid.UUID,
    body: SurveyPatch,
) -> object:
    survey = surveys.update_survey(
        session, actor=principal, survey_id=survey_id, **body.model_dump(exclude_none=True)
    )
    return survey_out(settings, survey)


@router.post(
    "/surveys/{survey_id}/questions",
    response_model=QuestionOut,
    status_code=status.HTTP_201_CREATED,
)
def add_question(
    session: DbSession, principal: SurveyEditor, survey_id: uuid.UUID, body: QuestionIn
) -> object:
    return surveys.add_question(session, actor=principal, survey_id=survey_id, **body.model_dump())


@router.patch("/surveys/{survey_id}/questions/{question_id}", response_model=QuestionOut)
def update_question(
    session: DbSession,
    principal: SurveyEditor,
    survey_id: uuid.UUID,
    question_id: uuid.UUID,
    body: QuestionPatch,
) -> object:
    changes = body.model_dump(exclude_none=True)
    position = changes.pop("position", None)
    question = surveys.update_question(
        session, actor=principal, survey_id=survey_id, question_id=question_id, **changes
    )
    if position is not None:
        surveys.move_question(
            session,
            actor=principal,
            survey_id=survey_id,
            question_id=question_id,
            position=position,
        )
    return question


@router.delete(
    "/surveys/{survey_id}/questions/{question_id}", status_code=status.HTTP_204_NO_CONTENT
)
def remove_question(
    session: DbSession, principal: SurveyEditor, survey_id: uuid.UUID, question_id: uuid.UUID
) -> Response:
    surveys.remove_question(session, actor=principal, survey_id=survey_id, question_id=question_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/surveys/{survey_id}/questions/{question_id}/companion", response_model=QuestionOut)
def generate_companion(
    session: DbSession,
    settings: SettingsDep,
    principal: SurveyEditor,
    survey_id: uuid.UUID,
    question_id: uuid.UUID,
) -> object:
    """Compose the companion answer from the knowledge base (a draft until approved)."""
    return surveys.generate_companion(
        session, actor=principal, survey_id=survey_id, question_id=question_id, settings=settings
    )


@router.put("/surveys/{survey_id}/questions/{question_id}/companion", response_model=QuestionOut)
def edit_companion(
    session: DbSession,
    principal: SurveyEditor,
    survey_id: uuid.UUID,
    question_id: uuid.UUID,
    body: CompanionIn,
) -> object:
    return surveys.edit_companion(
        session, actor=principal, survey_id=survey_id, question_id=question_id, text=body.text
    )


@router.post(
    "/surveys/{survey_id}/questions/{question_id}/companion/approve", response_model=QuestionOut
)
def approve_companion(
    session: DbSession, principal: SurveyEditor, survey_id: uuid.UUID, question_id: uuid.UUID
) -> object:
    return surveys.approve_companion(
        session, actor=principal, survey_id=survey_id, question_id=question_id
    )


@router.delete("/surveys/{survey_id}/questions/{question_id}/companion", response_model=QuestionOut)
def withdraw_companion(
    session: DbSession, principal: SurveyEditor, survey_id: uuid.UUID, question_id: uuid.UUID
) -> object:
    return surveys.withdraw_companion(
        session, actor=principal, survey_id=survey_id, question_id=question_id
    )


@router.post("/surveys/{survey_id}/publish", response_model=SurveyOut)
def publish_survey(
    session: DbSession, settings: SettingsDep, principal: SurveyEditor, survey_id: uuid.UUID
) -> object:
    return survey_out(
        settings, surveys.publish_survey(session, actor=principal, survey_id=survey_id)
    )


@router.post("/surveys/{survey_id}/close", response_model=SurveyOut)
def close_survey(
    session: DbSession, settings: SettingsDep, principal: SurveyEditor, survey_id: uuid.UUID
) -> object:
    return survey_out(settings, surveys.close_survey(session, actor=principal, survey_id=survey_id))


# --- public ----------------------------------------------------------------------------------


@router.get("/public/surveys/{slug}", response_model=PublicSurveyOut)
def public_survey(session: DbSession, slug: str) -> object:
    survey = surveys.get_public_survey(session, slug=slug)
    return PublicSurveyOut(
        slug=survey.slug,
        title=survey.title,
        intro=survey.intro,
        personas=list(survey.personas),
        retention_days=survey.retention_days,
        anonymity=ANONYMITY,
        questions=public_questions(survey),
    )


@router.post(
    "/public/surveys/{slug}/responses",
    response_model=StartedOut,
    status_code=status.HTTP_201_CREATED,
)
def start_response(session: DbSession, slug: str, body: StartIn, response: Response) -> object:
    """Start an anonymous response: the token returned is needed to submit (shown once)."""
    started, token = surveys.start_response(
        session,
        slug=slug,
        persona=body.persona,
        contact_opt_in=body.contact_opt_in,
        contact=body.contact,
    )
    response.headers["Cache-Control"] = "no-store"
    survey = surveys.get_public_survey(session, slug=slug)
    return StartedOut(
        token=token,
        persona=started.persona,
        arm=started.arm,
        companion_display=started.companion_display,
        questions=public_questions(survey, started),
    )


@router.post("/public/surveys/{slug}/responses/submit", response_model=SubmittedOut)
def submit_response(session: DbSession, slug: str, body: SubmitIn) -> object:
    """All answers at once, all or nothing; a second submit is refused (409)."""
    done = surveys.submit_response(session, slug=slug, token=body.token, answers=body.answers)
    assert done.submitted_at is not None  # set by the submit
    return SubmittedOut(
        status=done.status, submitted_at=done.submitted_at, answers=len(done.answers)
    )
