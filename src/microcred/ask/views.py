"""Ask pages (usable without JavaScript).

Anyone: `/ask` answers a question from the institution's knowledge base, with the citations
under the answer and the reasons behind it one click away; achievement pages carry the same
box, scoped to that achievement.

Staff (`/console/knowledge`, `/console/answers`): the sources behind the answers (upload a
document, take one out, re-index), and the answer log, where an answer can be corrected and
pinned for its question.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile as StarletteUpload

from microcred.ask import service
from microcred.ask.answers import PERSONAS
from microcred.identity.deps import PagePrincipal
from microcred.kit.errors import DomainError, InvalidInput
from microcred.kit.principal import Principal
from microcred.kit.settings import Settings
from microcred.kit.web import csrf
from microcred.kit.web.deps import DbSession, PageDep, SettingsDep
from microcred.kit.web.pages import PostedFields, one, render, require_staff, undo_on_refusal

router = APIRouter(include_in_schema=False)

PERSONA_LABELS = {
    "unspecified": "Anyone",
    "learner": "A learner",
    "educator": "An educator or course designer",
    "employer": "An employer or recruiter",
}
COMMON_QUESTIONS = (
    "What is a micro-credential?",
    "Will employers recognise a micro-credential?",
    "How can an employer verify a digital badge?",
    "Who owns a micro-credential?",
    "How do I share my badge on LinkedIn?",
    "Which micro-credentials are offered here?",
    "How much do the micro-credentials cost?",
    "How are micro-credentials assessed?",
)
NOTICES = {
    "uploaded": "The document was read and queued for indexing; it answers questions once indexed.",
    "replaced": "The new version was queued for indexing; the old one answers until then.",
    "removed": "The source no longer answers questions.",
    "restored": "The source answers questions again.",
    "reindex": "The source was queued for re-indexing.",
    "synced": "The catalogue pages were queued for an update.",
    "reviewed": "The review was saved.",
}
ACCEPTED_FILES = (
    ".md,.markdown,.html,.htm,.pdf,.txt,text/markdown,text/html,application/pdf,text/plain"
)
_MARKER = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True, slots=True)
class Segment:
    text: str
    number: int | None = None


def answer_paragraphs(text: str) -> list[list[Segment]]:
    """The answer as paragraphs of text and citation markers, so markers become links."""
    paragraphs: list[list[Segment]] = []
    for line in text.split("\n"):
        if not line.strip():
            continue
        segments: list[Segment] = []
        position = 0
        for match in _MARKER.finditer(line):
            if match.start() > position:
                segments.append(Segment(line[position : match.start()]))
            segments.append(Segment(match.group(0), int(match.group(1))))
            position = match.end()
        if position < len(line):
            segments.append(Segment(line[position:]))
        paragraphs.append(segments)
    return paragraphs


def _notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("done", ""))


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


@router.get("/ask")
def ask_page(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    principal: PagePrincipal,
    q: Annotated[str, Query(max_length=4000)] = "",
    persona: Annotated[str, Query(max_length=20)] = "unspecified",
    achievement: Annotated[str, Query(max_length=64)] = "",
    institution: Annotated[str, Query(max_length=63)] = "",
) -> Response:
    """The public "Ask about micro-credentials" page; `q` asks (GET, so answers can be linked)."""
    achievement_id = _uuid(achievement)
    error: str | None = None
    answer: service.AnswerOut | None = None
    scope_title: str | None = None
    status = 200
    if persona not in PERSONAS:
        error = f"Choose who is asking from the list (not {persona[:20]!r})."
        persona, status = "unspecified", 422
    elif achievement and achievement_id is None:
        error, status = "That achievement link is broken; ask without it.", 422
    try:
        with undo_on_refusal(session):
            slug = institution or None
            if slug is None and principal is not None and principal.institution_id:
                institution_id = principal.institution_id
            else:
                institution_id = service.public_institution(
                    session, slug=slug, achievement_id=achievement_id
                )
            if achievement_id is not None:
                scope_title = service.achievement_title(
                    session, institution_id=institution_id, achievement_id=achievement_id
                )
            if q.strip() and error is None:
                answer = service.ask(
                    session,
                    institution_id=institution_id,
                    question=q,
                    persona=persona,
                    settings=settings,
                    achievement_id=achievement_id,
                )
    except DomainError as exc:
        error = exc.detail[:1].upper() + exc.detail[1:]
        status = 422 if isinstance(exc, InvalidInput) else exc.status
    return render(
        request,
        "ask/ask.html",
        {
            "principal": principal,
            "question": q[:2000],
            "persona": persona,
            "personas": PERSONA_LABELS,
            "achievement_id": achievement_id,
            "scope_title": scope_title,
            "institution": institution,
            "answer": answer,
            "paragraphs": answer_paragraphs(answer.text) if answer else [],
            "common": COMMON_QUESTIONS,
            "error": error,
        },
        status_code=status,
    )


# ---------------------------------------------------------------------------------------------
# Console: sources


def _sources_page(
    request: Request,
    session: Session,
    staff: Principal,
    *,
    error: str | None = None,
    status: int = 200,
) -> Response:
    sources = service.list_sources(session, actor=staff)
    return render(
        request,
        "ask/knowledge.html",
        {
            "sources": sources,
            "active": sum(1 for s in sources if s.active),
            "pending": sum(1 for s in sources if s.state == "pending"),
            "failed": sum(1 for s in sources if s.state == "failed"),
            "notice": _notice(request),
            "error": error,
            "accept": ACCEPTED_FILES,
        },
        principal=staff,
        status_code=status,
    )


@router.get("/console/knowledge")
def knowledge(request: Request, session: DbSession, principal: PagePrincipal) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    return _sources_page(request, session, require_staff(principal))


@dataclass(frozen=True, slots=True)
class _Upload:
    csrf_token: str
    title: str
    filename: str
    media_type: str
    data: bytes | None  # None when no file was chosen


async def _posted_document(request: Request) -> _Upload:
    """The upload form: the file is read to one byte past the limit, so an oversized file is
    refused without holding all of it."""
    settings: Settings = request.app.state.settings
    async with request.form(max_part_size=settings.max_upload_bytes) as raw:
        token, title, upload = raw.get("csrf_token"), raw.get("title"), raw.get("file")
        data, filename, media_type = None, "", ""
        if isinstance(upload, StarletteUpload) and (upload.filename or upload.size):
            data = await upload.read(settings.max_upload_bytes + 1)
            filename, media_type = upload.filename or "document", upload.content_type or ""
        return _Upload(
            token if isinstance(token, str) else "",
            title if isinstance(title, str) else "",
            filename,
            media_type,
            data,
        )


PostedDocument = Annotated[_Upload, Depends(_posted_document)]


@router.post("/console/knowledge")
def upload_document(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    principal: PagePrincipal,
    upload: PostedDocument,
) -> Response:
    staff = require_staff(principal)
    csrf.check(request, upload.csrf_token)
    if upload.data is None:
        return _sources_page(
            request, session, staff, error="Choose a document to upload.", status=422
        )
    if len(upload.data) > settings.max_upload_bytes:
        return _sources_page(
            request,
            session,
            staff,
            error=f"The file is larger than {settings.max_upload_bytes:,} bytes.",
            status=413,
        )
    try:
        with undo_on_refusal(session):
            service.add_document(
                session,
                actor=staff,
                upload=service.Upload(
                    upload.filename, upload.media_type, upload.data, upload.title[:300]
                ),
            )
    except DomainError as exc:
        return _sources_page(
            request,
            session,
            staff,
            error=f"{upload.filename}: {exc.detail}. Nothing was stored.",
            status=exc.status,
        )
    return RedirectResponse("/console/knowledge?done=uploaded", status_code=303)


@router.post("/console/knowledge/sync")
def sync_catalogue(
    request: Request, session: DbSession, principal: PagePrincipal, fields: PostedFields
) -> Response:
    staff = require_staff(principal)
    csrf.check(request, one(fields, "csrf_token"))
    staff.require_role(*service.EDITOR_ROLES)
    service.request_catalogue_sync(session, institution_id=staff.tenant)
    return RedirectResponse("/console/knowledge?done=synced", status_code=303)


@router.post("/console/knowledge/{source_id}")
def change_source(
    request: Request,
    session: DbSession,
    principal: PagePrincipal,
    source_id: uuid.UUID,
    fields: PostedFields,
) -> Response:
    staff = require_staff(principal)
    csrf.check(request, one(fields, "csrf_token"))
    action = one(fields, "action")
    if action == "reindex":
        service.request_reindex(session, actor=staff, source_id=source_id)
        done = "reindex"
    elif action in ("remove", "restore"):
        service.set_source_active(
            session,
            actor=staff,
            source_id=source_id,
            active=action == "restore",
            reason=one(fields, "reason")[:2000],
        )
        done = "removed" if action == "remove" else "restored"
    else:
        raise InvalidInput("unknown action: choose reindex, remove or restore")
    return RedirectResponse(f"/console/knowledge?done={done}", status_code=303)


# ---------------------------------------------------------------------------------------------
# Console: the answer log


FILTERS = {"all": (None, None), "abstained": (True, None), "pinned": (None, True)}


@router.get("/console/answers")
def answer_log(
    request: Request,
    session: DbSession,
    principal: PagePrincipal,
    page: PageDep,
    show: Annotated[str, Query(max_length=20)] = "all",
) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    staff = require_staff(principal)
    abstained, pinned = FILTERS.get(show, FILTERS["all"])
    rows, total = service.list_answers(
        session, actor=staff, page=page, abstained=abstained, pinned=pinned
    )
    previous = page.offset - page.limit if page.offset > 0 else None
    following = page.offset + page.limit if page.offset + page.limit < total else None
    return render(
        request,
        "ask/answers.html",
        {
            "rows": rows,
            "total": total,
            "show": show if show in FILTERS else "all",
            "filters": list(FILTERS),
            "previous": None if previous is None else f"?show={show}&offset={max(previous, 0)}",
            "next": None if following is None else f"?show={show}&offset={following}",
            "personas": PERSONA_LABELS,
        },
        principal=staff,
    )


def _answer_page(
    request: Request,
    session: Session,
    staff: Principal,
    answer_id: uuid.UUID,
    *,
    error: str | None = None,
    status: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    row = service.get_answer(session, actor=staff, answer_id=answer_id)
    return render(
        request,
        "ask/answer.html",
        {
            "row": row,
            "paragraphs": answer_paragraphs(row.text),
            "personas": PERSONA_LABELS,
            "notice": _notice(request),
            "error": error,
            "form": form or {"text": row.text, "note": row.review_note or ""},
        },
        principal=staff,
        status_code=status,
    )


@router.get("/console/answers/{answer_id}")
def answer_detail(
    request: Request, session: DbSession, principal: PagePrincipal, answer_id: uuid.UUID
) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    return _answer_page(request, session, require_staff(principal), answer_id)


@router.post("/console/answers/{answer_id}")
def review_answer(
    request: Request,
    session: DbSession,
    principal: PagePrincipal,
    answer_id: uuid.UUID,
    fields: PostedFields,
) -> Response:
    staff = require_staff(principal)
    csrf.check(request, one(fields, "csrf_token"))
    row = service.get_answer(session, actor=staff, answer_id=answer_id)
    text = one(fields, "text")
    form = {"text": text, "note": one(fields, "note")}
    try:
        with undo_on_refusal(session):
            service.review_answer(
                session,
                actor=staff,
                answer_id=answer_id,
                # An unchanged text is not a correction: only a pin (or unpin) is recorded.
                text=text if text.strip() != row.text.strip() else None,
                pinned=one(fields, "pinned") == "yes",
                note=form["note"][:2000],
            )
    except DomainError as exc:
        return _answer_page(
            request, session, staff, answer_id, error=exc.detail, status=exc.status, form=form
        )
    return RedirectResponse(f"/console/answers/{answer_id}?done=reviewed", status_code=303)
