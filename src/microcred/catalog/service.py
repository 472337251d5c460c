"""Catalog rules: achievements (micro-credentials), their skills and result descriptions."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from microcred.catalog import esco
from microcred.catalog import repository as repo

# The skills framework's operations live in framework.py; routes and other contexts reach them
# here, like every other catalog operation.
from microcred.catalog.framework import (
    FrameworkImport,
    all_framework_skills,
    framework_skills,
    framework_version,
    get_occupation,
    import_esco,
    load_bundled_framework,
    search_framework_skills,
    search_occupations,
)
from microcred.catalog.models import Achievement, ResultDescription, SkillAlignment
from microcred.catalog.schemas import (
    AchievementIn,
    AchievementUpdate,
    AlignmentIn,
    ResultDescriptionIn,
)
from microcred.kit import audit, jobs
from microcred.kit.errors import Conflict, InvalidInput, NotFound
from microcred.kit.pagination import PageRequest
from microcred.kit.principal import Principal

__all__ = [
    "DELIVERY_MODES",
    "FrameworkImport",
    "achievements_by_keys",
    "all_framework_skills",
    "create_achievement",
    "ensure_result_descriptions",
    "framework_skills",
    "framework_version",
    "get_achievement",
    "get_occupation",
    "import_esco",
    "institution_achievements",
    "list_achievements",
    "load_bundled_framework",
    "prerequisite_ids",
    "prerequisites_of",
    "published_achievement",
    "retire_achievement",
    "search_framework_skills",
    "search_occupations",
    "set_prerequisites",
    "snapshot",
    "update_achievement",
]

DELIVERY_MODES = ("self-paced", "scheduled", "blended")
CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_COST = Decimal("10000000")


# The knowledge base (the ask context) keeps a page per achievement; after commit, this job
# re-reads the catalogue. Named, not imported: ask depends on the catalogue, not the reverse.
SYNC_KNOWLEDGE_JOB = "ask.sync_catalogue"


def _catalogue_changed(session: Session, institution_id: uuid.UUID) -> None:
    jobs.enqueue(session, SYNC_KNOWLEDGE_JOB, institution_id=str(institution_id))


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
        "cost": str(achievement.cost) if achievement.cost is not None else None,
        "currency": achievement.currency,
        "delivery": achievement.delivery,
        "endorsements": list(achievement.endorsements or []),
    }


def _state(session: Session, achievement: Achievement) -> dict[str, Any]:
    """The snapshot plus the prerequisites (a query: they are not a relationship)."""
    found = repo.prerequisites_of_achievements(session, achievement_ids=[achievement.id])
    return {**snapshot(achievement), "prerequisites": sorted(str(p) for p in found[achievement.id])}


def _check_offer(cost: Decimal | None, currency: str | None, delivery: str | None) -> None:
    """What a learner weighs when choosing. The API's schemas check the same, but SQLite has no
    CHECK constraint for these columns (see the model), so the service is the last guard."""
    if cost is not None and not (0 <= cost < MAX_COST):
        raise InvalidInput(f"cost: must be at least 0 and below {MAX_COST}")
    if currency is not None and not CURRENCY.match(currency):
        raise InvalidInput("currency: an ISO 4217 code of three capital letters, such as EUR")
    if cost is not None and cost > 0 and currency is None:
        raise InvalidInput("currency: required when the achievement has a cost")
    if currency is not None and cost is None:
        raise InvalidInput("cost: required with a currency (or leave both empty)")
    if delivery is not None and delivery not in DELIVERY_MODES:
        raise InvalidInput(f"delivery: one of {', '.join(DELIVERY_MODES)}")


def _endorsements(items: Iterable[str]) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for position, item in enumerate(items):
        name = " ".join(item.split())
        if not name or len(name) > 200:
            raise InvalidInput(f"endorsements[{position}]: a name of 1 to 200 characters")
        if name.casefold() in seen:
            raise InvalidInput(f"endorsements[{position}]: {name!r} listed twice")
        seen.add(name.casefold())
        out.append(name)
    return out


def _apply_prerequisites(
    session: Session, *, achievement: Achievement, wanted: Iterable[uuid.UUID]
) -> bool:
    """Replace the achievement's prerequisites; False when they are already these."""
    ids = list(dict.fromkeys(wanted))
    if achievement.id in ids:
        raise InvalidInput("prerequisites: an achievement cannot be its own prerequisite")
    institution_id = achievement.institution_id
    found = repo.achievements_by_ids(session, institution_id=institution_id, ids=ids)
    unknown = [str(i) for i in ids if i not in found]
    if unknown:
        # The same words for another institution's achievement as for none at all: a tenant
        # must not learn which ids exist elsewhere.
        raise InvalidInput(
            f"prerequisites: not an achievement of this institution: {', '.join(unknown)}"
        )
    current = set(
        repo.prerequisites_of_achievements(session, achievement_ids=[achievement.id])[
            achievement.id
        ]
    )
    if set(ids) == current:
        return False
    retired = [found[i].name for i in ids if i not in current and found[i].status == "retired"]
    if retired:
        raise Conflict(f"prerequisites: {retired[0]!r} is retired and cannot become one")
    # Imported here: the planner module brings NumPy and SciPy, which nothing else on the
    # catalog's paths (the import-esco command, every page) needs.
    from microcred.learning.planner import find_cycle

    graph = prerequisites_of(session, institution_id=institution_id)
    graph[achievement.id] = set(ids)
    cycle = find_cycle({str(k): {str(v) for v in vs} for k, vs in graph.items()})
    if cycle:
        # Start the loop at the achievement being edited: that is the one the person looks at.
        ring = [uuid.UUID(c) for c in cycle[:-1]]
        if achievement.id in ring:
            start = ring.index(achievement.id)
            ring = ring[start:] + ring[:start]
        cycle_ids = [*ring, ring[0]]
        names = repo.achievements_by_ids(session, institution_id=institution_id, ids=cycle_ids)
        path = " → ".join(names[c].name if c in names else str(c) for c in cycle_ids)
        raise Conflict(f"prerequisites: that would make a cycle: {path} (each needs the next)")
    repo.replace_prerequisites(session, achievement_id=achievement.id, prerequisite_ids=ids)
    return True


