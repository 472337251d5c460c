"""The learner's area: a dashboard of credentials and progress, and per credential a record
page with its privacy choices, the learner's notes on the evidence and the share panel.

Shares go through `/me/credentials/{id}/share/{channel}`, which counts the share and then
redirects to the target (LinkedIn, the PDF, a download, an e-mail draft): the share-rate KPI
needs the count and a plain link works without JavaScript.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from microcred.assessment import record as assessment_record
from microcred.catalog import service as catalog
from microcred.credentials import records, service
from microcred.credentials.models import SHARE_CHANNELS, Award
from microcred.identity import service as identity
from microcred.identity.deps import PagePrincipal
from microcred.kit.errors import DomainError, InvalidInput, NotAuthenticated, NotFound
from microcred.kit.pagination import PageRequest
from microcred.kit.principal import Principal
from microcred.kit.settings import Settings
from microcred.kit.web import csrf
from microcred.kit.web.deps import DbSession, SettingsDep
from microcred.kit.web.pages import render, undo_on_refusal
from microcred.learning import service as learning

router = APIRouter(include_in_schema=False)

STATE_WORDS = {
    "active": "Active",
    "suspended": "Suspended by the issuer",
    "revoked": "Revoked by the issuer",
}


@dataclass
class EvidenceEntry:
    index: int
    name: str
    description: str
    narrative: str
    url: str | None
    genre: str
    note: str


@dataclass
class RecordContext:
    """Everything a record page shows; the public page drops what the learner kept private."""

    award: Award
    credential: dict[str, Any]
    name: str
    issuer_name: str
    issuer_url: str | None
    learner_name: str
    issued: str
    expires: str | None
    state: str
    state_words: str
    description: str
    criteria: str
    criteria_url: str | None
    skills: list[dict[str, str]]
    hours: str | None
    results: list[dict[str, str]]
    evidence: list[EvidenceEntry]
    activity: assessment_record.Activity
    identity_assurance: str
    public_url: str
    verify_url: str
    visibility: dict[str, bool] = field(default_factory=dict)


def _hours(value: Any) -> str | None:
    if value is None:
        return None
    number = float(value)
    return f"{number:g} hour{'s' if number != 1 else ''}"


def record_context(session: Session, *, settings: Settings, award: Award) -> RecordContext:
    credential = award.credential
    issuer = credential.get("issuer") or {}
    achievement_doc = credential.get("credentialSubject", {}).get("achievement", {})
    achievement = catalog.get_achievement(
        session, institution_id=award.institution_id, achievement_id=award.achievement_id
    )
    learner = identity.get_learner(
        session, institution_id=award.institution_id, learner_id=award.learner_id
    )
    notes = records.notes_by_index(session, award_id=award.id)
    evidence = [
        EvidenceEntry(
            index=i,
            name=str(e.get("name") or "Evidence"),
            description=str(e.get("description") or ""),
            narrative=str(e.get("narrative") or ""),
            url=str(e["id"]) if e.get("id") else None,
            genre=str(e.get("genre") or ""),
            note=notes.get(i, ""),
        )
        for i, e in enumerate(records.evidence_of(award))
    ]
    visibility = records.settings_of(session, award_id=award.id)
    public_url = str(credential["id"])
    return RecordContext(
        award=award,
        credential=credential,
        name=str(credential.get("name", achievement.name)),
        issuer_name=str(issuer.get("name", "")),
        issuer_url=issuer.get("url"),
        learner_name=learner.display_name,
        issued=award.valid_from.strftime("%d %B %Y"),
        expires=award.valid_until.strftime("%d %B %Y") if award.valid_until else None,
        state=award.state,
        state_words=STATE_WORDS.get(award.state, award.state),
        description=str(achievement_doc.get("description", "")),
        criteria=str((achievement_doc.get("criteria") or {}).get("narrative", "")),
        criteria_url=(achievement_doc.get("criteria") or {}).get("id"),
        skills=[
            {"name": str(a.get("targetName", "")), "url": str(a.get("targetUrl", ""))}
            for a in achievement_doc.get("alignment", []) or []
        ],
        hours=_hours(achievement.hours),
        results=records.described_results(credential),
        evidence=evidence,
        activity=assessment_record.activity(
            session,
            institution_id=award.institution_id,
            learner_id=award.learner_id,
            achievement_id=award.achievement_id,
        ),
        identity_assurance=identity.IDENTITY_ASSURANCE.get(
            learner.identity_assurance, learner.identity_assurance
        ),
        public_url=public_url,
        verify_url=f"{settings.public_base_url}/verify?url={quote(public_url, safe='')}",
        visibility={
            "public": visibility.public,
            "show_results": visibility.show_results,
            "show_evidence": visibility.show_evidence,
            "show_activity": visibility.show_activity,
        },
    )


def _page(
    request: Request, name: str, context: dict[str, object], status_code: int = 200
) -> Response:
    # The learner's own pages: never cached by a shared cache.
    return render(
        request,
        name,
        context,
        status_code=status_code,
        headers={"Cache-Control": "private, no-store"},
    )


def _learner(principal: Principal | None) -> Principal:
    if principal is None:
        raise NotAuthenticated("sign in to see your credentials")
    if principal.kind != "learner" or principal.id is None:
        raise NotFound("this area is for learners; staff manage awards in the console")
    return principal


@router.get("/me")
def dashboard(
    request: Request, session: DbSession, settings: SettingsDep, principal: PagePrincipal
) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    learner = _learner(principal)
    awards, _ = service.list_awards(
        session,
        institution_id=learner.tenant,
        page=PageRequest(limit=200, offset=0),
        learner_id=learner.id,
    )
    cards = []
    for award in awards:
        shares, verifications = records.award_kpis(session, award=award)
        cards.append(
            {
                "award": award,
                "public": records.settings_of(session, award_id=award.id).public,
                "shares": sum(shares.values()),
                "verifications": verifications,
                "state_words": STATE_WORDS.get(award.state, award.state),
            }
        )
    assert learner.id is not None  # _learner refuses a principal without one
    account = identity.get_learner(session, institution_id=learner.tenant, learner_id=learner.id)
    return _page(
        request,
        "records/dashboard.html",
        {
            "principal": principal,
            "learner": account,
            "cards": cards,
            "progress": assessment_record.progress(session, actor=learner),
            "nudge": _next_for(session, learner),
            "reminder_days": settings.share_reminder_days,
            "message": request.query_params.get("m"),
        },
    )


def _next_for(session: Session, learner: Principal) -> learning.Recommendation | None:
    """The "next for you" nudge. Planning trouble must never take the dashboard down, so a
    refusal reads as no recommendation."""
    try:
        with undo_on_refusal(session):
            return learning.next_recommendation(session, actor=learner)
    except DomainError:
        return None


@router.post("/me/preferences")
def preferences(
    request: Request,
    session: DbSession,
    principal: PagePrincipal,
    csrf_token: Annotated[str, Form(max_length=100)],
    share_reminders: Annotated[str | None, Form(max_length=10)] = None,
) -> Response:
    csrf.check(request, csrf_token)
    identity.set_share_reminders(
        session, actor=_learner(principal), enabled=share_reminders == "on"
    )
    return RedirectResponse("/me?m=Preferences+saved", status_code=303)


def _record_page(
    request: Request,
    session: Session,
    settings: Settings,
    principal: Principal,
    award: Award,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    context = record_context(session, settings=settings, award=award)
    shares, verifications = records.award_kpis(session, award=award)
    return _page(
        request,
        "records/record.html",
        {
            "principal": principal,
            "r": context,
            "shares": shares,
            "share_total": sum(shares.values()),
            "verifications": verifications,
            "linkedin_url": records.linkedin_url(award, settings=settings),
            "message": request.query_params.get("m"),
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/me/credentials/{award_id}")
def record_page(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    principal: PagePrincipal,
    award_id: uuid.UUID,
) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    learner = _learner(principal)
    award = records.own_award(session, actor=learner, award_id=award_id)
    return _record_page(request, session, settings, learner, award)


@router.post("/me/credentials/{award_id}/visibility")
def visibility(
    request: Request,
    session: DbSession,
    principal: PagePrincipal,
    award_id: uuid.UUID,
    csrf_token: Annotated[str, Form(max_length=100)],
    public: Annotated[str | None, Form(max_length=10)] = None,
    show_results: Annotated[str | None, Form(max_length=10)] = None,
    show_evidence: Annotated[str | None, Form(max_length=10)] = None,
    show_activity: Annotated[str | None, Form(max_length=10)] = None,
) -> Response:
    csrf.check(request, csrf_token)
    record = records.set_visibility(
        session,
        actor=_learner(principal),
        award_id=award_id,
        public=public == "on",
        show_results=show_results == "on",
        show_evidence=show_evidence == "on",
        show_activity=show_activity == "on",
    )
    said = "Sharing is on: your public page is live" if record.public else "Your record is private"
    return RedirectResponse(f"/me/credentials/{award_id}?m={quote(said)}#privacy", status_code=303)


@router.post("/me/credentials/{award_id}/notes")
def annotate(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    principal: PagePrincipal,
    award_id: uuid.UUID,
    csrf_token: Annotated[str, Form(max_length=100)],
    evidence_index: Annotated[int, Form(ge=0, le=1000)],
    note: Annotated[str, Form(max_length=20_000)] = "",
) -> Response:
    csrf.check(request, csrf_token)
    learner = _learner(principal)
    try:
        records.annotate(
            session, actor=learner, award_id=award_id, evidence_index=evidence_index, note=note
        )
    except InvalidInput as exc:
        award = records.own_award(session, actor=learner, award_id=award_id)
        return _record_page(
            request, session, settings, learner, award, error=exc.detail, status_code=422
        )
    return RedirectResponse(
        f"/me/credentials/{award_id}?m=Note+saved#evidence-{evidence_index}", status_code=303
    )


def share_target(award: Award, *, settings: Settings, channel: str) -> str:
    """Where a share of `channel` leads once it is counted."""
    credential_url = str(award.credential["id"])
    path = credential_url.removeprefix(settings.public_base_url)
    targets = {
        "linkedin": records.linkedin_url(award, settings=settings),
        "pdf": f"{path}/certificate.pdf",
        "png": f"{path}/badge.png?download=1",
        "svg": f"{path}/badge.svg?download=1",
        "json": f"{path}.json",
        "link": path,
        "email": "mailto:?subject="
        + quote(f"My credential: {award.credential.get('name', '')}")
        + "&body="
        + quote(
            f"{award.credential.get('name', '')}, awarded by "
            f"{(award.credential.get('issuer') or {}).get('name', '')}. "
            f"Verify it here: {credential_url}"
        ),
    }
    return targets[channel]


@router.get("/me/credentials/{award_id}/share/{channel}")
def share(
    session: DbSession,
    settings: SettingsDep,
    principal: PagePrincipal,
    award_id: uuid.UUID,
    channel: str,
) -> Response:
    if channel not in SHARE_CHANNELS:
        raise NotFound(f"no share channel {channel!r}")
    learner = _learner(principal)
    award = records.own_award(session, actor=learner, award_id=award_id)
    if (
        channel in ("linkedin", "link", "email")
        and not records.settings_of(session, award_id=award.id).public
    ):
        # The link would lead to a page nobody else can open.
        return RedirectResponse(
            f"/me/credentials/{award_id}?m="
            + quote("Turn sharing on first: the link must open a public page")
            + "#privacy",
            status_code=303,
        )
    records.record_share(session, actor=learner, award_id=award.id, channel=channel)
    return RedirectResponse(
        share_target(award, settings=settings, channel=channel), status_code=303
    )


@router.post("/me/credentials/{award_id}/shares", status_code=204)
def count_copy(
    request: Request, session: DbSession, principal: PagePrincipal, award_id: uuid.UUID
) -> Response:
    """The "copy link" button's count (script only; the link is also there to select)."""
    csrf.check(request, request.headers.get("x-csrf-token", ""))
    records.record_share(session, actor=_learner(principal), award_id=award_id, channel="link")
    return Response(status_code=204)
