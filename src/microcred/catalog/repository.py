"""Every query of the catalog context, always within one institution."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from microcred.catalog.models import Achievement
from microcred.kit.pagination import PageRequest, fetch_page


def achievement_by_id(
    session: Session, *, institution_id: uuid.UUID, achievement_id: uuid.UUID
) -> Achievement | None:
    return session.scalar(
        select(Achievement).where(
            Achievement.institution_id == institution_id, Achievement.id == achievement_id
        )
    )


def achievement_by_slug(
    session: Session, *, institution_id: uuid.UUID, slug: str
) -> Achievement | None:
    return session.scalar(
        select(Achievement).where(
            Achievement.institution_id == institution_id, Achievement.slug == slug
        )
    )


def achievements_by_keys(
    session: Session, *, institution_id: uuid.UUID, keys: Sequence[str]
) -> dict[str, Achievement]:
    """Look up by slug or by id (as text); the bulk issuer names achievements either way."""
    wanted = set(keys)
    ids = []
    for key in wanted:
        try:
            ids.append(uuid.UUID(key))
        except ValueError:
            continue
    rows = session.scalars(
        select(Achievement).where(
            Achievement.institution_id == institution_id,
            Achievement.slug.in_(wanted) | Achievement.id.in_(ids),
        )
    )
    found: dict[str, Achievement] = {}
    for row in rows:
        found[row.slug] = row
        found[str(row.id)] = row
    return found


def page_achievements(
    session: Session, *, institution_id: uuid.UUID, page: PageRequest, status: str | None
) -> tuple[Sequence[Achievement], int]:
    where = [Achievement.institution_id == institution_id]
    if status:
        where.append(Achievement.status == status)
    return fetch_page(
        session, Achievement, where=where, order_by=[Achievement.name, Achievement.id], page=page
    )


def published_achievement(session: Session, *, achievement_id: uuid.UUID) -> Achievement | None:
    """Achievement definitions are public (their URL is in every credential): no tenant filter."""
    return session.get(Achievement, achievement_id)
