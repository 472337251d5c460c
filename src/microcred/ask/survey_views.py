"""Survey pages (usable without JavaScript).

Staff (`/console/surveys`): list and create surveys; on a survey's page, set it up, add,
edit, reorder and remove questions, generate, correct and approve each "Here's what AI says"
companion answer, publish, close, and copy the public link.

Respondents (`/s/{slug}`, no account): the introduction says the answers are anonymous unless
they opt in and how long they are kept; choosing a persona starts the response and shows the
questions (the response's secret token rides in a hidden field); submitting shows a thank-you
page, and submitting again says it was already submitted. A refused form is shown again with
its messages and everything typed kept.

The rules live in `ask.surveys`; these handlers parse, authorise, call it and render.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from microcred.ask import surveys
from microcred.ask.models import Survey, SurveyResponse
from microcred.ask.survey_api import ANONYMITY, public_url
from microcred.identity.deps import PagePrincipal
from microcred.kit.errors import DomainError, InvalidInput
from microcred.kit.principal import Principal
from microcred.kit.settings import Settings
from microcred.kit.web import csrf
from microcred.kit.web.deps import DbSession, SettingsDep
from microcred.kit.web.pages import PostedFields, one, render, require_staff, undo_on_refusal

router = APIRouter(include_in_schema=False)

KIND_LABELS = {
    "free_text": "Free text",
    "single_choice": "One choice",
    "multiple_choice": "Several choices",
    "scale": f"Scale (1 to {surveys.SCALE_POINTS})",
}
DISPLAY_LABELS = {
    "after": "After answering (in a box the respondent opens)",
    "before": "Before answering",
    "none": "Never",
}
PERSONA_LABELS = {
    "learner": "A learner",
    "educator": "An educator or trainer",
    "employer": "An employer or recruiter",
    "other": "Someone else",
}
NOTICES = {
    "created": "The survey was created. Add its questions.",
    "saved": "Saved.",
    "added": "The question was added.",
    "removed": "The question was removed.",
    "moved": "The question was moved.",
    "generated": "A companion answer was composed; read it, correct it if needed, and approve it.",
    "abstained": "The knowledge base does not support an answer to this question, so none will "
    "be shown.",
    "approved": "The companion answer was approved.",
    "withdrawn": "The companion answer was withdrawn.",
    "published": "The survey is published: share its link.",
    "closed": "The survey is closed.",
}
NO_STORE = {"Cache-Control": "no-store"}
SURVEY_FIELDS = ("title", "intro", "companion_display", "retention_days")
QUESTION_FIELDS = ("kind", "prompt", "help_text", "options", "companion_question")


def _sentence(text: str) -> str:
    text = text.strip()
    return (text[:1].upper() + text[1:]).rstrip(".") + "." if text else text


# --- staff -----------------------------------------------------------------------------------


def _staff_page(
    request: Request, staff: Principal, name: str, context: Mapping[str, object], status: int
) -> Response:
    can_edit = "admin" in staff.roles or bool(set(surveys.EDITOR_ROLES) & staff.roles)
    return render(
        request,
        name,
        {**context, "can_edit": can_edit, "kind_labels": KIND_LABELS},
        principal=staff,
        status_code=status,
    )


def _survey_form(fields: Mapping[str, list[str]]) -> dict[str, Any]:
    form: dict[str, Any] = {name: one(fields, name) for name in SURVEY_FIELDS}
    form["personas"] = list(fields.get("personas", []))
    form["ab_test"] = one(fields, "ab_test") == "on"
    form["external_llm_allowed"] = one(fields, "external_llm_allowed") == "on"
    return form


def _form_of(survey: Survey) -> dict[str, Any]:
    return {
        "title": survey.title,
        "intro": survey.intro,
        "companion_display": survey.companion_display,
        "retention_days": str(survey.retention_days),
        "personas": list(survey.personas),
        "ab_test": survey.ab_test,
        "external_llm_allowed": survey.external_llm_allowed,
    }


def _days(text: str) -> int:
    value = text.strip()
    if not value.isdigit() or len(value) > 5:
        raise InvalidInput("the retention period must be a whole number of days")
    return int(value)


def _list_page(
    request: Request,
    session: Session,
    staff: Principal,
    *,
    form: dict[str, Any] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    rows = surveys.list_surveys(session, actor=staff)
    counts = surveys.response_counts(session, actor=staff, survey_ids=[s.id for s in rows])
    return _staff_page(
        request,
        staff,
        "ask/survey_list.html",
        {
            "rows": [{"survey": s, "counts": counts.get(s.id, (0, 0))} for s in rows],
            "form": form
            or {
                "title": "",
                "intro": "",
                "companion_display": "after",
                "retention_days": "365",
                "personas": ["learner", "educator", "employer"],
                "ab_test": False,
                "external_llm_allowed": False,
            },
            "personas": PERSONA_LABELS,
            "displays": DISPLAY_LABELS,
            "error": error,
        },
        status,
    )


@router.get("/console/surveys")
def survey_list(request: Request, session: DbSession, principal: PagePrincipal) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    return _list_page(request, session, require_staff(principal))


@router.post("/console/surveys")
def create_survey(
    request: Request, session: DbSession, principal: PagePrincipal, fields: PostedFields
) -> Response:
    staff = require_staff(principal)
    csrf.check(request, one(fields, "csrf_token"))
    form = _survey_form(fields)
    try:
        with undo_on_refusal(session):
            survey = surveys.create_survey(
                session,
                actor=staff,
                title=form["title"],
                intro=form["intro"],
                personas=form["personas"],
                companion_display=form["companion_display"],
                ab_test=form["ab_test"],
                retention_days=_days(form["retention_days"]),
                external_llm_allowed=form["external_llm_allowed"],
            )
    except DomainError as exc:
        return _list_page(
            request, session, staff, form=form, error=_sentence(exc.detail), status=exc.status
        )
    return RedirectResponse(f"/console/surveys/{survey.id}?done=created", status_code=303)


def _edit_page(
    request: Request,
    session: Session,
    settings: Settings,
    staff: Principal,
    survey_id: uuid.UUID,
    *,
    form_key: str | None = None,
    form: Mapping[str, Any] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    survey = surveys.get_survey(session, actor=staff, survey_id=survey_id)
    counts = surveys.response_counts(session, actor=staff, survey_ids=[survey.id])
    new_question: Mapping[str, Any] = {
        "kind": "free_text",
        "prompt": "",
        "help_text": "",
        "options": "",
        "companion_question": "",
        "required": True,
    }
    return _staff_page(
        request,
        staff,
        "ask/survey_edit.html",
        {
            "survey": survey,
            "counts": counts.get(survey.id, (0, 0)),
            "link": public_url(settings, survey),
            "settings_form": form if form_key == "settings" and form else _form_of(survey),
            "new_question": form if form_key == "add" and form else new_question,
            "edited": {"key": form_key, "form": form or {}},
            "personas": PERSONA_LABELS,
            "displays": DISPLAY_LABELS,
            "notice": NOTICES.get(request.query_params.get("done", "")),
            "error": error,
            "error_key": form_key,
        },
        status,
    )


@router.get("/console/surveys/{survey_id}")
def survey_edit(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    principal: PagePrincipal,
    survey_id: uuid.UUID,
) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    return _edit_page(request, session, settings, require_staff(principal), survey_id)


def _question_form(fields: Mapping[str, list[str]]) -> dict[str, Any]:
    form: dict[str, Any] = {name: one(fields, name) for name in QUESTION_FIELDS}
    form["required"] = one(fields, "required") == "on"
    return form


def _options(text: str) -> list[str]:
    # One option per line; blank lines between them are only layout.
    return [line.strip() for line in text.splitlines() if line.strip()]


@router.post("/console/surveys/{survey_id}")
def survey_action(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    principal: PagePrincipal,
    survey_id: uuid.UUID,
    fields: PostedFields,
) -> Response:
    """The survey's own forms: settings, a new question, publish, close."""
    staff = require_staff(principal)
    csrf.check(request, one(fields, "csrf_token"))
    action = one(fields, "action")
    form: dict[str, Any] = {}
    try:
        with undo_on_refusal(session):
            if action == "settings":
                form = _survey_form(fields)
                surveys.update_survey(
                    session,
                    actor=staff,
                    survey_id=survey_id,
                    title=form["title"],
                    intro=form["intro"],
                    personas=form["personas"],
                    companion_display=form["companion_display"],
                    ab_test=form["ab_test"],
                    retention_days=_days(form["retention_days"]),
                    external_llm_allowed=form["external_llm_allowed"],
                )
                done = "saved"
            elif action == "add":
                form = _question_form(fields)
                surveys.add_question(
                    session,
                    actor=staff,
                    survey_id=survey_id,
                    kind=form["kind"],
                    prompt=form["prompt"],
                    help_text=form["help_text"],
                    options=_options(form["options"]),
                    required=form["required"],
                    companion_question=form["companion_question"],
                )
                done = "added"
            elif action == "publish":
                surveys.publish_survey(session, actor=staff, survey_id=survey_id)
                done = "published"
            elif action == "close":
                surveys.close_survey(session, actor=staff, survey_id=survey_id)
                done = "closed"
            else:
                raise InvalidInput("unknown action")
    except DomainError as exc:
        return _edit_page(
            request,
            session,
            settings,
            staff,
            survey_id,
            form_key=action if action in ("settings", "add") else "survey",
            form=form,
            error=_sentence(exc.detail),
            status=exc.status,
        )
    anchor = "#questions" if action == "add" else ""
    return RedirectResponse(f"/console/surveys/{survey_id}?done={done}{anchor}", status_code=303)


