"""JSON routes of the identity context."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from microcred.identity import service
from microcred.identity.deps import Admin, PeopleManager, Reader
from microcred.identity.schemas import (
    ApiTokenCreated,
    ApiTokenIn,
    ApiTokenOut,
    IdentityAssuranceIn,
    InstitutionOut,
    InstitutionUpdate,
    LearnerIn,
    LearnerOut,
    ReasonIn,
    StaffIn,
    StaffOut,
)
from microcred.kit.pagination import Page
from microcred.kit.web.deps import DbSession, PageDep

router = APIRouter(tags=["identity"])


@router.get("/institution", response_model=InstitutionOut)
def get_institution(session: DbSession, principal: Reader) -> object:
    return service.get_institution(session, institution_id=principal.tenant)


@router.patch("/institution", response_model=InstitutionOut)
def update_institution(session: DbSession, principal: Admin, body: InstitutionUpdate) -> object:
    return service.update_institution(
        session,
        actor=principal,
        institution_id=principal.tenant,
        changes=body.model_dump(exclude_unset=True),
    )


@router.get("/learners", response_model=Page[LearnerOut])
def list_learners(session: DbSession, principal: Reader, page: PageDep) -> object:
    rows, total = service.list_learners(session, institution_id=principal.tenant, page=page)
    return Page[LearnerOut].of([LearnerOut.model_validate(r) for r in rows], total=total, page=page)


@router.post("/learners", response_model=LearnerOut, status_code=status.HTTP_201_CREATED)
def create_learner(session: DbSession, principal: PeopleManager, body: LearnerIn) -> object:
    return service.create_learner(
        session,
        actor=principal,
        institution_id=principal.tenant,
        email=body.email,
        display_name=body.display_name,
        did=body.did,
        password=body.password,
    )


@router.get("/learners/{learner_id}", response_model=LearnerOut)
def get_learner(session: DbSession, principal: Reader, learner_id: uuid.UUID) -> object:
    return service.get_learner(session, institution_id=principal.tenant, learner_id=learner_id)


@router.put("/learners/{learner_id}/identity-assurance", response_model=LearnerOut)
def set_identity_assurance(
    session: DbSession, principal: PeopleManager, learner_id: uuid.UUID, body: IdentityAssuranceIn
) -> object:
    return service.set_identity_assurance(
        session, actor=principal, learner_id=learner_id, level=body.level
    )


@router.post("/learners/{learner_id}/revoke", response_model=LearnerOut)
def revoke_learner(
    session: DbSession, principal: PeopleManager, learner_id: uuid.UUID, body: ReasonIn
) -> object:
    return service.revoke_learner(
        session,
        actor=principal,
        institution_id=principal.tenant,
        learner_id=learner_id,
        reason=body.reason,
    )


@router.get("/staff", response_model=Page[StaffOut])
def list_staff(session: DbSession, principal: Admin, page: PageDep) -> object:
    rows, total = service.list_staff(session, institution_id=principal.tenant, page=page)
    return Page[StaffOut].of([StaffOut.model_validate(r) for r in rows], total=total, page=page)


@router.post("/staff", response_model=StaffOut, status_code=status.HTTP_201_CREATED)
def create_staff(session: DbSession, principal: Admin, body: StaffIn) -> object:
    return service.create_staff_member(
        session,
        actor=principal,
        institution_id=principal.tenant,
        email=body.email,
        display_name=body.display_name,
        roles=body.roles,
        password=body.password,
    )


@router.get("/tokens", response_model=list[ApiTokenOut])
def list_tokens(session: DbSession, principal: Admin) -> object:
    return service.list_api_tokens(session, institution_id=principal.tenant)


@router.post("/tokens", response_model=ApiTokenCreated, status_code=status.HTTP_201_CREATED)
def create_token(session: DbSession, principal: Admin, body: ApiTokenIn) -> object:
    secret, token = service.create_api_token(
        session,
        actor=principal,
        institution_id=principal.tenant,
        staff_member_id=body.staff_member_id,
        name=body.name,
        scopes=body.scopes,
        expires_at=body.expires_at,
    )
    return ApiTokenCreated(**ApiTokenOut.model_validate(token).model_dump(), token=secret)


@router.delete("/tokens/{token_id}", response_model=ApiTokenOut)
def revoke_token(session: DbSession, principal: Admin, token_id: uuid.UUID) -> object:
    return service.revoke_api_token(
        session, actor=principal, institution_id=principal.tenant, token_id=token_id
    )
