"""Server-rendered pages (usable without JavaScript): the learner's adaptive test and project,
and the staff console's item banks and review queue."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import ValidationError
from starlette.datastructures import UploadFile as StarletteUpload

from microcred.assessment import service
from microcred.assessment.schemas import (
    BankTransfer,
    FlagReviewIn,
    ItemIn,
    RegradeIn,
    SubmissionIn,
    SubmissionReviewIn,
)
from microcred.identity.deps import PagePrincipal
from microcred.kit.errors import DomainError, InvalidInput, NotAuthenticated
from microcred.kit.pagination import PageRequest
from microcred.kit.principal import Principal
from microcred.kit.web import csrf
from microcred.kit.web.deps import DbSession, SettingsDep
from microcred.kit.web.pages import PostedFields, render, require_staff

router = APIRouter(include_in_schema=False)
MAX_IMPORT_BYTES = 5_000_000


def _learner(principal: Principal | None) -> Principal:
    if principal is None:
        raise NotAuthenticated("sign in to take an assessment")
    return principal


def _page(
    request: Request, name: str, context: dict[str, object], status_code: int = 200
) -> Response:
    return render(request, name, context, status_code=status_code)


@router.get("/assessments/{achievement_id}")
def assessment(
    request: Request, session: DbSession, principal: PagePrincipal, achievement_id: uuid.UUID
) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    found = service.overview(session, actor=principal, achievement_id=achievement_id)
    return _page(
        request, "assessment/overview.html", {"o": found, "achievement_id": achievement_id}
    )


@router.post("/assessments/{achievement_id}/start")
def start(
    request: Request,
    session: DbSession,
    principal: PagePrincipal,
    achievement_id: uuid.UUID,
    csrf_token: Annotated[str, Form(max_length=100)],
) -> Response:
    csrf.check(request, csrf_token)
    attempt = service.start_attempt(
        session, actor=_learner(principal), achievement_id=achievement_id
    )
    return RedirectResponse(f"/attempts/{attempt.id}", status_code=303)


@router.get("/attempts/{attempt_id}")
def attempt(
    request: Request, session: DbSession, principal: PagePrincipal, attempt_id: uuid.UUID
) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    found = service.report_or_item(session, actor=principal, attempt_id=attempt_id)
    if isinstance(found, service.Report):
        return _page(request, "assessment/result.html", {"r": found})
    return _page(request, "assessment/item.html", {"v": found, "error": None})


@router.post("/attempts/{attempt_id}/answer")
def answer(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    principal: PagePrincipal,
    attempt_id: uuid.UUID,
    item_id: Annotated[uuid.UUID, Form()],
    version: Annotated[int, Form(ge=0, le=10_000)],
    csrf_token: Annotated[str, Form(max_length=100)],
    answer: Annotated[list[str] | None, Form(max_length=20)] = None,
) -> Response:
    csrf.check(request, csrf_token)
    learner = _learner(principal)
    try:
        service.answer_item(
            session,
            actor=learner,
            settings=settings,
            attempt_id=attempt_id,
            item_id=item_id,
            answer=answer or [],
            version=version,
        )
    except DomainError as exc:
        # Show the refusal on the item page; nothing was recorded.
        current = service.report_or_item(session, actor=learner, attempt_id=attempt_id)
        if isinstance(current, service.Report):
            return _page(request, "assessment/result.html", {"r": current}, status_code=exc.status)
        return _page(
            request,
            "assessment/item.html",
            {"v": current, "error": exc.detail},
            status_code=exc.status,
        )
    return RedirectResponse(f"/attempts/{attempt_id}", status_code=303)


@router.get("/assessments/{achievement_id}/project")
def project(
    request: Request, session: DbSession, principal: PagePrincipal, achievement_id: uuid.UUID
) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    found = service.project_page(session, actor=principal, achievement_id=achievement_id)
    return _page(request, "assessment/project.html", {"p": found, "error": None, "form": {}})


@router.post("/assessments/{achievement_id}/project")
def submit_project(
    request: Request,
    session: DbSession,
    principal: PagePrincipal,
    achievement_id: uuid.UUID,
    csrf_token: Annotated[str, Form(max_length=100)],
    title: Annotated[str, Form(max_length=400)] = "",
    report: Annotated[str, Form(max_length=40_000)] = "",
    links: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    csrf.check(request, csrf_token)
    learner = _learner(principal)
    form = {"title": title, "report": report, "links": links}
    try:
        data = SubmissionIn(
            title=title.strip(),
            report=report.strip(),
            links=[line.strip() for line in links.splitlines() if line.strip()],
        )
        service.submit_project(session, actor=learner, achievement_id=achievement_id, data=data)
    except (DomainError, ValidationError) as exc:
        # Show the refusal beside what was typed; nothing was recorded.
        message, status_code = _refusal(exc)
        found = service.project_page(session, actor=learner, achievement_id=achievement_id)
        return _page(
            request,
            "assessment/project.html",
            {"p": found, "error": message, "form": form},
            status_code=status_code,
        )
    return RedirectResponse(f"/assessments/{achievement_id}/project", status_code=303)


def _field_errors(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'form'}: {e['msg']}" for e in exc.errors()
    )


def _refusal(exc: DomainError | ValidationError) -> tuple[str, int]:
    """What to tell the user, and the status, for a refused form."""
    if isinstance(exc, DomainError):
        return exc.detail, exc.status
    return _field_errors(exc), 422


async def _posted_bank(request: Request) -> tuple[str, bytes | None]:
    """The import form: its CSRF token and the uploaded file's bytes (None without a file),
    read up to one byte past the limit so an oversized file can be refused."""
    async with request.form() as raw:
        upload = raw.get("file")
        content = (
            await upload.read(MAX_IMPORT_BYTES + 1) if isinstance(upload, StarletteUpload) else None
        )
        return str(raw.get("csrf_token", "")), content


PostedBank = Annotated[tuple[str, bytes | None], Depends(_posted_bank)]


# --- the staff console: item banks and the assessor's review queue ------------------------------


def _staff(principal: Principal | None) -> Principal:
    staff = require_staff(principal)
    staff.require_role("issuer", "assessor")
    return staff


def _bank(
    request: Request,
    session: DbSession,
    staff: Principal,
    achievement_id: uuid.UUID,
    *,
    error: str | None = None,
    form: dict[str, object] | None = None,
    status_code: int = 200,
) -> Response:
    found = service.bank_page(
        session, actor=staff, institution_id=staff.tenant, achievement_id=achievement_id
    )
    return _page(
        request,
        "console/bank.html",
        {"b": found, "error": error, "form": form or {}, "message": request.query_params.get("m")},
        status_code=status_code,
    )


@router.get("/console/assessments/{achievement_id}")
def bank(
    request: Request, session: DbSession, principal: PagePrincipal, achievement_id: uuid.UUID
) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    return _bank(request, session, _staff(principal), achievement_id)


def item_from_form(achievement_id: uuid.UUID, form: dict[str, Any]) -> ItemIn:
    """The authoring form as the API's item shape; the same validation applies."""
    kind = form.get("kind", "")
    data: dict[str, Any] = {
        "achievement_id": achievement_id,
        "skill_url": form.get("skill_url", ""),
        "kind": kind,
        "stem": str(form.get("stem", "")).strip(),
        "author_difficulty": form.get("author_difficulty") or 3,
    }
    if kind in ("single_choice", "multiple_choice"):
        texts = [str(t).strip() for t in form.get("choice_text", [])]
        data["choices"] = [
            {"id": chr(ord("a") + i), "text": text} for i, text in enumerate(texts) if text
        ]
        data["key"] = [
            chr(ord("a") + int(i))
            for i in form.get("correct", [])
            if str(i).isdigit() and int(i) < len(texts)
        ]
    elif kind == "numeric":
        data["formula"] = form.get("formula") or None
        data["variables"] = [
            dict(zip(("name", "low", "high", "step"), line.split(), strict=False))
            for line in str(form.get("variables", "")).splitlines()
            if line.strip()
        ]
        data["tolerance"] = form.get("tolerance") or None
        data["tolerance_kind"] = form.get("tolerance_kind") or "absolute"
        data["unit"] = form.get("unit") or None
    elif kind == "short_text":
        criteria = []
        for line in str(form.get("criteria", "")).splitlines():
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split("|")]
            parts += [""] * (5 - len(parts))
            criteria.append(
                {
                    "id": parts[0],
                    "points": parts[1] or 0,
                    "description": parts[2],
                    "concepts": [c.strip() for c in parts[3].split(";") if c.strip()],
                    "misconceptions": [c.strip() for c in parts[4].split(";") if c.strip()],
                }
            )
        data["rubric"] = {"criteria": criteria, "credit": form.get("credit") or 0}
        data["model_answer"] = str(form.get("model_answer") or "").strip() or None
    return ItemIn.model_validate(data)


