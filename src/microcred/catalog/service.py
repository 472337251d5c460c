"""Catalog rules: achievements (micro-credentials), their skills and result descriptions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from microcred.catalog import esco
from microcred.catalog import repository as repo
from microcred.catalog.models import Achievement, ResultDescription, SkillAlignment
from microcred.catalog.schemas import (
    AchievementIn,
    AchievementUpdate,
    AlignmentIn,
    ResultDescriptionIn,
)
from microcred.kit import audit
from microcred.kit.errors import Conflict, InvalidInput, NotFound
from microcred.kit.pagination import PageRequest
from microcred.kit.principal import Principal


def snapshot(achievement: Achievement) -> dict[str, Any]:
    """What the audit log keeps of an achievement version."""
    return {
        "slug": achievement.slug,
        "version": achievement.version,
        "name": achievement.name,
        "description": achievement.description,
        "criteria_narrative": achievement.criteria_narrative,
        "criteria_url": achievement.criteria_url,
        "image_url": achievement.image_url,
        "hours": str(achievement.hours) if achievement.hours is not None else None,
        "status": achievement.status,
        "validity_months": achievement.validity_months,
        "alignments": [a.target_url for a in achievement.alignments],
        "result_descriptions": [r.key for r in achievement.result_descriptions],
    }


def _alignments(items: Sequence[AlignmentIn]) -> list[SkillAlignment]:
    out: list[SkillAlignment] = []
    seen: set[str] = set()
    known = esco.bundled_skills()
    for position, item in enumerate(items):
        url = str(item.target_url)
        if url in seen:
            raise InvalidInput(f"alignments[{position}]: skill {url} listed twice")
        seen.add(url)
        name = item.target_name
        code: str | None = None
        if item.target_framework == "ESCO":
            if not esco.ESCO_SKILL_URI.match(url):
                raise InvalidInput(
                    f"alignments[{position}]: {url} is not an ESCO skill URI "
                    "(http://data.europa.eu/esco/skill/<uuid>)"
                )
            code = url
            skill = known.get(url)
            name = name or (skill.label if skill else None)
            if name is None:
                raise InvalidInput(
                    f"alignments[{position}]: {url} is not in the bundled ESCO subset; "
                    "give target_name"
                )
        elif not name:
            raise InvalidInput(f"alignments[{position}]: target_name is required")
        out.append(
            SkillAlignment(
                position=position,
                target_url=url,
                target_name=name,
                target_description=item.target_description,
                target_framework=item.target_framework,
                target_code=code,
            )
        )
    return out


def _result_descriptions(items: Sequence[ResultDescriptionIn]) -> list[ResultDescription]:
    keys = [i.key for i in items]
    if len(set(keys)) != len(keys):
        raise InvalidInput("result_descriptions: keys must be unique")
    return [ResultDescription(position=p, **item.model_dump()) for p, item in enumerate(items)]


def create_achievement(
    session: Session, *, actor: Principal, institution_id: uuid.UUID, data: AchievementIn
) -> Achievement:
    actor.require_role("issuer")
    if repo.achievement_by_slug(session, institution_id=institution_id, slug=data.slug):
        raise Conflict(f"an achievement with slug {data.slug!r} exists")
    achievement = Achievement(
        institution_id=institution_id,
        slug=data.slug,
        name=data.name,
        description=data.description,
        criteria_narrative=data.criteria_narrative,
        criteria_url=str(data.criteria_url) if data.criteria_url else None,
        image_url=str(data.image_url) if data.image_url else None,
        hours=data.hours,
        status_purpose=data.status_purpose,
        validity_months=data.validity_months,
        alignments=_alignments(data.alignments),
        result_descriptions=_result_descriptions(data.result_descriptions),
    )
    session.add(achievement)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="achievement.create",
        subject_type="achievement",
        subject_id=achievement.id,
        institution_id=institution_id,
        after=snapshot(achievement),
    )
    return achievement


def get_achievement(
    session: Session, *, institution_id: uuid.UUID, achievement_id: uuid.UUID
) -> Achievement:
    achievement = repo.achievement_by_id(
        session, institution_id=institution_id, achievement_id=achievement_id
    )
    if achievement is None:
        raise NotFound("no such achievement in this institution")
    return achievement


def published_achievement(session: Session, *, achievement_id: uuid.UUID) -> Achievement:
    achievement = repo.published_achievement(session, achievement_id=achievement_id)
    if achievement is None:
        raise NotFound("no such achievement")
    return achievement


def achievements_by_keys(
    session: Session, *, institution_id: uuid.UUID, keys: Sequence[str]
) -> dict[str, Achievement]:
    return repo.achievements_by_keys(session, institution_id=institution_id, keys=keys)


def list_achievements(
    session: Session, *, institution_id: uuid.UUID, page: PageRequest, status: str | None = None
) -> tuple[Sequence[Achievement], int]:
    return repo.page_achievements(session, institution_id=institution_id, page=page, status=status)


def update_achievement(
    session: Session,
    *,
    actor: Principal,
    institution_id: uuid.UUID,
    achievement_id: uuid.UUID,
    data: AchievementUpdate,
) -> Achievement:
    """Change an achievement and bump its version; credentials already issued keep theirs."""
    actor.require_role("issuer")
    achievement = get_achievement(
        session, institution_id=institution_id, achievement_id=achievement_id
    )
    if achievement.status == "retired":
        raise Conflict("a retired achievement cannot change")
    changes = data.model_dump(exclude_unset=True)
    if not changes:
        raise InvalidInput("nothing to change")
    before = snapshot(achievement)
    for key in ("name", "description", "criteria_narrative", "hours", "validity_months"):
        if key in changes:
            setattr(achievement, key, changes[key])
    for key in ("criteria_url", "image_url"):
        if key in changes:
            value = getattr(data, key)
            setattr(achievement, key, str(value) if value else None)
    if data.alignments is not None:
        achievement.alignments.clear()
        session.flush()
        achievement.alignments.extend(_alignments(data.alignments))
    if data.result_descriptions is not None:
        achievement.result_descriptions.clear()
        session.flush()
        achievement.result_descriptions.extend(_result_descriptions(data.result_descriptions))
    achievement.version += 1
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="achievement.update",
        subject_type="achievement",
        subject_id=achievement.id,
        institution_id=institution_id,
        before=before,
        after=snapshot(achievement),
    )
    return achievement


def retire_achievement(
    session: Session,
    *,
    actor: Principal,
    institution_id: uuid.UUID,
    achievement_id: uuid.UUID,
    reason: str,
) -> Achievement:
    """Stop awarding an achievement. Credentials already issued stay valid."""
    actor.require_role("issuer")
    achievement = get_achievement(
        session, institution_id=institution_id, achievement_id=achievement_id
    )
    if achievement.status == "retired":
        return achievement
    achievement.status = "retired"
    audit.record(
        session,
        actor=actor,
        action="achievement.retire",
        subject_type="achievement",
        subject_id=achievement.id,
        institution_id=institution_id,
        before={"status": "active"},
        after={"status": "retired"},
        reason=reason,
    )
    return achievement


def ensure_result_descriptions(
    session: Session,
    *,
    actor: Principal,
    institution_id: uuid.UUID,
    achievement_id: uuid.UUID,
    descriptions: Sequence[ResultDescriptionIn],
) -> Achievement:
    """Add the descriptions the achievement lacks (by key); one new version if any were added.

    Used when an assessment starts reporting results into the achievement's credentials.
    """
    achievement = get_achievement(
        session, institution_id=institution_id, achievement_id=achievement_id
    )
    present = {r.key: r for r in achievement.result_descriptions}
    for wanted in descriptions:
        have = present.get(wanted.key)
        if have is not None and (have.result_type, have.value_min, have.value_max) != (
            wanted.result_type,
            wanted.value_min,
            wanted.value_max,
        ):
            raise Conflict(
                f"the achievement already describes result {wanted.key!r} differently "
                f"({have.name}); rename or remove it before the assessment reports into it"
            )
    missing = [d for d in descriptions if d.key not in present]
    if not missing:
        return achievement
    before = snapshot(achievement)
    start = len(achievement.result_descriptions)
    achievement.result_descriptions.extend(
        ResultDescription(position=start + i, **d.model_dump()) for i, d in enumerate(missing)
    )
    achievement.version += 1
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="achievement.update",
        subject_type="achievement",
        subject_id=achievement.id,
        institution_id=institution_id,
        before=before,
        after=snapshot(achievement),
        reason="result descriptions for the assessment",
    )
    return achievement
