"""Every query of the identity context. Tenant data is always looked up with its institution."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from microcred.identity.models import ApiToken, Institution, Learner, SignInSession, StaffMember
from microcred.kit.pagination import PageRequest, fetch_page


def institution_by_id(session: Session, institution_id: uuid.UUID) -> Institution | None:
    return session.get(Institution, institution_id)


def institution_by_slug(session: Session, slug: str) -> Institution | None:
    return session.scalar(select(Institution).where(Institution.slug == slug))


def all_institutions(session: Session) -> Sequence[Institution]:
    return session.scalars(select(Institution).order_by(Institution.slug)).all()


def staff_by_email(
    session: Session, *, institution_id: uuid.UUID, email: str
) -> StaffMember | None:
    return session.scalar(
        select(StaffMember).where(
            StaffMember.institution_id == institution_id, StaffMember.email == email
        )
    )


def staff_by_id(
    session: Session, *, institution_id: uuid.UUID, staff_id: uuid.UUID
) -> StaffMember | None:
    return session.scalar(
        select(StaffMember).where(
            StaffMember.institution_id == institution_id, StaffMember.id == staff_id
        )
    )


def learner_by_email(session: Session, *, institution_id: uuid.UUID, email: str) -> Learner | None:
    return session.scalar(
        select(Learner).where(Learner.institution_id == institution_id, Learner.email == email)
    )


def learner_by_id(
    session: Session, *, institution_id: uuid.UUID, learner_id: uuid.UUID
) -> Learner | None:
    return session.scalar(
        select(Learner).where(Learner.institution_id == institution_id, Learner.id == learner_id)
    )


def learners_by_emails(
    session: Session, *, institution_id: uuid.UUID, emails: Sequence[str]
) -> dict[str, Learner]:
    found: dict[str, Learner] = {}
    unique = list(dict.fromkeys(emails))
    for start in range(0, len(unique), 1000):
        chunk = unique[start : start + 1000]
        rows = session.scalars(
            select(Learner).where(
                Learner.institution_id == institution_id, Learner.email.in_(chunk)
            )
        )
        found.update((learner.email, learner) for learner in rows)
    return found


def page_learners(
    session: Session, *, institution_id: uuid.UUID, page: PageRequest
) -> tuple[Sequence[Learner], int]:
    return fetch_page(
        session,
        Learner,
        where=[Learner.institution_id == institution_id],
        order_by=[Learner.created_at, Learner.id],
        page=page,
    )


def page_staff(
    session: Session, *, institution_id: uuid.UUID, page: PageRequest
) -> tuple[Sequence[StaffMember], int]:
    return fetch_page(
        session,
        StaffMember,
        where=[StaffMember.institution_id == institution_id],
        order_by=[StaffMember.created_at, StaffMember.id],
        page=page,
    )


def sign_in_session_by_hash(session: Session, token_hash: str) -> SignInSession | None:
    return session.scalar(select(SignInSession).where(SignInSession.token_hash == token_hash))


def api_token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))


def api_token_by_id(
    session: Session, *, institution_id: uuid.UUID, token_id: uuid.UUID
) -> ApiToken | None:
    return session.scalar(
        select(ApiToken).where(ApiToken.institution_id == institution_id, ApiToken.id == token_id)
    )


def api_tokens(session: Session, *, institution_id: uuid.UUID) -> Sequence[ApiToken]:
    return session.scalars(
        select(ApiToken)
        .where(ApiToken.institution_id == institution_id)
        .order_by(ApiToken.created_at)
    ).all()
