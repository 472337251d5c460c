"""The learner's adaptive test as server-rendered pages (usable without JavaScript)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from microcred.assessment import service
from microcred.identity.deps import PagePrincipal
from microcred.kit.errors import DomainError, NotAuthenticated
from microcred.kit.principal import Principal
from microcred.kit.web import csrf
from microcred.kit.web.deps import DbSession, SettingsDep
from microcred.kit.web.templating import templates

router = APIRouter(include_in_schema=False)


def _learner(principal: Principal | None) -> Principal:
    if principal is None:
        raise NotAuthenticated("sign in to take an assessment")
    return principal


def _page(
    request: Request, name: str, context: dict[str, object], status_code: int = 200
) -> Response:
    token = csrf.token(request)
    page = templates.TemplateResponse(
        request, name, {**context, "csrf_token": token}, status_code=status_code
    )
    return csrf.remember(page, request, token)


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
