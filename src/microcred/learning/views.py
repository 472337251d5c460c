"""Skills intelligence pages (usable without JavaScript).

Learners (`/me/...`): choose a target job (an ESCO occupation found by search, or a pasted job
posting), see the gap and the plan that closes it as a timeline, enrol in a step, and rank the
catalog with their own weights in the programme chooser.

Staff (`/console/...`): collect job postings (paste one, or upload a CSV), review the skills read
from each (reject, restore, add), and see which skills are in demand, how that changes month by
month, and which of them the catalog teaches nowhere (the coverage report).

Charts are SVG drawn on the server (`kit.web.charts`); every chart has its numbers in a table
beside it. The rules live in `learning.service`; these handlers parse, authorise, call it and
render.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile as StarletteUpload

from microcred.catalog import service as catalog
from microcred.catalog.models import Achievement
from microcred.identity.deps import PagePrincipal
from microcred.kit.errors import DomainError, NotAuthenticated, NotFound
from microcred.kit.principal import Principal
from microcred.kit.settings import Settings
from microcred.kit.web import charts, csrf
from microcred.kit.web.deps import DbSession, PageDep, SettingsDep
from microcred.kit.web.pages import PostedFields, one, render, require_staff, undo_on_refusal
from microcred.learning import service
from microcred.learning.models import JobPosting

router = APIRouter(include_in_schema=False)

OBJECTIVES: dict[str, str] = {
    "hours": "Fewest study hours",
    "cost": "Lowest cost",
    "count": "Fewest micro-credentials",
}
CRITERIA: dict[str, str] = {
    "relevance": "Relevance to your target job",
    "recognition": "Recognition (endorsements)",
    "cost": "Low cost",
    "duration": "Short duration",
    "flexibility": "Flexible delivery",
}
RELATIONS = {"essential": "Essential", "optional": "Optional", "demanded": "Asked for"}
ENROL_SOURCES = ("plan", "nudge", "direct")
# Where an enrol or withdraw form may send the learner back to: our own pages only, so a
# crafted form cannot turn the redirect into a jump elsewhere.
RETURN_PATHS = ("/me", "/me/plan", "/me/chooser")
# Fixed texts chosen by a query parameter after a change: a crafted link cannot put its own
# words on these pages.
NOTICES = {
    "enrolled": "You are enrolled.",
    "already": "You were already enrolled; nothing changed.",
    "withdrawn": "You withdrew from it.",
    "stored": "The posting was stored and its skills read.",
    "unchanged": "This posting was already stored; nothing changed.",
    "rejected": "The skill was rejected: it no longer counts toward demand.",
    "restored": "The skill was restored.",
    "added": "The skill was added to the posting.",
}
OCCUPATION_RESULTS = 20
SKILL_RESULTS = 15
TREND_SERIES = 3  # rising and falling skills drawn each, so the chart stays readable
COVERAGE_BARS = 15


# --- shared plumbing --------------------------------------------------------------------------


def _learner_page(
    request: Request, principal: Principal, name: str, context: dict[str, object], status: int
) -> Response:
    # A learner's own plan and target: never kept by a shared cache.
    return render(
        request,
        name,
        context,
        principal=principal,
        status_code=status,
        headers={"Cache-Control": "private, no-store"},
    )


def _staff_page(
    request: Request,
    principal: Principal,
    name: str,
    context: dict[str, object],
    status: int = 200,
) -> Response:
    roles = {
        "is_admin": "admin" in principal.roles,
        "can_collect": bool({"admin", *service.STAFF_ROLES} & principal.roles),
    }
    return render(request, name, {**context, **roles}, principal=principal, status_code=status)


def _learner(principal: Principal | None) -> Principal:
    if principal is None:
        raise NotAuthenticated("sign in to plan your learning")
    if principal.kind != "learner" or principal.id is None:
        raise NotFound("this area is for learners; staff see demand in the console")
    return principal


class _FormError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _amount(text: str, what: str) -> Decimal | None:
    """A non-negative amount typed in a form ("" is none); commas as thousands separators."""
    cleaned = text.strip().replace(",", "").replace(" ", "")
    if not cleaned:
        return None
    try:
        value = Decimal(cleaned)
    except InvalidOperation as exc:
        raise _FormError(f"The {what} must be a number, like 250 or 12.5.") from exc
    if not value.is_finite() or value < 0 or value >= Decimal("100000000"):
        raise _FormError(f"The {what} must be a number between 0 and 99,999,999.")
    return value.quantize(Decimal("0.01"))


def _money(value: float | Decimal | None, currency: str | None = None) -> str:
    if value is None:
        return ""
    return f"{float(value):,.2f}" + (f" {currency}" if currency else "")


def _hours(value: float | Decimal | None) -> str:
    if value is None:
        return ""
    number = float(value)
    return f"{number:g} hour{'' if number == 1 else 's'}"


def _up(value: float, places: int = 2) -> Decimal:
    """A bound rounded up (not to nearest): a budget a cent short would still not fit."""
    scale = Decimal(10) ** places
    return Decimal(math.ceil(value * float(scale) - 1e-9)) / scale


def _occupation_label(session: Session, uri: str) -> str:
    try:
        return catalog.get_occupation(session, uri=uri).occupation.label
    except NotFound:
        return uri


def _notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("done", ""))


# --- the learner: target job ------------------------------------------------------------------

TARGET_FIELDS = ("occupation_uri", "posting_text", "title", "objective", "budget", "max_hours", "q")


def _target_form(session: Session, learner: Principal) -> dict[str, str]:
    form = dict.fromkeys(TARGET_FIELDS, "")
    form["objective"] = "hours"
    current = service.get_target(session, actor=learner)
    if current is not None:
        form["occupation_uri"] = current.occupation_uri or ""
        form["posting_text"] = current.posting_text or ""
        form["title"] = current.title if current.kind == "posting" else ""
        form["objective"] = current.objective
        form["budget"] = "" if current.budget is None else f"{current.budget:f}"
        form["max_hours"] = "" if current.max_hours is None else f"{current.max_hours:f}"
    return form


def _target_page(
    request: Request,
    session: Session,
    learner: Principal,
    *,
    form: dict[str, str],
    error: str | None = None,
    status: int = 200,
) -> Response:
    query = form["q"].strip()[:200]
    matches: list[Any] = []
    if query:
        matches = list(catalog.search_occupations(session, query=query, limit=OCCUPATION_RESULTS))
    chosen = form["occupation_uri"]
    chosen_label = None
    if chosen and all(m.uri != chosen for m in matches):
        # The occupation chosen before stays selectable while the learner searches on.
        chosen_label = _occupation_label(session, chosen)
    return _learner_page(
        request,
        learner,
        "learning/target.html",
        {
            "form": form,
            "query": query,
            "matches": matches,
            "chosen_label": chosen_label,
            "target": service.get_target(session, actor=learner),
            "objectives": OBJECTIVES,
            "error": error,
        },
        status,
    )


@router.get("/me/target")
def target_form(
    request: Request,
    session: DbSession,
    principal: PagePrincipal,
    q: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    learner = _learner(principal)
    form = _target_form(session, learner)
    form["q"] = q
    return _target_page(request, session, learner, form=form)


@router.post("/me/target")
def save_target(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    principal: PagePrincipal,
    fields: PostedFields,
) -> Response:
    csrf.check(request, one(fields, "csrf_token"))
    learner = _learner(principal)
    form = {name: one(fields, name) for name in TARGET_FIELDS}
    try:
        objective = form["objective"] if form["objective"] in OBJECTIVES else None
        if objective is None:
            raise _FormError("Choose what the plan should keep lowest.")
        budget = _amount(form["budget"], "budget")
        max_hours = _amount(form["max_hours"], "hours available")
        if max_hours is not None and max_hours >= Decimal("100000"):
            raise _FormError("The hours available must be below 100,000.")
        chosen = form["occupation_uri"].strip() or None
        text = form["posting_text"] if form["posting_text"].strip() else None
        with undo_on_refusal(session):
            service.set_target(
                session,
                settings=settings,
                actor=learner,
                target=service.TargetIn(
                    occupation_uri=chosen,
                    posting_text=text,
                    title=form["title"].strip() or None,
                    objective=objective,  # type: ignore[arg-type]  # checked against OBJECTIVES
                    budget=budget,
                    max_hours=max_hours,
                ),
            )
    except _FormError as exc:
        return _target_page(request, session, learner, form=form, error=exc.message, status=422)
    except NotFound:
        form["occupation_uri"] = ""
        return _target_page(
            request,
            session,
            learner,
            form=form,
            error="That occupation is not in the skills framework; search for it again.",
            status=422,
        )
    except DomainError as exc:
        return _target_page(
            request, session, learner, form=form, error=_sentence(exc.detail), status=exc.status
        )
    return RedirectResponse("/me/plan", status_code=303)


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    return text[0].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


# --- the learner: gap and plan ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StepRow:
    order: int
    achievement: Achievement
    hours: str
    cost: str
    covers: list[str]
    unlocks: list[tuple[int, str]]  # (step number, name) of the later steps it opens
    reason: str
    enrolled: bool


@dataclass(frozen=True, slots=True)
class Relaxation:
    sentence: str
    link: str | None
    link_text: str | None


def _plan_link(objective: str, budget: Decimal | None, hours: Decimal | None) -> str:
    query = {"objective": objective}
    if budget is not None:
        query["budget"] = f"{budget:f}"
    if hours is not None:
        query["hours"] = f"{hours:f}"
    return "/me/plan?" + urlencode(query)


def _steps(view: service.PlanView) -> tuple[list[StepRow], str | None]:
    assert view.plan is not None
    order_of = {step.course.id: step.order for step in view.plan.steps}
    rows: list[StepRow] = []
    currencies: set[str] = set()
    for step in view.plan.steps:
        achievement = view.achievements[step.course.id]
        if achievement.currency:
            currencies.add(achievement.currency)
        rows.append(
            StepRow(
                order=step.order,
                achievement=achievement,
                hours=_hours(step.course.hours),
                cost=_money(step.course.cost, achievement.currency) if step.course.cost else "free",
                covers=[g.label for g in step.covers],
                unlocks=sorted(
                    (order_of[i], view.achievements[i].name) for i in step.unlocks if i in order_of
                ),
                reason=step.reason,
                enrolled=step.course.id in view.enrolled,
            )
        )
    # One currency is the common case; with several a single total would add unlike things.
    currency = next(iter(currencies)) if len(currencies) == 1 else None
    return rows, currency


def _relaxations(view: service.PlanView) -> list[Relaxation]:
    """The infeasible plan's ways out, in words, each with a link that re-plans with it."""
    assert view.infeasible is not None
    found = view.infeasible
    out: list[Relaxation] = []
    binds = set(found.binds)
    if "budget" in binds:
        if found.min_budget is not None:
            budget = _up(found.min_budget)
            out.append(
                Relaxation(
                    f"Your budget of {_money(view.budget)} is too small: the cheapest plan that "
                    f"covers the essential skills costs {_money(budget)}.",
                    _plan_link(view.objective, budget, view.max_hours),
                    f"Plan with a budget of {_money(budget)}",
                )
            )
        else:
            out.append(
                Relaxation(
                    f"Your budget of {_money(view.budget)} is too small, and no budget alone "
                    "makes the plan fit your hours.",
                    None,
                    None,
                )
            )
    if "deadline" in binds:
        if found.min_hours is not None:
            hours = _up(found.min_hours)
            out.append(
                Relaxation(
                    f"The {_hours(view.max_hours)} you have before the deadline are too few: "
                    f"the shortest plan takes {_hours(hours)}.",
                    _plan_link(view.objective, view.budget, hours),
                    f"Plan with {_hours(hours)}",
                )
            )
        else:
            out.append(
                Relaxation(
                    f"The {_hours(view.max_hours)} you have are too few, and no number of hours "
                    "alone makes the plan fit your budget.",
                    None,
                    None,
                )
            )
    if {"budget", "deadline"} <= binds and found.min_budget is not None and found.min_hours:
        budget, hours = _up(found.min_budget), _up(found.min_hours)
        out.append(
            Relaxation(
                "Both limits bind: raising both works.",
                _plan_link(view.objective, budget, hours),
                f"Plan with {_money(budget)} and {_hours(hours)}",
            )
        )
    if found.drop:
        labels = ", ".join(skill.label for skill in found.drop)
        out.append(
            Relaxation(
                found.drop_sentence
                or f"Or keep your limits and leave out {labels}: the rest fits within them.",
                None,
                None,
            )
        )
    return out


