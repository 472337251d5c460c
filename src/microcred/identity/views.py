"""Sign-in and sign-out pages (session cookies) and the signed-in home page."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from microcred.credentials import service as credentials
from microcred.credentials.models import Award
from microcred.identity import service
from microcred.identity.deps import PagePrincipal
from microcred.kit.errors import NotAuthenticated
from microcred.kit.pagination import PageRequest
from microcred.kit.web import csrf
from microcred.kit.web.deps import DbSession, SettingsDep
from microcred.kit.web.templating import templates

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request, session: DbSession, principal: PagePrincipal) -> Response:
    awards: Sequence[Award] = []
    if principal is not None and principal.kind == "learner" and principal.institution_id:
        awards, _ = credentials.list_awards(
            session,
            institution_id=principal.institution_id,
            page=PageRequest(limit=100, offset=0),
            learner_id=principal.id,
        )
    token = csrf.token(request)
    page = templates.TemplateResponse(
        request, "home.html", {"principal": principal, "awards": awards, "csrf_token": token}
    )
    return csrf.remember(page, request, token)


@router.get("/sign-in")
def sign_in_form(request: Request) -> Response:
    token = csrf.token(request)
    page = templates.TemplateResponse(
        request,
        "sign_in.html",
        {"csrf_token": token, "error": None, "institution": "", "email": ""},
    )
    return csrf.remember(page, request, token)


@router.post("/sign-in")
def sign_in(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    institution: Annotated[str, Form(max_length=63)],
    email: Annotated[str, Form(max_length=320)],
    password: Annotated[str, Form(max_length=200)],
    csrf_token: Annotated[str, Form(max_length=100)],
) -> Response:
    csrf.check(request, csrf_token)
    try:
        secret, record = service.sign_in(
            session,
            institution_slug=institution.strip(),
            email=email,
            password=password,
            days=settings.session_days,
        )
    except NotAuthenticated as exc:
        page = templates.TemplateResponse(
            request,
            "sign_in.html",
            {
                "csrf_token": csrf_token,
                "error": exc.detail,
                "institution": institution,
                "email": email,
            },
            status_code=401,
        )
        return page
    # Learners land on their credentials, staff on the console.
    landing = "/me" if record.account_kind == "learner" else "/console"
    response = RedirectResponse(landing, status_code=303)
    response.set_cookie(
        settings.session_cookie_name,
        secret,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        max_age=settings.session_days * 86400,
    )
    return response


@router.post("/sign-out")
def sign_out(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    csrf_token: Annotated[str, Form(max_length=100)],
) -> Response:
    csrf.check(request, csrf_token)
    secret = request.cookies.get(settings.session_cookie_name)
    if secret:
        service.sign_out(session, secret=secret)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(settings.session_cookie_name)
    return response