@router.post("/console/assessments/{achievement_id}/items")
def add_item(
    request: Request,
    session: DbSession,
    principal: PagePrincipal,
    achievement_id: uuid.UUID,
    fields: PostedFields,
) -> Response:
    staff = _staff(principal)
    csrf.check(request, fields.get("csrf_token", [""])[-1])
    form: dict[str, Any] = {
        key: values if key in ("choice_text", "correct") else values[-1]
        for key, values in fields.items()
        if values
    }
    try:
        data = item_from_form(achievement_id, form)
        item = service.create_item(session, actor=staff, institution_id=staff.tenant, data=data)
    except (DomainError, ValidationError) as exc:
        message, status_code = _refusal(exc)
        return _bank(
            request,
            session,
            staff,
            achievement_id,
            error=message,
            form=form,
            status_code=status_code,
        )
    return RedirectResponse(
        f"/console/assessments/{achievement_id}?m=Item+{item.id}+added", status_code=303
    )


@router.post("/console/items/{item_id}/retire")
def retire(
    request: Request,
    session: DbSession,
    principal: PagePrincipal,
    item_id: uuid.UUID,
    csrf_token: Annotated[str, Form(max_length=100)],
    reason: Annotated[str, Form(max_length=500)] = "retired in the console",
) -> Response:
    csrf.check(request, csrf_token)
    staff = _staff(principal)
    item = service.retire_item(
        session, actor=staff, institution_id=staff.tenant, item_id=item_id, reason=reason
    )
    return RedirectResponse(
        f"/console/assessments/{item.achievement_id}?m=Item+retired", status_code=303
    )