@router.post("/console/surveys/{survey_id}/questions/{question_id}")
def question_action(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    principal: PagePrincipal,
    survey_id: uuid.UUID,
    question_id: uuid.UUID,
    fields: PostedFields,
) -> Response:
    """A question's forms: save, move, remove, and its companion answer's steps."""
    staff = require_staff(principal)
    csrf.check(request, one(fields, "csrf_token"))
    action = one(fields, "action")
    form: dict[str, Any] = {}
    try:
        with undo_on_refusal(session):
            if action == "save":
                form = _question_form(fields)
                surveys.update_question(
                    session,
                    kind=form["kind"],
                    prompt=form["prompt"],
                    help_text=form["help_text"],
                    options=_options(form["options"]),
                    required=form["required"],
                    companion_question=form["companion_question"],
                    actor=staff,
                    survey_id=survey_id,
                    question_id=question_id,
                )
                done = "saved"
            elif action in ("up", "down"):
                survey = surveys.get_survey(session, actor=staff, survey_id=survey_id)
                current = next((q.position for q in survey.questions if q.id == question_id), 0)
                target = current - 1 if action == "up" else current + 1
                surveys.move_question(
                    session,
                    position=target,
                    actor=staff,
                    survey_id=survey_id,
                    question_id=question_id,
                )
                done = "moved"
            elif action == "remove":
                surveys.remove_question(
                    session, actor=staff, survey_id=survey_id, question_id=question_id
                )
                done = "removed"
            elif action == "generate":
                q = surveys.generate_companion(
                    session,
                    settings=settings,
                    actor=staff,
                    survey_id=survey_id,
                    question_id=question_id,
                )
                done = "generated" if q.companion_status == "draft" else "abstained"
            elif action == "edit_companion":
                form = {"companion_text": one(fields, "companion_text")}
                surveys.edit_companion(
                    session,
                    text=form["companion_text"],
                    actor=staff,
                    survey_id=survey_id,
                    question_id=question_id,
                )
                done = "saved"
            elif action == "approve":
                surveys.approve_companion(
                    session, actor=staff, survey_id=survey_id, question_id=question_id
                )
                done = "approved"
            elif action == "withdraw":
                surveys.withdraw_companion(
                    session, actor=staff, survey_id=survey_id, question_id=question_id
                )
                done = "withdrawn"
            else:
                raise InvalidInput("unknown action")
    except DomainError as exc:
        return _edit_page(
            request,
            session,
            settings,
            staff,
            survey_id,
            form_key=f"q-{question_id}",
            form=form,
            error=_sentence(exc.detail),
            status=exc.status,
        )
    return RedirectResponse(
        f"/console/surveys/{survey_id}?done={done}#q-{question_id}", status_code=303
    )


