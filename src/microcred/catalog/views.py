"""The staff console's achievement pages (usable without JavaScript): list, create, edit (each
saved change is a new version), retire, and an ESCO skill picker that searches by label.

Forms are validated with the API's own schemas, so a page and the API accept the same things;
a refused form comes back with every field as typed and each error beside its field.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from microcred.catalog import esco, service
from microcred.catalog.models import Achievement
from microcred.catalog.schemas import AchievementIn, AchievementUpdate
from microcred.identity.deps import PagePrincipal
from microcred.identity.schemas import ReasonIn
from microcred.kit.errors import Conflict, DomainError
from microcred.kit.pagination import PageRequest
from microcred.kit.principal import Principal
from microcred.kit.web import csrf
from microcred.kit.web.deps import DbSession
from microcred.kit.web.pages import PostedFields, one, render, require_staff, undo_on_refusal
from microcred.learning import service as learning

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
SKILL_RESULTS = 20
# Fields of the achievement form, in page order; `slug` and `status_purpose` only on create.
TEXT_FIELDS = (
    "name",
    "slug",
    "description",
    "criteria_narrative",
    "criteria_url",
    "hours",
    "validity_months",
    "status_purpose",
    "cost",
    "currency",
    "delivery",
    "endorsements",
)
DELIVERY_LABELS = {
    "self-paced": "Self-paced: learners start and finish when they like",
    "scheduled": "Scheduled: sessions on fixed dates",
    "blended": "Blended: self-paced work with scheduled sessions",
}
# Fixed texts for the redirect after a change: a query parameter picks one, so a crafted link
# cannot put its own words on a console page.
NOTICES = {
    "created": "The achievement was created.",
    "saved": "Saved.",
    "unchanged": "Nothing changed, so the version stays the same.",
    "retired": "The achievement was retired; credentials already issued stay valid.",
}


# --- shared page plumbing ---------------------------------------------------------------------


def _page(
    request: Request,
    principal: Principal,
    name: str,
    context: dict[str, object],
    status_code: int = 200,
) -> Response:
    return render(request, name, context, principal=principal, status_code=status_code)


def _field_errors(exc: ValidationError) -> dict[str, str]:
    """Pydantic's errors by form field (the first per field) in page order, in words for a
    person."""
    found: dict[str, str] = {}
    for error in exc.errors():
        loc = error.get("loc") or ("form",)
        name = "skills" if loc[0] == "alignments" else str(loc[0])
        message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
        if error.get("type") in ("missing", "string_too_short") and not error.get("input"):
            message = "This is required."
        elif error.get("type") == "string_pattern_mismatch":
            # Only the slug has a pattern; say it in words rather than as a regular expression.
            message = "Use lower-case letters, digits and hyphens, starting and ending with a "
            message += "letter or digit."
        found.setdefault(name, message)
    order = [*TEXT_FIELDS, "prerequisites", "skills"]
    return dict(
        sorted(found.items(), key=lambda item: order.index(item[0]) if item[0] in order else -1)
    )


# --- forms ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SkillOption:
    uri: str
    label: str
    skill_type: str
    description: str


def _skill_results(session: Session, query: str) -> list[SkillOption]:
    """The picker's matches: the imported framework (labels and alternative labels) once one is
    imported, else the digital-skills list that ships with the package."""
    if not query:
        return []
    if service.framework_version(session) is not None:
        return [
            SkillOption(c.uri, c.label, c.kind, c.description)
            for c in service.search_framework_skills(session, query=query, limit=SKILL_RESULTS)
        ]
    return [
        SkillOption(s.uri, s.label, s.skill_type, s.description)
        for s in esco.search(query, limit=SKILL_RESULTS)
    ]


def _suggestions(request: Request, session: Session, description: str) -> list[dict[str, Any]]:
    """Skills the description reads like (the skill linker), for staff to tick or ignore."""
    if not description.strip() or service.framework_version(session) is None:
        return []
    try:
        with undo_on_refusal(session):
            return learning.suggest_alignments(
                session, settings=request.app.state.settings, text=description, limit=6
            )
    except DomainError:
        return []


def _skill_labels(achievement: Achievement | None) -> dict[str, str]:
    labels = {uri: skill.label for uri, skill in esco.bundled_skills().items()}
    if achievement is not None:
        labels.update({a.target_url: a.target_name for a in achievement.alignments})
    return labels


def _form_of(achievement: Achievement) -> dict[str, str]:
    return {
        "name": achievement.name,
        "slug": achievement.slug,
        "description": achievement.description,
        "criteria_narrative": achievement.criteria_narrative,
        "criteria_url": achievement.criteria_url or "",
        "hours": f"{achievement.hours.normalize():f}" if achievement.hours is not None else "",
        "validity_months": str(achievement.validity_months or ""),
        "status_purpose": achievement.status_purpose,
        "cost": f"{achievement.cost.normalize():f}" if achievement.cost is not None else "",
        "currency": achievement.currency or "",
        "delivery": achievement.delivery or "",
        "endorsements": "\n".join(achievement.endorsements or []),
    }


def _needs(fields: dict[str, list[str]]) -> list[str]:
    """The ticked prerequisites (achievement ids as posted), once each."""
    return list(dict.fromkeys(v.strip() for v in fields.get("prerequisite", []) if v.strip()))


def _current_needs(session: Session, achievement: Achievement | None) -> list[str]:
    if achievement is None:
        return []
    found = service.prerequisite_ids(session, achievement_ids=[achievement.id])
    return [str(i) for i in found[achievement.id]]


def _chosen(fields: dict[str, list[str]]) -> list[str]:
    """The ticked skills, once each, in the order they were ticked on the page."""
    return list(dict.fromkeys(v.strip() for v in fields.get("skill", []) if v.strip()))


def _alignments(chosen: Sequence[str], achievement: Achievement | None) -> list[dict[str, Any]]:
    """Skills as the API's alignments. One the achievement already has keeps its own name and
    framework (the API can align non-ESCO skills); a new one is an ESCO concept by URI."""
    existing = {a.target_url: a for a in achievement.alignments} if achievement else {}
    out: list[dict[str, Any]] = []
    for uri in chosen:
        have = existing.get(uri)
        if have is None:
            out.append({"target_url": uri})
        else:
            out.append(
                {
                    "target_url": have.target_url,
                    "target_name": have.target_name,
                    "target_description": have.target_description,
                    "target_framework": have.target_framework,
                }
            )
    return out


def _data(
    form: dict[str, str],
    chosen: Sequence[str],
    achievement: Achievement | None,
    needs: Sequence[str] = (),
) -> dict[str, Any]:
    """The form as the API's request body: blank optional fields are absent values."""
    data: dict[str, Any] = {
        "cost": form["cost"].strip() or None,
        # Lower case is a typing slip, not a different currency.
        "currency": form["currency"].strip().upper() or None,
        "delivery": form["delivery"].strip() or None,
        "endorsements": [
            line.strip() for line in form["endorsements"].splitlines() if line.strip()
        ],
        "prerequisites": list(needs),
        "name": form["name"].strip(),
        "description": form["description"].strip(),
        "criteria_narrative": form["criteria_narrative"].strip(),
        "criteria_url": form["criteria_url"].strip() or None,
        "hours": form["hours"].strip() or None,
        "validity_months": form["validity_months"].strip() or None,
        "alignments": _alignments(chosen, achievement),
    }
    if achievement is None:
        data["slug"] = form["slug"].strip()
        data["status_purpose"] = form["status_purpose"] or "revocation"
    return data


