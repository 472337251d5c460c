"""JSON routes of the ask context: ask a question (public), manage the knowledge base and
review the answer log (staff)."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, UploadFile, status

from microcred.ask import service
from microcred.ask.schemas import (
    AnswerOut,
    AskIn,
    LoggedAnswerOut,
    ReviewIn,
    SourceChange,
    SourceOut,
)
from microcred.identity.deps import scoped
from microcred.kit.errors import PayloadTooLarge
from microcred.kit.pagination import Page
from microcred.kit.principal import Principal
from microcred.kit.settings import Settings
from microcred.kit.web.deps import DbSession, PageDep, SettingsDep

router = APIRouter(tags=["ask"])

# The knowledge base speaks for the institution's catalogue: the catalog scope, editors only.
KnowledgeEditor = Annotated[Principal, Depends(scoped("catalog", *service.EDITOR_ROLES))]


@router.post("/ask", response_model=AnswerOut)
def ask(session: DbSession, settings: SettingsDep, body: AskIn) -> object:
    """A grounded answer with inline citations, or an abstention that points to a person.

    Public and rate limited. Every sentence of an answer carries `[n]` markers whose citations
    quote the passage it comes from; `reason` says how the answer was composed."""
    institution_id = service.public_institution(
        session, slug=body.institution, achievement_id=body.achievement_id
    )
    answer = service.ask(
        session,
        institution_id=institution_id,
        question=body.question,
        persona=body.persona,
        settings=settings,
        achievement_id=body.achievement_id,
    )
    return dataclasses.asdict(answer)


@router.get("/knowledge/sources", response_model=list[SourceOut])
def list_sources(session: DbSession, principal: KnowledgeEditor) -> object:
    return service.list_sources(session, actor=principal)


async def _upload(file: UploadFile, title: str | None, settings: Settings) -> service.Upload:
    data = await file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise PayloadTooLarge(f"the file is larger than {settings.max_upload_bytes:,} bytes")
    return service.Upload(
        filename=file.filename or "document",
        media_type=file.content_type or "",
        data=data,
        title=title,
    )


@router.post("/knowledge/sources", response_model=SourceOut, status_code=status.HTTP_202_ACCEPTED)
async def upload_source(
    session: DbSession,
    settings: SettingsDep,
    principal: KnowledgeEditor,
    file: Annotated[UploadFile, File(description="Markdown, HTML, PDF or plain text")],
    title: Annotated[str | None, Form(max_length=300)] = None,
) -> object:
    """Add a document; it is read now (refused if unreadable) and indexed by a job (202)."""
    upload = await _upload(file, title, settings)
    return service.add_document(session, actor=principal, upload=upload)


@router.put(
    "/knowledge/sources/{source_id}", response_model=SourceOut, status_code=status.HTTP_202_ACCEPTED
)
async def replace_source(
    session: DbSession,
    settings: SettingsDep,
    principal: KnowledgeEditor,
    source_id: uuid.UUID,
    file: Annotated[UploadFile, File(description="the new version of the document")],
    title: Annotated[str | None, Form(max_length=300)] = None,
) -> object:
    """A new version of an uploaded document: the old one answers until it is indexed."""
    upload = await _upload(file, title, settings)
    return service.add_document(session, actor=principal, upload=upload, source_id=source_id)


@router.get("/knowledge/sources/{source_id}", response_model=SourceOut)
def get_source(session: DbSession, principal: KnowledgeEditor, source_id: uuid.UUID) -> object:
    return service.get_source(session, actor=principal, source_id=source_id)


@router.patch("/knowledge/sources/{source_id}", response_model=SourceOut)
def change_source(
    session: DbSession, principal: KnowledgeEditor, source_id: uuid.UUID, body: SourceChange
) -> object:
    """Take a source out of the answers, or back in."""
    return service.set_source_active(
        session, actor=principal, source_id=source_id, active=body.active, reason=body.reason
    )


@router.post(
    "/knowledge/sources/{source_id}/reindex",
    response_model=SourceOut,
    status_code=status.HTTP_202_ACCEPTED,
)
def reindex_source(session: DbSession, principal: KnowledgeEditor, source_id: uuid.UUID) -> object:
    return service.request_reindex(session, actor=principal, source_id=source_id)


@router.post("/knowledge/catalogue/sync", status_code=status.HTTP_202_ACCEPTED)
def sync_catalogue(session: DbSession, principal: KnowledgeEditor) -> dict[str, str]:
    """Queue a catalogue sync now (it also follows every catalogue change by itself)."""
    service.request_catalogue_sync(session, institution_id=principal.tenant)
    return {"status": "queued"}


@router.get("/ask/answers", response_model=Page[LoggedAnswerOut])
def list_answers(
    session: DbSession,
    principal: KnowledgeEditor,
    page: PageDep,
    abstained: Annotated[bool | None, Query()] = None,
    pinned: Annotated[bool | None, Query()] = None,
) -> object:
    """The answer log: every distinct answer given, newest first, with its sources and model."""
    rows, total = service.list_answers(
        session, actor=principal, page=page, abstained=abstained, pinned=pinned
    )
    return Page[LoggedAnswerOut].of(
        [LoggedAnswerOut.model_validate(r) for r in rows], total=total, page=page
    )


@router.get("/ask/answers/{answer_id}", response_model=LoggedAnswerOut)
def get_answer(session: DbSession, principal: KnowledgeEditor, answer_id: uuid.UUID) -> object:
    return service.get_answer(session, actor=principal, answer_id=answer_id)


@router.patch("/ask/answers/{answer_id}", response_model=LoggedAnswerOut)
def review_answer(
    session: DbSession, principal: KnowledgeEditor, answer_id: uuid.UUID, body: ReviewIn
) -> object:
    """Correct an answer's text and/or pin it for its question."""
    return service.review_answer(
        session,
        actor=principal,
        answer_id=answer_id,
        text=body.text,
        pinned=body.pinned,
        note=body.note,
    )
