"""JSON routes of the assessment context under /api/v1: authoring and review."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from microcred.assessment import service
from microcred.assessment.schemas import (
    BankTransfer,
    FlagOut,
    FlagReviewIn,
    ItemIn,
    ItemOut,
    PolicyIn,
    PolicyOut,
    ProjectBriefIn,
    ProjectBriefOut,
    RegradeIn,
    SubmissionOut,
    SubmissionReviewIn,
)
from microcred.identity.deps import Assessor, CatalogEditor, Reader
from microcred.identity.schemas import ReasonIn
from microcred.kit.pagination import Page
from microcred.kit.web.deps import DbSession, PageDep, SettingsDep

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


@router.get("/achievements/{achievement_id}/items/export")
def export_bank(session: DbSession, principal: Reader, achievement_id: uuid.UUID) -> object:
    """The active item bank as `microcred-items/1` JSON (keys included: staff only)."""
    return service.export_bank(
        session, institution_id=principal.tenant, achievement_id=achievement_id
    )


@router.post(
    "/achievements/{achievement_id}/items/import",
    response_model=list[ItemOut],
    status_code=status.HTTP_201_CREATED,
)
def import_bank(
    session: DbSession, principal: CatalogEditor, achievement_id: uuid.UUID, body: BankTransfer
) -> object:
    """Add a bank's items, all or none; problems are listed by item index."""
    return service.import_bank(
        session,
        actor=principal,
        institution_id=principal.tenant,
        achievement_id=achievement_id,
        data=body,
    )


@router.post("/responses/{response_id}/regrade")
def regrade_response(
    session: DbSession,
    settings: SettingsDep,
    principal: Assessor,
    response_id: uuid.UUID,
    body: RegradeIn,
) -> dict[str, object]:
    """Override the automatic grade of an answer; the attempt's result is recomputed."""
    attempt = service.regrade_response(
        session,
        actor=principal,
        settings=settings,
        institution_id=principal.tenant,
        response_id=response_id,
        correct=body.correct,
        note=body.note,
    )
    return {
        "attempt_id": str(attempt.id),
        "state": attempt.state,
        "theta": attempt.theta,
        "standard_error": attempt.standard_error,
        "decision": attempt.decision_reason,
        "award_id": str(attempt.award_id) if attempt.award_id else None,
    }


@router.put("/achievements/{achievement_id}/project", response_model=ProjectBriefOut)
def set_brief(
    session: DbSession, principal: CatalogEditor, achievement_id: uuid.UUID, body: ProjectBriefIn
) -> object:
    """The project an achievement asks for and the rubric assessors score it with."""
    return service.set_brief(
        session,
        actor=principal,
        institution_id=principal.tenant,
        achievement_id=achievement_id,
        data=body,
    )


@router.get("/achievements/{achievement_id}/project", response_model=ProjectBriefOut)
def get_brief(session: DbSession, principal: Reader, achievement_id: uuid.UUID) -> object:
    return service.get_brief(
        session, institution_id=principal.tenant, achievement_id=achievement_id
    )


@router.get("/project-submissions", response_model=Page[SubmissionOut])
def submissions_waiting(session: DbSession, principal: Reader, page: PageDep) -> object:
    """Projects waiting for an assessor, oldest first."""
    rows, total = service.submissions_waiting(session, institution_id=principal.tenant, page=page)
    return Page[SubmissionOut].of(
        [SubmissionOut.model_validate(r) for r in rows], total=total, page=page
    )


@router.get("/project-submissions/{submission_id}", response_model=SubmissionOut)
def get_submission(session: DbSession, principal: Reader, submission_id: uuid.UUID) -> object:
    return service.get_submission(
        session, institution_id=principal.tenant, submission_id=submission_id
    )


@router.post("/project-submissions/{submission_id}/review", response_model=SubmissionOut)
def review_submission(
    session: DbSession,
    settings: SettingsDep,
    principal: Assessor,
    submission_id: uuid.UUID,
    body: SubmissionReviewIn,
) -> object:
    """Score every rubric criterion; at the pass mark the project is accepted."""
    return service.review_submission(
        session,
        actor=principal,
        settings=settings,
        institution_id=principal.tenant,
        submission_id=submission_id,
        levels=body.levels,
        feedback=body.feedback,
    )