def _changes(
    achievement: Achievement, update: AchievementUpdate, needs_now: Sequence[str]
) -> dict[str, Any]:
    """Only what differs from the saved achievement: saving an unchanged form must not make a
    new version (each version is what credentials issued under it attest)."""
    current: dict[str, Any] = {
        "name": achievement.name,
        "description": achievement.description,
        "criteria_narrative": achievement.criteria_narrative,
        "criteria_url": achievement.criteria_url,
        "hours": achievement.hours,
        "validity_months": achievement.validity_months,
        "cost": achievement.cost,
        "currency": achievement.currency,
        "delivery": achievement.delivery,
        "endorsements": list(achievement.endorsements or []),
    }
    wanted: dict[str, Any] = {
        "name": update.name,
        "description": update.description,
        "criteria_narrative": update.criteria_narrative,
        "criteria_url": str(update.criteria_url) if update.criteria_url else None,
        "hours": update.hours,
        "validity_months": update.validity_months,
        "cost": update.cost,
        "currency": update.currency,
        "delivery": update.delivery,
        "endorsements": update.endorsements or [],
    }
    dumped = update.model_dump(mode="json")
    changes = {key: dumped[key] for key, value in wanted.items() if current[key] != value}
    skills_now = [a.target_url for a in achievement.alignments]
    skills_wanted = [str(a.target_url) for a in update.alignments or []]
    if skills_now != skills_wanted:
        changes["alignments"] = dumped["alignments"]
    if {str(p) for p in update.prerequisites or []} != set(needs_now):
        changes["prerequisites"] = dumped["prerequisites"]
    return changes


