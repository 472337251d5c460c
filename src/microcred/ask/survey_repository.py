"""Every query of stakeholder surveys (the survey half of the ask context's repository).

Kept apart from the knowledge base's queries so the two halves of `ask` can change
independently; the rule is the same: `select(...)` lives only in a repository module.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from microcred.ask.models import Survey, SurveyQuestion, SurveyResponse


def survey(session: Session, *, institution_id: uuid.UUID, survey_id: uuid.UUID) -> Survey | None:
    return session.scalar(
        select(Survey).where(Survey.institution_id == institution_id, Survey.id == survey_id)
    )


def survey_by_slug(session: Session, *, slug: str) -> Survey | None:
    return session.scalar(select(Survey).where(Survey.slug == slug))


def surveys(session: Session, *, institution_id: uuid.UUID) -> Sequence[Survey]:
    return session.scalars(
        select(Survey)
        .where(Survey.institution_id == institution_id)
        .order_by(Survey.created_at.desc(), Survey.id)
    ).all()


def all_surveys(session: Session) -> Sequence[Survey]:
    """Every institution's surveys: only the retention job needs this."""
    return session.scalars(select(Survey).order_by(Survey.id)).all()


def question(
    session: Session, *, institution_id: uuid.UUID, question_id: uuid.UUID
) -> SurveyQuestion | None:
    return session.scalar(
        select(SurveyQuestion)
        .join(Survey, Survey.id == SurveyQuestion.survey_id)
        .where(Survey.institution_id == institution_id, SurveyQuestion.id == question_id)
    )


def response_counts(
    session: Session, *, survey_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int]]:
    """(started, submitted) per survey; a survey without responses is absent."""
    if not survey_ids:
        return {}
    rows = session.execute(
        select(SurveyResponse.survey_id, SurveyResponse.status, func.count())
        .where(SurveyResponse.survey_id.in_(survey_ids))
        .group_by(SurveyResponse.survey_id, SurveyResponse.status)
    ).all()
    out: dict[uuid.UUID, tuple[int, int]] = {}
    for survey_id, status, count in rows:
        started, submitted = out.get(survey_id, (0, 0))
        if status == "submitted":
            submitted += int(count)
        started += int(count)
        out[survey_id] = (started, submitted)
    return out


def responses(session: Session, *, survey_id: uuid.UUID) -> Sequence[SurveyResponse]:
    return session.scalars(
        select(SurveyResponse)
        .where(SurveyResponse.survey_id == survey_id)
        .order_by(SurveyResponse.started_at, SurveyResponse.id)
    ).all()


def response_by_token_hash(
    session: Session, *, survey_id: uuid.UUID, token_hash: str
) -> SurveyResponse | None:
    return session.scalar(
        select(SurveyResponse).where(
            SurveyResponse.survey_id == survey_id, SurveyResponse.token_hash == token_hash
        )
    )


def mark_submitted(session: Session, *, response_id: uuid.UUID, at: dt.datetime) -> bool:
    """Flip a response from started to submitted; False when it was already submitted.

    One conditional UPDATE, so two concurrent submits with the same token cannot both win."""
    result = session.execute(
        update(SurveyResponse)
        .where(SurveyResponse.id == response_id, SurveyResponse.status == "started")
        .values(status="submitted", submitted_at=at)
        .execution_options(synchronize_session="fetch")
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


def delete_expired_responses(
    session: Session,
    *,
    survey_id: uuid.UUID,
    retention_cutoff: dt.datetime,
    abandoned_cutoff: dt.datetime,
) -> int:
    """Delete a survey's responses started before `retention_cutoff`, and those never
    submitted that were started before `abandoned_cutoff`; answers go with them (ON DELETE
    CASCADE). Returns how many responses were deleted."""
    result = session.execute(
        delete(SurveyResponse)
        .where(
            SurveyResponse.survey_id == survey_id,
            or_(
                SurveyResponse.started_at < retention_cutoff,
                (SurveyResponse.status == "started")
                & (SurveyResponse.started_at < abandoned_cutoff),
            ),
        )
        .execution_options(synchronize_session=False)
    )
    assert isinstance(result, CursorResult)
    return int(result.rowcount)
