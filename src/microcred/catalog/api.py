"""JSON routes of the catalog context."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, Query, status
from sqlalchemy.orm import Session

from microcred.catalog import esco, framework, service
from microcred.catalog.models import Achievement
from microcred.catalog.schemas import (
    AchievementIn,
    AchievementOut,
    AchievementUpdate,
    EscoSkillOut,
    FrameworkSkillHit,
    FrameworkSkillOut,
    OccupationHit,
    OccupationOut,
    PrerequisitesIn,
)
from microcred.identity.deps import CatalogEditor, Reader
from microcred.identity.schemas import ReasonIn
from microcred.kit.pagination import Page
from microcred.kit.web.deps import DbSession, PageDep

router = APIRouter(tags=["catalog"])


def _out(session: Session, achievements: Sequence[Achievement]) -> list[AchievementOut]:
    """Achievements as the API shows them; prerequisites are not a relationship of the model."""
    needs = service.prerequisite_ids(session, achievement_ids=[a.id for a in achievements])
    return [
        AchievementOut.model_validate(a).model_copy(update={"prerequisites": needs[a.id]})
        for a in achievements
    ]


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
    return Page[AchievementOut].of(_out(session, rows), total=total, page=page)


@router.post("/achievements", response_model=AchievementOut, status_code=status.HTTP_201_CREATED)
def create_achievement(session: DbSession, principal: CatalogEditor, body: AchievementIn) -> object:
    created = service.create_achievement(
        session, actor=principal, institution_id=principal.tenant, data=body
    )
    return _out(session, [created])[0]


@router.get("/achievements/{achievement_id}", response_model=AchievementOut)
def get_achievement(session: DbSession, principal: Reader, achievement_id: uuid.UUID) -> object:
    found = service.get_achievement(
        session, institution_id=principal.tenant, achievement_id=achievement_id
    )
    return _out(session, [found])[0]


@router.patch("/achievements/{achievement_id}", response_model=AchievementOut)
def update_achievement(
    session: DbSession,
    principal: CatalogEditor,
    achievement_id: uuid.UUID,
    body: AchievementUpdate,
) -> object:
    updated = service.update_achievement(
        session,
        actor=principal,
        institution_id=principal.tenant,
        achievement_id=achievement_id,
        data=body,
    )
    return _out(session, [updated])[0]


@router.put("/achievements/{achievement_id}/prerequisites", response_model=AchievementOut)
def set_prerequisites(
    session: DbSession,
    principal: CatalogEditor,
    achievement_id: uuid.UUID,
    body: PrerequisitesIn,
) -> object:
    """Replace the achievements a learner should hold first (this institution's; no cycles)."""
    updated = service.set_prerequisites(
        session,
        actor=principal,
        institution_id=principal.tenant,
        achievement_id=achievement_id,
        prerequisite_ids=body.prerequisites,
    )
    return _out(session, [updated])[0]


@router.post("/achievements/{achievement_id}/retire", response_model=AchievementOut)
def retire_achievement(
    session: DbSession, principal: CatalogEditor, achievement_id: uuid.UUID, body: ReasonIn
) -> object:
    retired = service.retire_achievement(
        session,
        actor=principal,
        institution_id=principal.tenant,
        achievement_id=achievement_id,
        reason=body.reason,
    )
    return _out(session, [retired])[0]


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


Search = Annotated[str, Query(min_length=1, max_length=100, description="part of a label")]
Limit = Annotated[int, Query(ge=1, le=100)]


@router.get("/occupations", response_model=list[OccupationHit])
def search_occupations(
    session: DbSession, principal: Reader, q: Search, limit: Limit = 20
) -> object:
    """Occupations of the imported framework by preferred or alternative label."""
    return [
        OccupationHit(
            id=o.uri.rsplit("/", 1)[1],
            uri=o.uri,
            label=o.label,
            isco_group=o.kind,
            description=o.description,
            matched=o.matched,
        )
        for o in service.search_occupations(session, query=q, limit=limit)
    ]


@router.get("/occupations/{occupation_id}", response_model=OccupationOut)
def get_occupation(session: DbSession, principal: Reader, occupation_id: uuid.UUID) -> object:
    """An occupation (by the UUID that ends its ESCO URI) with its essential and optional
    skills."""
    detail = service.get_occupation(session, uri=framework.occupation_uri(str(occupation_id)))
    o = detail.occupation
    return OccupationOut(
        id=str(occupation_id),
        uri=o.uri,
        label=o.label,
        alt_labels=[str(a) for a in o.alt_labels],
        description=o.description,
        isco_group=o.isco_group,
        framework_version=o.framework_version,
        essential_skills=[FrameworkSkillOut.model_validate(s) for s in detail.essential],
        optional_skills=[FrameworkSkillOut.model_validate(s) for s in detail.optional],
    )


@router.get("/skills", response_model=list[FrameworkSkillHit])
def search_skills(session: DbSession, principal: Reader, q: Search, limit: Limit = 20) -> object:
    """Skills and knowledge of the imported framework by preferred or alternative label."""
    return [
        FrameworkSkillHit(
            uri=s.uri,
            label=s.label,
            skill_type=s.kind,
            description=s.description,
            matched=s.matched,
        )
        for s in service.search_framework_skills(session, query=q, limit=limit)
    ]