# --- respondents -----------------------------------------------------------------------------


def _intro_page(
    request: Request,
    survey: Survey,
    *,
    form: Mapping[str, Any] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        "ask/survey_public_intro.html",
        {
            "survey": survey,
            "personas": [(p, PERSONA_LABELS.get(p, p)) for p in survey.personas],
            "anonymity": ANONYMITY,
            "form": form or {"persona": "", "contact_opt_in": False, "contact": ""},
            "error": error,
        },
        status_code=status,
        headers=NO_STORE,
    )


@router.get("/s/{slug}")
def survey_intro(request: Request, session: DbSession, slug: str) -> Response:
    return _intro_page(request, surveys.get_public_survey(session, slug=slug))


def _questions_page(
    request: Request,
    survey: Survey,
    response: SurveyResponse,
    token: str,
    *,
    values: Mapping[str, list[str]] | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> Response:
    shown = surveys.companions_for(survey, response)
    return render(
        request,
        "ask/survey_public_questions.html",
        {
            "survey": survey,
            "response": response,
            "token": token,
            "companions": {str(k): v for k, v in shown.items()},
            "display": response.companion_display,
            "values": values or {},
            "errors": errors or {},
            "scale": list(range(1, surveys.SCALE_POINTS + 1)),
        },
        status_code=status,
        headers=NO_STORE,
    )


@router.post("/s/{slug}")
def survey_start(request: Request, session: DbSession, slug: str, fields: PostedFields) -> Response:
    survey = surveys.get_public_survey(session, slug=slug)
    csrf.check(request, one(fields, "csrf_token"))
    form: dict[str, Any] = {
        "persona": one(fields, "persona"),
        "contact_opt_in": one(fields, "contact_opt_in") == "on",
        "contact": one(fields, "contact")[:320],
    }
    if not form["persona"]:
        return _intro_page(
            request, survey, form=form, error="Choose who you are to start.", status=422
        )
    try:
        with undo_on_refusal(session):
            response, token = surveys.start_response(
                session,
                slug=slug,
                persona=form["persona"],
                contact_opt_in=form["contact_opt_in"],
                contact=form["contact"] or None,
            )
    except DomainError as exc:
        return _intro_page(
            request, survey, form=form, error=_sentence(exc.detail), status=exc.status
        )
    return _questions_page(request, survey, response, token)


def _raw_answers(survey: Survey, fields: Mapping[str, list[str]]) -> dict[uuid.UUID, object]:
    answers: dict[uuid.UUID, object] = {}
    for q in survey.questions:
        values = fields.get(f"q-{q.id}", [])
        answers[q.id] = values if q.kind == "multiple_choice" else (values[-1] if values else None)
    return answers


@router.post("/s/{slug}/submit")
def survey_submit(
    request: Request, session: DbSession, slug: str, fields: PostedFields
) -> Response:
    csrf.check(request, one(fields, "csrf_token"))
    token = one(fields, "token")
    survey, response = surveys.response_for_token(session, slug=slug, token=token)
    if response.status == "submitted":
        return _done_page(request, survey, already=True)
    try:
        with undo_on_refusal(session):
            surveys.submit_response(
                session, slug=slug, token=token, answers=_raw_answers(survey, fields)
            )
    except surveys.AlreadySubmitted:
        return _done_page(request, survey, already=True)
    except DomainError as exc:
        errors = {str(e.get("question_id")): _sentence(str(e["detail"])) for e in exc.errors}
        return _questions_page(
            request,
            survey,
            response,
            token,
            values={k: v for k, v in fields.items() if k.startswith("q-")},
            errors=errors or {"": _sentence(exc.detail)},
            status=exc.status,
        )
    return RedirectResponse(f"/s/{slug}/thanks", status_code=303)


def _done_page(request: Request, survey: Survey | None, *, already: bool) -> Response:
    return render(
        request,
        "ask/survey_public_done.html",
        {"survey": survey, "already": already},
        status_code=409 if already else 200,
        headers=NO_STORE,
    )


@router.get("/s/{slug}/thanks")
def survey_thanks(request: Request, session: DbSession, slug: str) -> Response:
    try:
        survey: Survey | None = surveys.get_public_survey(session, slug=slug)
    except surveys.SurveyClosed:
        survey = None  # closed just after this respondent submitted: still thank them
    return _done_page(request, survey, already=False)
