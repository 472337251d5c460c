"""Every query of the catalog context: achievements always within one institution; the skills
framework (ESCO) is shared by every institution."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from microcred.catalog.models import (
    Achievement,
    AchievementPrerequisite,
    FrameworkSkill,
    Occupation,
    OccupationSkill,
    SkillHierarchy,
)
from microcred.kit.db import insert_rows
from microcred.kit.pagination import PageRequest, fetch_page

# Bound parameters per IN list: SQLite allows 32,766 and PostgreSQL 65,535 in one statement.
_IN_CHUNK = 5_000


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


def achievements_by_ids(
    session: Session, *, institution_id: uuid.UUID, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Achievement]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    rows = session.scalars(
        select(Achievement).where(
            Achievement.institution_id == institution_id, Achievement.id.in_(wanted)
        )
    )
    return {row.id: row for row in rows}


def institution_achievements(session: Session, *, institution_id: uuid.UUID) -> list[Achievement]:
    """Every achievement of the institution by name: the console's prerequisite choices."""
    return list(
        session.scalars(
            select(Achievement)
            .where(Achievement.institution_id == institution_id)
            .order_by(Achievement.name, Achievement.id)
        )
    )


def prerequisite_edges(
    session: Session, *, institution_id: uuid.UUID
) -> list[tuple[uuid.UUID, uuid.UUID | None]]:
    """Each achievement of the institution with each of its prerequisites (None when it has
    none), so achievements without prerequisites appear too."""
    stmt = (
        select(Achievement.id, AchievementPrerequisite.prerequisite_id)
        .outerjoin(
            AchievementPrerequisite, AchievementPrerequisite.achievement_id == Achievement.id
        )
        .where(Achievement.institution_id == institution_id)
    )
    return [(a, p) for a, p in session.execute(stmt)]


def prerequisites_of_achievements(
    session: Session, *, achievement_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    wanted = list(set(achievement_ids))
    found: dict[uuid.UUID, list[uuid.UUID]] = {a: [] for a in wanted}
    if not wanted:
        return found
    stmt = (
        select(AchievementPrerequisite.achievement_id, AchievementPrerequisite.prerequisite_id)
        .join(Achievement, Achievement.id == AchievementPrerequisite.prerequisite_id)
        .where(AchievementPrerequisite.achievement_id.in_(wanted))
        .order_by(Achievement.name, Achievement.id)
    )
    for achievement_id, prerequisite_id in session.execute(stmt):
        found[achievement_id].append(prerequisite_id)
    return found


def replace_prerequisites(
    session: Session, *, achievement_id: uuid.UUID, prerequisite_ids: Iterable[uuid.UUID]
) -> None:
    session.flush()
    session.execute(
        delete(AchievementPrerequisite).where(
            AchievementPrerequisite.achievement_id == achievement_id
        )
    )
    for prerequisite_id in prerequisite_ids:
        session.add(
            AchievementPrerequisite(achievement_id=achievement_id, prerequisite_id=prerequisite_id)
        )
    session.flush()


# --- the skills framework ---------------------------------------------------------------------


def framework_version(session: Session) -> str | None:
    return session.scalar(select(FrameworkSkill.framework_version).limit(1))


def delete_framework(session: Session) -> None:
    """Empty the framework tables, referencing tables first (their foreign keys cascade, but
    emptying them explicitly spares PostgreSQL a cascade per deleted concept)."""
    session.flush()
    for model in (OccupationSkill, SkillHierarchy, Occupation, FrameworkSkill):
        session.execute(delete(model))


def insert_framework(
    session: Session,
    *,
    skills: Sequence[dict[str, Any]],
    occupations: Sequence[dict[str, Any]],
    relations: Sequence[dict[str, Any]],
    hierarchy: Sequence[dict[str, Any]],
) -> None:
    """Bulk insert (COPY on PostgreSQL): concepts before the relations that reference them."""
    insert_rows(session, FrameworkSkill, skills)
    insert_rows(session, Occupation, occupations)
    insert_rows(session, OccupationSkill, relations)
    insert_rows(session, SkillHierarchy, hierarchy)


def skill_names(
    session: Session, *, include_groups: bool
) -> list[tuple[str, str, list[Any], str, str]]:
    stmt = select(
        FrameworkSkill.uri,
        FrameworkSkill.label,
        FrameworkSkill.alt_labels,
        FrameworkSkill.description,
        FrameworkSkill.skill_type,
        FrameworkSkill.is_group,
    )
    if not include_groups:
        stmt = stmt.where(FrameworkSkill.is_group.is_(False))
    return [
        (uri, label, alt or [], description, "group" if is_group else skill_type)
        for uri, label, alt, description, skill_type, is_group in session.execute(stmt)
    ]


def occupation_names(session: Session) -> list[tuple[str, str, list[Any], str, str]]:
    stmt = select(
        Occupation.uri,
        Occupation.label,
        Occupation.alt_labels,
        Occupation.description,
        Occupation.isco_group,
    )
    return [
        (uri, label, alt or [], description, isco)
        for uri, label, alt, description, isco in session.execute(stmt)
    ]


def occupation(session: Session, *, uri: str) -> Occupation | None:
    return session.get(Occupation, uri)


def occupation_skills(session: Session, *, uri: str) -> list[tuple[FrameworkSkill, str]]:
    stmt = (
        select(FrameworkSkill, OccupationSkill.relation)
        .join(OccupationSkill, OccupationSkill.skill_uri == FrameworkSkill.uri)
        .where(OccupationSkill.occupation_uri == uri)
        .order_by(FrameworkSkill.label, FrameworkSkill.uri)
    )
    return [(skill, relation) for skill, relation in session.execute(stmt)]


def framework_skills(session: Session, *, uris: set[str]) -> dict[str, FrameworkSkill]:
    found: dict[str, FrameworkSkill] = {}
    wanted = sorted(uris)
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        for skill in session.scalars(select(FrameworkSkill).where(FrameworkSkill.uri.in_(chunk))):
            found[skill.uri] = skill
    return found


def all_framework_skills(session: Session) -> list[FrameworkSkill]:
    return list(
        session.scalars(
            select(FrameworkSkill)
            .where(FrameworkSkill.is_group.is_(False))
            .order_by(FrameworkSkill.uri)
        )
    )
