"""JSON routes of the catalog context."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status

from microcred.catalog import esco, service
from microcred.catalog.schemas import (
    AchievementIn,
    AchievementOut,
    AchievementUpdate,
    EscoSkillOut,
)
from microcred.identity.deps import CatalogEditor, Reader
from microcred.identity.schemas import ReasonIn
from microcred.kit.pagination import Page
from microcred.kit.web.deps import DbSession, PageDep

router = APIRouter(tags=["catalog"])


@router.get("/achievements", response_model=Page[AchievementOut])
def list_achievements(
    session: DbSession,
    principal: Reader,
    page: PageDep,
    state: Annotated[Literal["active", "retired"] | None, Query(alias="status")] = None,
) -> object:
    rows, total = service.list_achievements(
        session, institution_id=principal.tenant, page=page, status=state
    )
    return Page[AchievementOut].of(
        [AchievementOut.model_validate(r) for r in rows], total=total, page=page
    )


@router.post("/achievements", response_model=AchievementOut, status_code=status.HTTP_201_CREATED)
def create_achievement(session: DbSession, principal: CatalogEditor, body: AchievementIn) -> object:
    return service.create_achievement(
        session, actor=principal, institution_id=principal.tenant, data=body
    )


@router.get("/achievements/{achievement_id}", response_model=AchievementOut)
def get_achievement(session: DbSession, principal: Reader, achievement_id: uuid.UUID) -> object:
    return service.get_achievement(
        session, institution_id=principal.tenant, achievement_id=achievement_id
    )


@router.patch("/achievements/{achievement_id}", response_model=AchievementOut)
def update_achievement(
    session: DbSession,
    principal: CatalogEditor,
    achievement_id: uuid.UUID,
    body: AchievementUpdate,
) -> object:
    return service.update_achievement(
        session,
        actor=principal,
        institution_id=principal.tenant,
        achievement_id=achievement_id,
        data=body,
    )


@router.post("/achievements/{achievement_id}/retire", response_model=AchievementOut)
def retire_achievement(
    session: DbSession, principal: CatalogEditor, achievement_id: uuid.UUID, body: ReasonIn
) -> object:
    return service.retire_achievement(
        session,
        actor=principal,
        institution_id=principal.tenant,
        achievement_id=achievement_id,
        reason=body.reason,
    )


@router.get("/skills/esco", response_model=list[EscoSkillOut])
def search_esco(
    principal: Reader,
    q: Annotated[str, Query(min_length=1, max_length=100)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> object:
    return [
        EscoSkillOut(uri=s.uri, label=s.label, skill_type=s.skill_type, description=s.description)
        for s in esco.search(q, limit=limit)
    ]