@router.get("/console/assessments/{achievement_id}/items.json")
def export(session: DbSession, principal: PagePrincipal, achievement_id: uuid.UUID) -> Response:
    staff = _staff(principal)
    body = service.export_bank(session, institution_id=staff.tenant, achievement_id=achievement_id)
    return JSONResponse(
        body,
        headers={"content-disposition": f'attachment; filename="items-{achievement_id}.json"'},
    )


@router.post("/console/assessments/{achievement_id}/import")
def import_items(
    request: Request,
    session: DbSession,
    principal: PagePrincipal,
    achievement_id: uuid.UUID,
    posted: PostedBank,
) -> Response:
    staff = _staff(principal)
    csrf_token, content = posted
    csrf.check(request, csrf_token)
    try:
        if content is None:
            raise InvalidInput("choose a microcred-items/1 JSON file")
        if len(content) > MAX_IMPORT_BYTES:
            raise InvalidInput(f"the file is larger than {MAX_IMPORT_BYTES // 1_000_000} MB")
        data = BankTransfer.model_validate_json(content)
        created = service.import_bank(
            session,
            actor=staff,
            institution_id=staff.tenant,
            achievement_id=achievement_id,
            data=data,
        )
    except (DomainError, ValidationError) as exc:
        if isinstance(exc, DomainError):
            message = exc.detail + "".join(
                f" Item {e['index'] + 1}: {e['detail']}." for e in exc.errors
            )
        else:
            message = f"the file is not a microcred-items/1 bank: {_field_errors(exc)}"
        return _bank(request, session, staff, achievement_id, error=message, status_code=422)
    return RedirectResponse(
        f"/console/assessments/{achievement_id}?m={len(created)}+items+imported",
        status_code=303,
    )