def _domain_field(exc: DomainError) -> str:
    """Which field a service refusal is about, from its message (the services name it)."""
    if exc.detail.startswith("alignments"):
        return "skills"
    for name in ("cost", "currency", "delivery", "endorsements", "prerequisites"):
        if exc.detail.startswith(name):
            return name
    if isinstance(exc, Conflict) and "slug" in exc.detail:
        return "slug"
    return "form"


def _refusal(exc: ValidationError | DomainError) -> tuple[dict[str, str], int]:
    """A refused form's errors by field, and the status to answer with."""
    if isinstance(exc, ValidationError):
        return _field_errors(exc), 422
    return {_domain_field(exc): exc.detail}, exc.status


def _form_page(
    request: Request,
    session: Session,
    staff: Principal,
    *,
    achievement: Achievement | None,
    form: dict[str, str],
    chosen: Sequence[str],
    needs: Sequence[str] | None = None,
    skill_query: str = "",
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    retire_errors: dict[str, str] | None = None,
    retire_form: dict[str, str] | None = None,
    search_pressed: bool = False,
    status_code: int = 200,
) -> Response:
    labels = _skill_labels(achievement)
    labels.update({u: k.label for u, k in service.framework_skills(session, uris=chosen).items()})
    query = skill_query.strip()[:100]
    # Enter in any field presses the form's first button, the skill search: say that nothing
    # was saved rather than silently showing the form again.
    unsaved = search_pressed and not query
    results = [s for s in _skill_results(session, query) if s.uri not in chosen]
    suggested = [
        s
        for s in _suggestions(request, session, form.get("description", ""))
        if s["uri"] not in chosen
    ]
    labels.update({s.uri: s.label for s in results})
    ticked = set(_current_needs(session, achievement) if needs is None else needs)
    # Retired achievements cannot become prerequisites; one that already is stays listed so
    # saving the form does not silently drop it.
    options = [
        (str(o.id), o.name, o.status)
        for o in service.institution_achievements(session, institution_id=staff.tenant)
        if (achievement is None or o.id != achievement.id)
        and (o.status == "active" or str(o.id) in ticked)
    ]
    return _page(
        request,
        staff,
        "console/achievement_form.html",
        {
            "a": achievement,
            "form": form,
            "chosen": [(uri, labels.get(uri, uri)) for uri in chosen],
            "options": options,
            "ticked": ticked,
            "delivery_labels": DELIVERY_LABELS,
            "skill_query": query,
            "results": results,
            "suggested": suggested,
            "searched": bool(query),
            "errors": errors or {},
            "notice": notice,
            "unsaved": unsaved,
            "retire_errors": retire_errors or {},
            "retire_form": retire_form or {},
            "next_version": achievement.version + 1 if achievement else 1,
        },
        status_code=status_code,
    )


def _notice(done: str, achievement: Achievement) -> str | None:
    notice = NOTICES.get(done)
    if notice and done in ("created", "saved", "unchanged"):
        return f"{notice} This is version {achievement.version}."
    return notice


def _editable(session: Session, staff: Principal, achievement_id: uuid.UUID) -> Achievement:
    staff.require_role("issuer")
    return service.get_achievement(
        session, institution_id=staff.tenant, achievement_id=achievement_id
    )


# --- routes -----------------------------------------------------------------------------------


