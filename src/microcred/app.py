"""The ASGI application factory."""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from importlib.resources import files
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session, sessionmaker

from microcred import __version__, tasks
from microcred.ask import api as ask_api
from microcred.ask import survey_api, survey_report_views, survey_views
from microcred.ask import views as ask_views
from microcred.assessment import api as assessment_api
from microcred.assessment import views as assessment_views
from microcred.catalog import api as catalog_api
from microcred.catalog import views as catalog_views
from microcred.credentials import api as credentials_api
from microcred.credentials import console_views as credentials_console
from microcred.credentials import record_views
from microcred.credentials import verify_views as credentials_verify
from microcred.credentials import views as credentials_views
from microcred.identity import api as identity_api
from microcred.identity import views as identity_views
from microcred.kit import jobs
from microcred.kit.db import make_engine, make_sessionmaker
from microcred.kit.settings import Settings, get_settings
from microcred.kit.web import problems
from microcred.kit.web.ratelimit import PublicRateLimit
from microcred.kit.web.templating import templates
from microcred.learning import api as learning_api
from microcred.learning import views as learning_views

log = logging.getLogger(__name__)
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        # Strict: only our own stylesheet and script, no inline code, nothing third-party.
        b"default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    ),
]


class BodyLimitAndHeaders:
    """Refuse bodies over the upload limit (413 problem) before reading them; add headers."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(scope, send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + SECURITY_HEADERS
            await send(message)

        try:
            await self.app(scope, limited_receive, with_headers)
        except _TooLarge:
            if not started:
                await self._too_large(scope, send)

    async def _too_large(self, scope: Scope, send: Send) -> None:
        detail = f"at most {self.max_bytes} bytes"
        headers = dict(scope.get("headers") or [])
        if not str(scope.get("path", "")).startswith("/api/") and b"text/html" in headers.get(
            b"accept", b""
        ):
            # A browser posting a form gets a page that says so, not JSON.
            body = (
                templates.env.get_template("error.html")
                .render(
                    problem={
                        "title": "The upload is too large",
                        "status": 413,
                        "detail": f"the upload is too large: {detail}; nothing was saved",
                    }
                )
                .encode()
            )
            media = b"text/html; charset=utf-8"
        else:
            body = (
                b'{"type":"https://microcred.dev/problems/payload-too-large","title":'
                b'"The upload is too large","status":413,"detail":"' + detail.encode() + b'"}'
            )
            media = b"application/problem+json"
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", media),
                    (b"content-length", str(len(body)).encode()),
                    *SECURITY_HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


def _job_kicker(
    factory: sessionmaker[Session], settings: Settings, inline: bool
) -> Callable[[], None]:
    """After each commit, run due outbox jobs in a background thread (embedded default)."""
    lock = threading.Lock()

    def kick() -> None:
        if not inline or not lock.acquire(blocking=False):
            return

        def run() -> None:
            try:
                jobs.run_pending(factory, settings)
            except Exception:  # the next commit kicks again
                log.exception("in-process job runner failed")
            finally:
                lock.release()

        threading.Thread(target=run, name="microcred-jobs", daemon=True).start()

    return kick


def create_app(
    settings: Settings | None = None, *, session_factory: sessionmaker[Session] | None = None
) -> FastAPI:
    settings = settings or get_settings()
    factory = session_factory or make_sessionmaker(make_engine(settings))
    app = FastAPI(
        title="microcred",
        version=__version__,
        description="Open Badges 3.0 micro-credentials: issue, revoke and verify.",
        openapi_url="/api/v1/openapi.json",
        docs_url="/docs",
        redoc_url=None,
    )
    tasks.register_all()
    app.state.settings = settings
    app.state.sessionmaker = factory
    app.state.after_commit = _job_kicker(
        factory, settings, settings.jobs_inline and session_factory is None
    )
    problems.install(app)

    api = APIRouter(prefix="/api/v1")
    api.include_router(identity_api.router)
    api.include_router(catalog_api.router)
    api.include_router(credentials_api.router)
    api.include_router(assessment_api.router)
    api.include_router(learning_api.router)
    api.include_router(ask_api.router)
    api.include_router(survey_api.router)
    api.include_router(survey_report_views.api_router)

    @api.get("/health", tags=["meta"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.include_router(api)
    app.include_router(credentials_views.router)
    app.include_router(credentials_verify.router)
    app.include_router(record_views.router)
    app.include_router(identity_views.router)
    app.include_router(assessment_views.router)
    app.include_router(catalog_views.router)
    app.include_router(credentials_console.router)
    app.include_router(learning_views.router)
    app.include_router(ask_views.router)
    app.include_router(survey_views.router)
    app.include_router(survey_report_views.router)
    app.mount("/static", StaticFiles(directory=str(files("microcred") / "static")), name="static")
    app.add_middleware(PublicRateLimit, per_minute=settings.public_rate_limit_per_minute)
    app.add_middleware(BodyLimitAndHeaders, max_bytes=settings.max_upload_bytes)
    return app