def _alignments(session: Session, items: Sequence[AlignmentIn]) -> list[SkillAlignment]:
    out: list[SkillAlignment] = []
    seen: set[str] = set()
    # Labels come from the imported framework first (any of its skills), then from the
    # digital-skills list that ships with the package, for a platform not yet imported.
    imported = framework_skills(
        session, uris=[str(i.target_url) for i in items if i.target_framework == "ESCO"]
    )
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
            framework_skill = imported.get(url)
            skill = known.get(url)
            if framework_skill is not None:
                name = name or framework_skill.label
            name = name or (skill.label if skill else None)
            if name is None:
                raise InvalidInput(
                    f"alignments[{position}]: {url} is not a skill of the imported framework; "
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
        cost=data.cost,
        currency=data.currency,
        delivery=data.delivery,
        endorsements=_endorsements(data.endorsements),
        alignments=_alignments(session, data.alignments),
        result_descriptions=_result_descriptions(data.result_descriptions),
    )
    _check_offer(achievement.cost, achievement.currency, achievement.delivery)
    session.add(achievement)
    session.flush()
    if data.prerequisites:
        _apply_prerequisites(session, achievement=achievement, wanted=data.prerequisites)
    audit.record(
        session,
        actor=actor,
        action="achievement.create",
        subject_type="achievement",
        subject_id=achievement.id,
        institution_id=institution_id,
        after=_state(session, achievement),
    )
    _catalogue_changed(session, institution_id)
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
    """Change an achievement. A change to what its credentials attest (names, criteria, skills,
    results ...) bumps its version; credentials already issued keep theirs. The offer (cost,
    currency, delivery, endorsements) and the prerequisites are not in any credential, so they
    change without a new version, audited all the same."""
    actor.require_role("issuer")
    achievement = get_achievement(
        session, institution_id=institution_id, achievement_id=achievement_id
    )
    if achievement.status == "retired":
        raise Conflict("a retired achievement cannot change")
    changes = data.model_dump(exclude_unset=True)
    if not changes:
        raise InvalidInput("nothing to change")
    # Checked before anything is assigned, so a refusal leaves the achievement untouched.
    offer = {
        key: changes[key] if key in changes else getattr(achievement, key)
        for key in ("cost", "currency", "delivery")
    }
    _check_offer(offer["cost"], offer["currency"], offer["delivery"])
    before = _state(session, achievement)
    attested = False
    for key in ("name", "description", "criteria_narrative", "hours", "validity_months"):
        if key in changes:
            setattr(achievement, key, changes[key])
            attested = True
    for key in ("criteria_url", "image_url"):
        if key in changes:
            value = getattr(data, key)
            setattr(achievement, key, str(value) if value else None)
            attested = True
    for key in ("cost", "currency", "delivery"):
        if key in changes:
            setattr(achievement, key, changes[key])
    if "endorsements" in changes:
        achievement.endorsements = _endorsements(data.endorsements or [])
    if data.alignments is not None:
        achievement.alignments.clear()
        session.flush()
        achievement.alignments.extend(_alignments(session, data.alignments))
        attested = True
    if data.result_descriptions is not None:
        achievement.result_descriptions.clear()
        session.flush()
        achievement.result_descriptions.extend(_result_descriptions(data.result_descriptions))
        attested = True
    if data.prerequisites is not None:
        _apply_prerequisites(session, achievement=achievement, wanted=data.prerequisites)
    if attested:
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
        after=_state(session, achievement),
    )
    _catalogue_changed(session, institution_id)
    return achievement