def _query_amount(value: str, what: str, errors: list[str]) -> Decimal | None:
    try:
        return _amount(value, what)
    except _FormError as exc:
        errors.append(exc.message)
        return None


@router.get("/me/plan")
def plan_page(
    request: Request,
    session: DbSession,
    principal: PagePrincipal,
    objective: Annotated[str, Query(max_length=10)] = "",
    budget: Annotated[str, Query(max_length=20)] = "",
    hours: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    learner = _learner(principal)
    if service.get_target(session, actor=learner) is None:
        return RedirectResponse("/me/target", status_code=303)
    errors: list[str] = []
    chosen: str | None = objective if objective in OBJECTIVES else None
    if objective and chosen is None:
        errors.append("Unknown plan objective; your saved one is used.")
    budget_value = _query_amount(budget, "budget", errors)
    hours_value = _query_amount(hours, "hours available", errors)
    if hours_value is not None and hours_value <= 0:
        errors.append("The hours available must be more than zero; your saved ones are used.")
        hours_value = None
    view = service.plan_for(
        session,
        actor=learner,
        objective=chosen,  # type: ignore[arg-type]  # checked against OBJECTIVES
        budget=budget_value,
        max_hours=hours_value,
    )
    steps: list[StepRow] = []
    currency = None
    if view.plan is not None:
        steps, currency = _steps(view)
    achievement_names = {str(a.id): a.name for a in view.achievements.values()}
    return _learner_page(
        request,
        learner,
        "learning/plan.html",
        {
            "view": view,
            "gap": view.gap,
            "plan": view.plan,
            "steps": steps,
            "currency": currency,
            "relaxations": _relaxations(view) if view.infeasible is not None else [],
            "objectives": OBJECTIVES,
            "relations": RELATIONS,
            "form": {
                "objective": view.objective,
                "budget": "" if view.budget is None else f"{view.budget:f}",
                "hours": "" if view.max_hours is None else f"{view.max_hours:f}",
            },
            "back": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            "enrolments": service.enrolments(session, actor=learner),
            "achievement_names": achievement_names,
            "money": _money,
            "hours_text": _hours,
            "notice": _notice(request),
            "errors": errors,
        },
        422 if errors else 200,
    )


# --- the learner: enrolments ------------------------------------------------------------------


def _back(target: str, done: str) -> str:
    """The page the form came from (one of ours), with the notice to show there."""
    parts = urlsplit(target)
    path = parts.path if parts.path in RETURN_PATHS and not parts.netloc else "/me/plan"
    kept = [p for p in parts.query.split("&") if p and not p.startswith(("done=", "m="))]
    if path == "/me":
        # The dashboard shows its own `m` message.
        kept.append("m=" + NOTICES[done].replace(" ", "+"))
    else:
        kept.append(f"done={done}")
    return f"{path}?{'&'.join(kept)}"


def _uuid(text: str) -> uuid.UUID:
    try:
        return uuid.UUID(text.strip())
    except ValueError as exc:
        raise NotFound("no such achievement") from exc


@router.post("/me/enrolments")
def enrol(
    request: Request, session: DbSession, principal: PagePrincipal, fields: PostedFields
) -> Response:
    csrf.check(request, one(fields, "csrf_token"))
    learner = _learner(principal)
    source = one(fields, "source")
    _, created = service.enrol(
        session,
        actor=learner,
        achievement_id=_uuid(one(fields, "achievement_id")),
        source=source if source in ENROL_SOURCES else "direct",  # type: ignore[arg-type]
    )
    return RedirectResponse(
        _back(one(fields, "back"), "enrolled" if created else "already"), status_code=303
    )


@router.post("/me/enrolments/{achievement_id}/withdraw")
def withdraw(
    request: Request,
    session: DbSession,
    principal: PagePrincipal,
    achievement_id: uuid.UUID,
    fields: PostedFields,
) -> Response:
    csrf.check(request, one(fields, "csrf_token"))
    learner = _learner(principal)
    service.withdraw(session, actor=learner, achievement_id=achievement_id)
    return RedirectResponse(_back(one(fields, "back"), "withdrawn"), status_code=303)


# --- the learner: programme chooser -----------------------------------------------------------


@router.get("/me/skills")
def my_skills(request: Request, session: DbSession, principal: PagePrincipal) -> Response:
    """Every skill the platform has evidence of, with P(mastered), its interval and why."""
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    learner = _learner(principal)
    return _learner_page(
        request,
        learner,
        "learning/skills.html",
        {"skills": service.my_skills(session, actor=learner), "mastered": service.MASTERED},
        200,
    )


@router.get("/me/chooser")
def chooser(
    request: Request,
    session: DbSession,
    principal: PagePrincipal,
    relevance: Annotated[str, Query(max_length=10)] = "",
    recognition: Annotated[str, Query(max_length=10)] = "",
    cost: Annotated[str, Query(max_length=10)] = "",
    duration: Annotated[str, Query(max_length=10)] = "",
    flexibility: Annotated[str, Query(max_length=10)] = "",
) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    learner = _learner(principal)
    typed = {
        "relevance": relevance,
        "recognition": recognition,
        "cost": cost,
        "duration": duration,
        "flexibility": flexibility,
    }
    # The form shows weights on a 0-10 scale; the service's defaults are shares of one.
    form = {name: _weight_text(share * 10) for name, share in service.DEFAULT_WEIGHTS.items()}
    weights: dict[str, float] = {}
    error = None
    for name, text in typed.items():
        if not text.strip():
            continue
        try:
            value = float(text)
        except ValueError:
            error = f"The weight of {CRITERIA[name].lower()} must be a number from 0 to 10."
            continue
        if not math.isfinite(value):
            error = f"The weight of {CRITERIA[name].lower()} must be a number from 0 to 10."
            continue
        weights[name] = value
        form[name] = text.strip()
    try:
        choices, normal = service.choose(session, actor=learner, weights=weights or None)
    except DomainError as exc:
        error = _sentence(exc.detail) + " The default weights are used."
        form = {name: _weight_text(share * 10) for name, share in service.DEFAULT_WEIGHTS.items()}
        choices, normal = service.choose(session, actor=learner, weights=None)
    words = ", ".join(
        f"{CRITERIA[name].lower()} counts {share:.0%}" for name, share in normal.items()
    )
    return _learner_page(
        request,
        learner,
        "learning/chooser.html",
        {
            "choices": choices,
            "weights": normal,
            "weights_words": words[:1].upper() + words[1:] + ".",
            "criteria": CRITERIA,
            "form": form,
            "target": service.get_target(session, actor=learner),
            "back": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            "enrolled": {
                e.achievement_id
                for e, _ in service.enrolments(session, actor=learner)
                if e.status == "active"
            },
            "money": _money,
            "hours_text": _hours,
            "notice": _notice(request),
            "error": error,
        },
        422 if error else 200,
    )


def _weight_text(value: float) -> str:
    return f"{value:g}"


# --- staff: job postings ----------------------------------------------------------------------

POSTING_FIELDS = ("title", "posted_on", "occupation_uri", "location", "body", "oq")


def _postings_page(
    request: Request,
    session: Session,
    settings: Settings,
    staff: Principal,
    *,
    page: Any,
    form: dict[str, str] | None = None,
    error: str | None = None,
    row_errors: Sequence[Mapping[str, Any]] = (),
    status: int = 200,
) -> Response:
    form = form or dict.fromkeys(POSTING_FIELDS, "")
    rows, total = service.list_postings(session, actor=staff, page=page)
    labels = {
        uri: _occupation_label(session, uri)
        for uri in dict.fromkeys(p.occupation_uri for p in rows if p.occupation_uri)
    }
    occupation_query = form.get("oq", "").strip()[:200]
    matches: list[Any] = []
    if occupation_query:
        matches = list(
            catalog.search_occupations(session, query=occupation_query, limit=OCCUPATION_RESULTS)
        )

    def link(offset: int) -> str:
        query: dict[str, str] = {}
        if offset:
            query["offset"] = str(offset)
        if page.limit != settings.page_size_default:
            query["limit"] = str(page.limit)
        return "/console/postings" + (f"?{urlencode(query)}" if query else "")

    after = page.offset + len(rows)
    stored = request.query_params.get("stored", "")
    unchanged = request.query_params.get("unchanged", "")
    summary = None
    if stored.isdigit() and unchanged.isdigit():
        summary = f"{int(stored)} stored, {int(unchanged)} already there."
    return _staff_page(
        request,
        staff,
        "learning/postings.html",
        {
            "rows": [
                {
                    "posting": p,
                    "occupation": labels.get(p.occupation_uri or ""),
                    "skills": sum(1 for s in p.skills if not s.rejected),
                }
                for p in rows
            ],
            "total": total,
            "first": page.offset + 1 if rows else 0,
            "last": after,
            "previous": link(max(page.offset - page.limit, 0)) if page.offset else None,
            "next": link(after) if after < total else None,
            "form": form,
            "occupation_query": occupation_query,
            "matches": matches,
            "chosen_label": _occupation_label(session, form["occupation_uri"])
            if form.get("occupation_uri") and all(m.uri != form["occupation_uri"] for m in matches)
            else None,
            "error": error,
            "row_errors": row_errors,
            "summary": summary,
            "columns": sorted(service.CSV_COLUMNS),
            "today": dt.date.today().isoformat(),
        },
        status,
    )


@router.get("/console/postings")
def postings(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    principal: PagePrincipal,
    page: PageDep,
    oq: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    staff = require_staff(principal)
    form = dict.fromkeys(POSTING_FIELDS, "")
    form["oq"] = oq
    return _postings_page(request, session, settings, staff, page=page, form=form)


@router.post("/console/postings")
def paste_posting(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    principal: PagePrincipal,
    page: PageDep,
    fields: PostedFields,
) -> Response:
    staff = require_staff(principal)
    csrf.check(request, one(fields, "csrf_token"))
    form = {name: one(fields, name) for name in POSTING_FIELDS}
    try:
        posted_on = None
        if form["posted_on"].strip():
            try:
                posted_on = dt.date.fromisoformat(form["posted_on"].strip())
            except ValueError as exc:
                raise _FormError("The date must be written as YYYY-MM-DD.") from exc
        with undo_on_refusal(session):
            result = service.ingest_posting(
                session,
                settings=settings,
                actor=staff,
                item=service.PostingIn(
                    title=form["title"],
                    body=form["body"],
                    posted_on=posted_on,
                    occupation_uri=form["occupation_uri"].strip() or None,
                    location=form["location"].strip()[:200] or None,
                ),
                source="paste",
            )
    except _FormError as exc:
        return _postings_page(
            request, session, settings, staff, page=page, form=form, error=exc.message, status=422
        )
    except DomainError as exc:
        return _postings_page(
            request,
            session,
            settings,
            staff,
            page=page,
            form=form,
            error=_sentence(exc.detail),
            status=exc.status,
        )
    done = "stored" if result.created else "unchanged"
    return RedirectResponse(f"/console/postings/{result.posting.id}?done={done}", status_code=303)


@dataclass(frozen=True, slots=True)
class _Upload:
    csrf_token: str
    data: bytes | None  # None when no file was chosen


async def _posted_upload(request: Request) -> _Upload:
    """The CSV upload form: the file is read to one byte past the limit, so an oversized file
    is refused without holding all of it."""
    settings: Settings = request.app.state.settings
    async with request.form(max_part_size=settings.max_upload_bytes) as raw:
        token = raw.get("csrf_token")
        upload = raw.get("file")
        data = None
        if isinstance(upload, StarletteUpload) and (upload.filename or upload.size):
            data = await upload.read(settings.max_upload_bytes + 1)
        return _Upload(token if isinstance(token, str) else "", data)


PostedUpload = Annotated[_Upload, Depends(_posted_upload)]


@router.post("/console/postings/upload")
def upload_postings(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    principal: PagePrincipal,
    page: PageDep,
    upload: PostedUpload,
) -> Response:
    staff = require_staff(principal)
    csrf.check(request, upload.csrf_token)
    if upload.data is None or not upload.data.strip():
        return _postings_page(
            request,
            session,
            settings,
            staff,
            page=page,
            error="Choose a CSV file with a header row and one posting per row.",
            status=422,
        )
    if len(upload.data) > settings.max_upload_bytes:
        return _postings_page(
            request,
            session,
            settings,
            staff,
            page=page,
            error=f"The file is larger than {settings.max_upload_bytes:,} bytes; split it.",
            status=413,
        )
    try:
        with undo_on_refusal(session):
            report = service.ingest_postings_csv(
                session, settings=settings, actor=staff, data=upload.data
            )
    except DomainError as exc:
        return _postings_page(
            request,
            session,
            settings,
            staff,
            page=page,
            error=_sentence(exc.detail),
            row_errors=exc.errors,
            status=exc.status,
        )
    return RedirectResponse(
        f"/console/postings?stored={report.created}&unchanged={report.unchanged}",
        status_code=303,
    )


def _segments(posting: JobPosting) -> list[tuple[str, str | None]]:
    """The posting text cut into plain runs and the evidence spans of its accepted skills."""
    body = posting.body
    spans = sorted(
        (s.span_start, s.span_end, s.label)
        for s in posting.skills
        if not s.rejected
        and s.span_start is not None
        and s.span_end is not None
        and 0 <= s.span_start < s.span_end <= len(body)
    )
    out: list[tuple[str, str | None]] = []
    position = 0
    for start, end, label in spans:
        if start < position:
            continue  # overlapping evidence: the first span is marked, the table lists all
        if start > position:
            out.append((body[position:start], None))
        out.append((body[start:end], label))
        position = end
    if position < len(body):
        out.append((body[position:], None))
    return out


@router.get("/console/postings/{posting_id}")
def posting_detail(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    principal: PagePrincipal,
    posting_id: uuid.UUID,
    sq: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    staff = require_staff(principal)
    posting = service.get_posting(session, actor=staff, posting_id=posting_id)
    query = sq.strip()
    found: list[dict[str, Any]] = []
    error = None
    if query:
        try:
            with undo_on_refusal(session):
                found = service.search_skills(
                    session, settings=settings, query=query, limit=SKILL_RESULTS
                )
        except DomainError as exc:
            error = _sentence(exc.detail)
    listed = {s.skill_uri for s in posting.skills if not s.rejected}
    return _staff_page(
        request,
        staff,
        "learning/posting.html",
        {
            "posting": posting,
            "segments": _segments(posting),
            "occupation": _occupation_label(session, posting.occupation_uri)
            if posting.occupation_uri
            else None,
            "skill_query": query,
            "found": [f for f in found if f["uri"] not in listed],
            "notice": _notice(request),
            "error": error,
        },
        422 if error else 200,
    )


@router.post("/console/postings/{posting_id}/skills")
def review_skill(
    request: Request,
    session: DbSession,
    principal: PagePrincipal,
    posting_id: uuid.UUID,
    fields: PostedFields,
) -> Response:
    staff = require_staff(principal)
    csrf.check(request, one(fields, "csrf_token"))
    action = one(fields, "action")
    if action not in ("reject", "restore", "add"):
        action = "add"
    service.review_posting_skill(
        session,
        actor=staff,
        posting_id=posting_id,
        skill_uri=one(fields, "skill_uri").strip(),
        rejected=action == "reject",
        reason=one(fields, "reason").strip()[:500] or None,
    )
    done = {"reject": "rejected", "restore": "restored", "add": "added"}[action]
    return RedirectResponse(f"/console/postings/{posting_id}?done={done}#skills", status_code=303)


# --- staff: demand and coverage ---------------------------------------------------------------


def _occupation_options(session: Session, staff: Principal) -> list[tuple[str, str, int]]:
    """(uri, label, postings) of the occupations the institution's postings name."""
    rows = service.posting_occupations(session, actor=staff)
    return sorted(
        ((uri, _occupation_label(session, uri), count) for uri, count in rows),
        key=lambda row: row[1].lower(),
    )


@router.get("/console/demand")
def demand(
    request: Request,
    session: DbSession,
    principal: PagePrincipal,
    occupation: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    staff = require_staff(principal)
    options = _occupation_options(session, staff)
    # An occupation no posting names is not a filter anyone chose from the list: show all.
    chosen = occupation if any(uri == occupation for uri, _, _ in options) else None
    trends = service.demand_trends(session, actor=staff, occupation_uri=chosen)
    coverage = service.coverage_report(session, actor=staff, occupation_uri=chosen)
    lines = trends.rising[:TREND_SERIES] + trends.falling[:TREND_SERIES]
    trend_chart = charts.line_chart(
        [(f"{t.label} ({t.direction})", t.series) for t in lines],
        trends.periods,
        title="Monthly share of postings asking for the fastest rising and falling skills",
        y_format=charts.percent,
        chart_id="trend-chart",
        empty_message="No rising or falling skill yet",
    )
    volume_chart = charts.line_chart(
        [("Postings", [float(n) for n in trends.postings_per_period])],
        trends.periods,
        title="Job postings per month",
        y_format="{:g}",
        chart_id="volume-chart",
    )
    top_chart = charts.bar_chart(
        [(t.label, t.share) for t in trends.top],
        title="Most demanded skills: share of postings asking for each",
        value_format=charts.percent,
        chart_id="top-chart",
    )
    demanded = sorted(
        coverage.taught + coverage.untaught, key=lambda r: (-r.postings, r.label.lower())
    )[:COVERAGE_BARS]
    coverage_chart = charts.bar_chart(
        [(r.label, r.share) for r in demanded],
        title="Demanded skills and whether the catalog teaches them",
        value_format=charts.percent,
        highlight={r.label for r in demanded if not r.taught_by},
        highlight_label="taught nowhere here",
        chart_id="coverage-chart",
    )
    return _staff_page(
        request,
        staff,
        "learning/demand.html",
        {
            "trends": trends,
            "coverage": coverage,
            "lines": lines,
            "demanded": demanded,
            "options": options,
            "chosen": chosen or "",
            "chosen_label": next((label for uri, label, _ in options if uri == chosen), None),
            "trend_chart": trend_chart,
            "volume_chart": volume_chart,
            "top_chart": top_chart,
            "coverage_chart": coverage_chart,
        },
    )
