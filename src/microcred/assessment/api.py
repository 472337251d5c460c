"""JSON routes of the assessment context under /api/v1: authoring and review."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from microcred.assessment import service
from microcred.assessment.schemas import (
    FlagOut,
    FlagReviewIn,
    ItemIn,
    ItemOut,
    PolicyIn,
    PolicyOut,
)
from microcred.identity.deps import Assessor, CatalogEditor, Reader
from microcred.identity.schemas import ReasonIn
from microcred.kit.pagination import Page
from microcred.kit.web.deps import DbSession, PageDep

router = APIRouter(tags=["assessment"])


@router.put("/achievements/{achievement_id}/assessment", response_model=PolicyOut)
def set_policy(
    session: DbSession, principal: CatalogEditor, achievement_id: uuid.UUID, body: PolicyIn
) -> object:
    """Attempt rules and adaptive-test settings of an achievement (replaces them)."""
    return service.set_policy(
        session,
        actor=principal,
        institution_id=principal.tenant,
        achievement_id=achievement_id,
        data=body,
    )


@router.get("/achievements/{achievement_id}/assessment", response_model=PolicyOut)
def get_policy(session: DbSession, principal: Reader, achievement_id: uuid.UUID) -> object:
    return service.get_policy(
        session, institution_id=principal.tenant, achievement_id=achievement_id
    )


@router.post(
    "/achievements/{achievement_id}/assessment/calibration", status_code=status.HTTP_202_ACCEPTED
)
def request_calibration(
    session: DbSession, principal: CatalogEditor, achievement_id: uuid.UUID
) -> dict[str, str]:
    """Queue a re-calibration of the item bank from the platform's responses."""
    service.request_calibration(
        session, actor=principal, institution_id=principal.tenant, achievement_id=achievement_id
    )
    return {"status": "queued"}


@router.get("/items", response_model=Page[ItemOut])
def list_items(
    session: DbSession,
    principal: Reader,
    page: PageDep,
    achievement_id: Annotated[uuid.UUID | None, Query()] = None,
) -> object:
    rows, total = service.list_items(
        session, institution_id=principal.tenant, achievement_id=achievement_id, page=page
    )
    return Page[ItemOut].of([ItemOut.model_validate(r) for r in rows], total=total, page=page)


@router.post("/items", response_model=ItemOut, status_code=status.HTTP_201_CREATED)
def create_item(session: DbSession, principal: CatalogEditor, body: ItemIn) -> object:
    return service.create_item(session, actor=principal, institution_id=principal.tenant, data=body)


@router.get("/items/{item_id}", response_model=ItemOut)
def get_item(session: DbSession, principal: Reader, item_id: uuid.UUID) -> object:
    return service.get_item(session, institution_id=principal.tenant, item_id=item_id)


@router.post(
    "/items/{item_id}/revisions", response_model=ItemOut, status_code=status.HTTP_201_CREATED
)
def revise_item(
    session: DbSession, principal: CatalogEditor, item_id: uuid.UUID, body: ItemIn
) -> object:
    """Replace an item with a new version; earlier answers keep pointing at the old one."""
    return service.revise_item(
        session, actor=principal, institution_id=principal.tenant, item_id=item_id, data=body
    )


@router.post("/items/{item_id}/retire", response_model=ItemOut)
def retire_item(
    session: DbSession, principal: CatalogEditor, item_id: uuid.UUID, body: ReasonIn
) -> object:
    return service.retire_item(
        session,
        actor=principal,
        institution_id=principal.tenant,
        item_id=item_id,
        reason=body.reason,
    )


@router.get("/integrity-flags", response_model=Page[FlagOut])
def review_queue(session: DbSession, principal: Reader, page: PageDep) -> object:
    """Open integrity flags for an assessor: signals, never verdicts."""
    rows, total = service.review_queue(session, institution_id=principal.tenant, page=page)
    return Page[FlagOut].of([FlagOut.model_validate(r) for r in rows], total=total, page=page)


@router.post("/integrity-flags/{flag_id}/review", response_model=FlagOut)
def review_flag(
    session: DbSession, principal: Assessor, flag_id: uuid.UUID, body: FlagReviewIn
) -> object:
    return service.review_flag(
        session,
        actor=principal,
        institution_id=principal.tenant,
        flag_id=flag_id,
        decision=body.decision,
        note=body.note,
    )