def set_prerequisites(
    session: Session,
    *,
    actor: Principal,
    institution_id: uuid.UUID,
    achievement_id: uuid.UUID,
    prerequisite_ids: Iterable[uuid.UUID],
) -> Achievement:
    """Replace what a learner should hold before this achievement (same institution only; no
    cycles). Not in any credential, so no new version; audited when something changed."""
    actor.require_role("issuer")
    achievement = get_achievement(
        session, institution_id=institution_id, achievement_id=achievement_id
    )
    if achievement.status == "retired":
        raise Conflict("a retired achievement cannot change")
    before = _state(session, achievement)
    if _apply_prerequisites(session, achievement=achievement, wanted=prerequisite_ids):
        audit.record(
            session,
            actor=actor,
            action="achievement.prerequisites",
            subject_type="achievement",
            subject_id=achievement.id,
            institution_id=institution_id,
            before={"prerequisites": before["prerequisites"]},
            after={"prerequisites": _state(session, achievement)["prerequisites"]},
        )
        _catalogue_changed(session, institution_id)
    return achievement


def prerequisites_of(
    session: Session, *, institution_id: uuid.UUID
) -> dict[uuid.UUID, set[uuid.UUID]]:
    """Every achievement of the institution (retired ones too) with the set it needs: the
    planner's graph."""
    graph: dict[uuid.UUID, set[uuid.UUID]] = {}
    for achievement_id, prerequisite_id in repo.prerequisite_edges(
        session, institution_id=institution_id
    ):
        needs = graph.setdefault(achievement_id, set())
        if prerequisite_id is not None:
            needs.add(prerequisite_id)
    return graph


def prerequisite_ids(
    session: Session, *, achievement_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Each achievement's prerequisites, by the prerequisites' names (for display)."""
    return repo.prerequisites_of_achievements(session, achievement_ids=achievement_ids)


def institution_achievements(session: Session, *, institution_id: uuid.UUID) -> list[Achievement]:
    """All of the institution's achievements by name (the console's prerequisite choices)."""
    return repo.institution_achievements(session, institution_id=institution_id)


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
    _catalogue_changed(session, institution_id)
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
    before = _state(session, achievement)
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
        after=_state(session, achievement),
        reason="result descriptions for the assessment",
    )
    _catalogue_changed(session, institution_id)
    return achievement