def _review_page(
    request: Request,
    session: DbSession,
    staff: Principal,
    *,
    message: str | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    flags, submissions = service.review_cases(
        session, actor=staff, institution_id=staff.tenant, page=PageRequest(limit=50, offset=0)
    )
    return _page(
        request,
        "console/review.html",
        {"flags": flags, "submissions": submissions, "message": message, "error": error},
        status_code=status_code,
    )


@router.get("/console/review")
def review(request: Request, session: DbSession, principal: PagePrincipal) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    return _review_page(request, session, _staff(principal), message=request.query_params.get("m"))


def _review_error(
    request: Request, session: DbSession, staff: Principal, exc: DomainError | ValidationError
) -> Response:
    message, status_code = _refusal(exc)
    return _review_page(request, session, staff, error=message, status_code=status_code)


@router.post("/console/flags/{flag_id}/review")
def review_flag(
    request: Request,
    session: DbSession,
    principal: PagePrincipal,
    flag_id: uuid.UUID,
    csrf_token: Annotated[str, Form(max_length=100)],
    decision: Annotated[str, Form(max_length=20)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    csrf.check(request, csrf_token)
    staff = _staff(principal)
    try:
        body = FlagReviewIn.model_validate({"decision": decision, "note": note.strip()})
        service.review_flag(
            session,
            actor=staff,
            institution_id=staff.tenant,
            flag_id=flag_id,
            decision=body.decision,
            note=body.note,
        )
    except (DomainError, ValidationError) as exc:
        return _review_error(request, session, staff, exc)
    return RedirectResponse(f"/console/review?m=Flag+{decision}", status_code=303)


@router.post("/console/responses/{response_id}/regrade")
def regrade(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    principal: PagePrincipal,
    response_id: uuid.UUID,
    csrf_token: Annotated[str, Form(max_length=100)],
    correct: Annotated[str, Form(max_length=10)] = "",
    note: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    csrf.check(request, csrf_token)
    staff = _staff(principal)
    try:
        body = RegradeIn.model_validate({"correct": correct, "note": note.strip()})
        attempt = service.regrade_response(
            session,
            actor=staff,
            settings=settings,
            institution_id=staff.tenant,
            response_id=response_id,
            correct=body.correct,
            note=body.note,
        )
    except (DomainError, ValidationError) as exc:
        return _review_error(request, session, staff, exc)
    return RedirectResponse(
        f"/console/review?m=Regraded:+attempt+now+{attempt.state}", status_code=303
    )


@router.post("/console/submissions/{submission_id}/review")
def review_submission(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    principal: PagePrincipal,
    submission_id: uuid.UUID,
    fields: PostedFields,
) -> Response:
    staff = _staff(principal)
    csrf.check(request, fields.get("csrf_token", [""])[-1])
    levels = {
        key.removeprefix("level_"): values[-1]
        for key, values in fields.items()
        if key.startswith("level_") and values
    }
    feedback = fields.get("feedback", [""])[-1].strip()
    try:
        body = SubmissionReviewIn.model_validate({"levels": levels, "feedback": feedback})
        submission = service.review_submission(
            session,
            actor=staff,
            settings=settings,
            institution_id=staff.tenant,
            submission_id=submission_id,
            levels=body.levels,
            feedback=body.feedback,
        )
    except (DomainError, ValidationError) as exc:
        return _review_error(request, session, staff, exc)
    return RedirectResponse(f"/console/review?m=Project+{submission.state}", status_code=303)
