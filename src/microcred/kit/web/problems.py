"""RFC 9457 problem details for every error the API can answer; the same problem as a page
for a browser on the server-rendered pages."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from microcred.kit.errors import PROBLEM_BASE, DomainError
from microcred.kit.web.templating import templates

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"

_HTTP_SLUGS = {
    400: ("bad-request", "Bad request"),
    401: ("not-authenticated", "Sign-in or an API token is required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    413: ("payload-too-large", "The upload is too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    429: ("too-many-requests", "Too many requests"),
}


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        body, status_code=int(body["status"]), media_type=PROBLEM_JSON, headers=headers
    )


def _wants_page(request: Request) -> bool:
    """A browser on a page (not the API, not a fetch asking for JSON) gets an HTML page."""
    if request.url.path.startswith("/api/"):
        return False
    accept = request.headers.get("accept", "")
    return "text/html" in accept


def respond(
    request: Request, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response:
    if not _wants_page(request):
        return problem_response(body, headers)
    return templates.TemplateResponse(
        request,
        "error.html",
        {"problem": body},
        status_code=int(body["status"]),
        headers={**(headers or {}), "Cache-Control": "no-store"},
    )


def _field_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        out.append(
            {
                "pointer": "/" + "/".join(loc[1:]) if len(loc) > 1 else "/",
                "in": loc[0] if loc else "body",
                "detail": err.get("msg", "invalid"),
            }
        )
    return out


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        return respond(request, exc.to_problem(instance=request.url.path))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        errors = _field_errors(exc)
        detail = "; ".join(f"{e['pointer']}: {e['detail']}" for e in errors[:5])
        return respond(
            request,
            {
                "type": PROBLEM_BASE + "invalid-input",
                "title": "The request is not valid",
                "status": 422,
                "detail": detail or "invalid request",
                "instance": request.url.path,
                "errors": errors,
            },
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        slug, title = _HTTP_SLUGS.get(exc.status_code, ("http-error", "HTTP error"))
        return respond(
            request,
            {
                "type": PROBLEM_BASE + slug,
                "title": title,
                "status": exc.status_code,
                "detail": str(exc.detail),
                "instance": request.url.path,
            },
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(DataError)
    async def unstorable(request: Request, exc: DataError) -> Response:
        # The database refused a value the validators let through (a NUL character in text,
        # a number out of range): the client's doing, and the transaction was rolled back.
        return respond(
            request,
            {
                "type": PROBLEM_BASE + "invalid-input",
                "title": "The request is not valid",
                "status": 422,
                "detail": "a value cannot be stored (for example text with a NUL character, or a "
                "number out of range)",
                "instance": request.url.path,
            },
        )

    @app.exception_handler(IntegrityError)
    async def raced(request: Request, exc: IntegrityError) -> Response:
        # Constraints the services check first can still trip when two requests race.
        return respond(
            request,
            {
                "type": PROBLEM_BASE + "conflict",
                "title": "Conflict with the current state",
                "status": 409,
                "detail": "a concurrent change conflicts with this one; retry to see the current "
                "state",
                "instance": request.url.path,
            },
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path)
        return respond(
            request,
            {
                "type": PROBLEM_BASE + "internal-error",
                "title": "Internal error",
                "status": 500,
                "detail": "an unexpected error happened; it has been logged",
                "instance": request.url.path,
            },
        )