@router.get("/console/achievements")
def achievements(
    request: Request,
    session: DbSession,
    principal: PagePrincipal,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    staff = require_staff(principal)
    rows, total = service.list_achievements(
        session, institution_id=staff.tenant, page=PageRequest(limit=PAGE_SIZE, offset=offset)
    )
    return _page(
        request,
        staff,
        "console/achievements.html",
        {
            "achievements": rows,
            "total": total,
            "offset": offset,
            "page_size": PAGE_SIZE,
            "notice": NOTICES.get(done),
            "can_edit": "admin" in staff.roles or "issuer" in staff.roles,
        },
    )


def _blank_form() -> dict[str, str]:
    form = dict.fromkeys(TEXT_FIELDS, "")
    form["status_purpose"] = "revocation"
    return form


@router.get("/console/achievements/new")
def new_achievement(
    request: Request,
    session: DbSession,
    principal: PagePrincipal,
    skill_query: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    staff = require_staff(principal)
    staff.require_role("issuer")
    return _form_page(
        request,
        session,
        staff,
        achievement=None,
        form=_blank_form(),
        chosen=[],
        skill_query=skill_query,
    )


@router.post("/console/achievements/new")
def create_achievement(
    request: Request, session: DbSession, principal: PagePrincipal, fields: PostedFields
) -> Response:
    staff = require_staff(principal)
    csrf.check(request, one(fields, "csrf_token"))
    staff.require_role("issuer")
    form = {name: one(fields, name) for name in TEXT_FIELDS}
    chosen = _chosen(fields)
    needs = _needs(fields)
    skill_query = one(fields, "skill_query")
    if one(fields, "action") == "search":
        return _form_page(
            request,
            session,
            staff,
            achievement=None,
            form=form,
            chosen=chosen,
            needs=needs,
            skill_query=skill_query,
            search_pressed=True,
        )
    try:
        data = AchievementIn.model_validate(_data(form, chosen, None, needs))
        with undo_on_refusal(session):
            created = service.create_achievement(
                session, actor=staff, institution_id=staff.tenant, data=data
            )
    except (ValidationError, DomainError) as exc:
        errors, status_code = _refusal(exc)
        return _form_page(
            request,
            session,
            staff,
            achievement=None,
            form=form,
            chosen=chosen,
            needs=needs,
            skill_query=skill_query,
            errors=errors,
            status_code=status_code,
        )
    return RedirectResponse(
        f"/console/achievements/{created.id}/edit?done=created", status_code=303
    )


@router.get("/console/achievements/{achievement_id}/edit")
def edit_achievement(
    request: Request,
    session: DbSession,
    principal: PagePrincipal,
    achievement_id: uuid.UUID,
    skill_query: Annotated[str, Query(max_length=100)] = "",
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    staff = require_staff(principal)
    achievement = _editable(session, staff, achievement_id)
    return _form_page(
        request,
        session,
        staff,
        achievement=achievement,
        form=_form_of(achievement),
        chosen=[a.target_url for a in achievement.alignments],
        skill_query=skill_query,
        notice=_notice(done, achievement),
    )


@router.post("/console/achievements/{achievement_id}/edit")
def update_achievement(
    request: Request,
    session: DbSession,
    principal: PagePrincipal,
    achievement_id: uuid.UUID,
    fields: PostedFields,
) -> Response:
    staff = require_staff(principal)
    csrf.check(request, one(fields, "csrf_token"))
    achievement = _editable(session, staff, achievement_id)
    # The slug and status purpose are fixed once created: credentials and status lists name them.
    form = {name: one(fields, name) for name in TEXT_FIELDS}
    form["slug"] = achievement.slug
    form["status_purpose"] = achievement.status_purpose
    chosen = _chosen(fields)
    needs = _needs(fields)
    skill_query = one(fields, "skill_query")
    if one(fields, "action") == "search":
        return _form_page(
            request,
            session,
            staff,
            achievement=achievement,
            form=form,
            chosen=chosen,
            needs=needs,
            skill_query=skill_query,
            search_pressed=True,
        )
    try:
        update = AchievementUpdate.model_validate(_data(form, chosen, achievement, needs))
        changes = _changes(achievement, update, _current_needs(session, achievement))
        if not changes:
            return RedirectResponse(
                f"/console/achievements/{achievement_id}/edit?done=unchanged", status_code=303
            )
        with undo_on_refusal(session):
            service.update_achievement(
                session,
                actor=staff,
                institution_id=staff.tenant,
                achievement_id=achievement_id,
                data=AchievementUpdate.model_validate(changes),
            )
    except (ValidationError, DomainError) as exc:
        errors, status_code = _refusal(exc)
        return _form_page(
            request,
            session,
            staff,
            achievement=achievement,
            form=form,
            chosen=chosen,
            needs=needs,
            skill_query=skill_query,
            errors=errors,
            status_code=status_code,
        )
    return RedirectResponse(
        f"/console/achievements/{achievement_id}/edit?done=saved", status_code=303
    )


@router.post("/console/achievements/{achievement_id}/retire")
def retire_achievement(
    request: Request,
    session: DbSession,
    principal: PagePrincipal,
    achievement_id: uuid.UUID,
    fields: PostedFields,
) -> Response:
    staff = require_staff(principal)
    csrf.check(request, one(fields, "csrf_token"))
    achievement = _editable(session, staff, achievement_id)
    reason = one(fields, "reason").strip()
    confirmed = one(fields, "confirm") == "yes"
    errors: dict[str, str] = {}
    try:
        ReasonIn.model_validate({"reason": reason})
    except ValidationError as exc:
        errors = _field_errors(exc)
    if not confirmed:
        errors["confirm"] = "Tick the box to confirm that awarding stops."
    if errors:
        return _form_page(
            request,
            session,
            staff,
            achievement=achievement,
            form=_form_of(achievement),
            chosen=[a.target_url for a in achievement.alignments],
            retire_errors=errors,
            retire_form={"reason": reason},
            status_code=422,
        )
    service.retire_achievement(
        session,
        actor=staff,
        institution_id=staff.tenant,
        achievement_id=achievement_id,
        reason=reason,
    )
    return RedirectResponse("/console/achievements?done=retired", status_code=303)
