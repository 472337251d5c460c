"""Public, read-only, cacheable endpoints: credentials, status lists, DID documents, achievements.

These are what a verifier (ours, a peer's, an employer's browser) fetches, so they answer
without sign-in and say how long they may be cached.
"""

from __future__ import annotations

import json
import uuid
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from microcred.catalog import service as catalog
from microcred.credentials import (
    baking,
    certificate,
    explain,
    record_views,
    records,
    service,
    share_image,
)
from microcred.credentials.models import Award
from microcred.identity.deps import PagePrincipal
from microcred.kit.errors import NotFound
from microcred.kit.principal import Principal
from microcred.kit.web.deps import DbSession, SettingsDep
from microcred.kit.web.pages import render
from microcred.kit.web.templating import templates

router = APIRouter(include_in_schema=True, tags=["public"])

VC_MEDIA = "application/vc+ld+json"
JSON_MEDIA = ("application/vc+ld+json", "application/ld+json", "application/json")


def wants_json(request: Request) -> bool:
    """Content negotiation: JSON-LD unless the client prefers HTML (browsers send text/html)."""
    accept = request.headers.get("accept", "")
    best_html = best_json = -1.0
    for part in accept.split(","):
        media, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.strip().lower()
        if media in JSON_MEDIA:
            best_json = max(best_json, q)
        elif media in ("text/html", "application/xhtml+xml"):
            best_html = max(best_html, q)
    return best_json >= 0 and best_json >= best_html


def _json(
    document: dict[str, Any], *, media: str = VC_MEDIA, max_age: int = 300, etag: str | None = None
) -> JSONResponse:
    headers = {
        "Cache-Control": f"public, max-age={max_age}",
        "Vary": "Accept",
        "Access-Control-Allow-Origin": "*",
    }
    if etag:
        headers["ETag"] = f'"{etag}"'
    return JSONResponse(document, media_type=media, headers=headers)


@lru_cache(maxsize=256)
def _badge_png(label: str) -> bytes:
    """Drawing the default badge takes ~0.1 s; labels repeat, so keep the drawings."""
    return baking.default_badge_png(label=label)


def _award_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        raise NotFound("no such credential") from exc


def _visible_award(session: Session, *, award_id: str, viewer: Principal | None) -> Award:
    """The award if this viewer may see it: public once its learner turned sharing on, else
    only to the learner and their institution's staff. Private reads as absent."""
    award = service.public_award(session, award_id=_award_id(award_id))
    if not records.may_view(session, viewer=viewer, award=award):
        raise NotFound(
            "there is no public credential at this address; its holder may keep it private"
        )
    return award


def _disposition(download: bool, filename: str) -> str:
    # Inline so an <img> or a crawler can show it; `?download=1` saves it as a file.
    return f'{"attachment" if download else "inline"}; filename="{filename}"'


def _cache_headers(viewer: Principal | None, max_age: int = 60) -> dict[str, str]:
    # A signed-in viewer may see a private record: keep it out of shared caches.
    cache = "private, no-store" if viewer is not None else f"public, max-age={max_age}"
    return {"Cache-Control": cache, "Vary": "Accept, Cookie"}


# Before the page's route: `{award_id}` would also match `<id>.json`.
@router.get("/credentials/{award_id}.json", response_model=None)
def credential_download(session: DbSession, viewer: PagePrincipal, award_id: str) -> Response:
    award = _visible_award(session, award_id=award_id, viewer=viewer)
    return Response(
        json.dumps(award.credential, indent=2),
        media_type=VC_MEDIA,
        headers={
            "Content-Disposition": f'attachment; filename="credential-{award.id}.json"',
            **_cache_headers(viewer),
        },
    )


@router.get("/credentials/{award_id}", response_model=None)
def credential(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    viewer: PagePrincipal,
    award_id: str,
) -> Response:
    """The credential: JSON-LD for `Accept: application/vc+ld+json` or JSON, a page otherwise."""
    award = _visible_award(session, award_id=award_id, viewer=viewer)
    if wants_json(request):
        response = _json(award.credential, max_age=60)
        response.headers.update(_cache_headers(viewer))
        return response
    verdict = service.verify_document(session, settings=settings, data=award.credential)
    records.record_verification(
        session,
        source="page",
        verdict=verdict.verdict,
        credential_id=str(award.credential["id"]),
        settings=settings,
    )
    record = record_views.record_context(session, settings=settings, award=award)
    owner = viewer is not None and viewer.kind == "learner" and viewer.id == award.learner_id
    return templates.TemplateResponse(
        request,
        "credential.html",
        {
            "r": record,
            "verdict": verdict,
            "plain": explain.plain_checks(verdict),
            "owner": owner,
            "share_image": f"{record.public_url}/share.png",
            "og_description": (
                f"{record.learner_name} earned {record.name} from {record.issuer_name} on "
                f"{record.issued}. Verification: {verdict.verdict}."
            ),
        },
        headers=_cache_headers(viewer),
    )


@router.get("/credentials/{award_id}/badge.png", response_model=None)
def baked_png(
    session: DbSession, viewer: PagePrincipal, award_id: str, download: bool = False
) -> Response:
    award = _visible_award(session, award_id=award_id, viewer=viewer)
    label = str(award.credential.get("name", "badge"))
    png = baking.bake_png(_badge_png(label), json.dumps(award.credential))
    return Response(
        png,
        media_type="image/png",
        headers={
            "Content-Disposition": _disposition(download, f"badge-{award.id}.png"),
            **_cache_headers(viewer),
        },
    )


@router.get("/credentials/{award_id}/badge.svg", response_model=None)
def baked_svg(
    session: DbSession, viewer: PagePrincipal, award_id: str, download: bool = False
) -> Response:
    award = _visible_award(session, award_id=award_id, viewer=viewer)
    label = str(award.credential.get("name", "badge"))
    svg = baking.bake_svg(baking.default_badge_svg(label), json.dumps(award.credential))
    return Response(
        svg,
        media_type="image/svg+xml",
        headers={
            "Content-Disposition": _disposition(download, f"badge-{award.id}.svg"),
            **_cache_headers(viewer),
        },
    )


@router.get("/credentials/{award_id}/certificate.pdf", response_model=None)
def certificate_pdf(
    session: DbSession, settings: SettingsDep, viewer: PagePrincipal, award_id: str
) -> Response:
    """A printable certificate that carries the signed credential as an attachment, with a QR
    code to the verification page."""
    award = _visible_award(session, award_id=award_id, viewer=viewer)
    record = record_views.record_context(session, settings=settings, award=award)
    pdf = certificate.certificate_pdf(
        award.credential,
        learner_name=record.learner_name,
        verify_url=record.verify_url,
        hours=record.hours,
        skills=[s["name"] for s in record.skills],
    )
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="certificate-{award.id}.pdf"',
            **_cache_headers(viewer, max_age=300),
        },
    )


@router.get("/credentials/{award_id}/share.png", response_model=None)
def share_png(
    session: DbSession, settings: SettingsDep, viewer: PagePrincipal, award_id: str
) -> Response:
    """The Open Graph picture (1200x630) that link previews show."""
    award = _visible_award(session, award_id=award_id, viewer=viewer)
    issuer = award.credential.get("issuer") or {}
    png = share_image.share_image_png(
        title=str(award.credential.get("name", "")),
        issuer=str(issuer.get("name", "")),
        subtitle=f"Awarded {award.valid_from.strftime('%d %B %Y')}",
        verdict_line="Verifiable Open Badges 3.0 credential",
    )
    return Response(png, media_type="image/png", headers=_cache_headers(viewer, max_age=3600))


@router.get("/status-lists/{list_id}", response_model=None)
def status_list_credential(request: Request, session: DbSession, list_id: str) -> Response:
    try:
        row = service.public_status_list(session, list_id=uuid.UUID(list_id))
    except ValueError as exc:
        raise NotFound("no such status list") from exc
    etag = f"{row.id}-{row.revision}"
    if request.headers.get("if-none-match") == f'"{etag}"':
        return Response(status_code=304, headers={"ETag": f'"{etag}"'})
    # Short max-age: a revocation must reach verifiers within a minute.
    return _json(row.signed_credential, max_age=60, etag=etag)


@router.get("/institutions/{slug}/did.json", response_model=None)
def did_document(session: DbSession, settings: SettingsDep, slug: str) -> Response:
    return _json(
        service.did_document(session, settings=settings, slug=slug),
        media="application/did+json",
        max_age=300,
    )


@router.get("/achievements/{achievement_id}", response_model=None)
def achievement(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    viewer: PagePrincipal,
    achievement_id: str,
) -> Response:
    """The achievement: its OB 3.0 JSON for clients, a page with the ask box for browsers."""
    try:
        found = catalog.published_achievement(session, achievement_id=uuid.UUID(achievement_id))
    except ValueError as exc:
        raise NotFound("no such achievement") from exc
    if not _prefers_html(request):
        document = service.achievement_document(session, settings=settings, achievement=found)
        return _json(document, media="application/json", max_age=300)
    needs = catalog.prerequisite_ids(session, achievement_ids=[found.id]).get(found.id, [])
    names = {
        a.id: a.name
        for a in catalog.institution_achievements(session, institution_id=found.institution_id)
    }
    return render(
        request,
        "credentials/achievement.html",
        {
            "principal": viewer,
            "a": found,
            "prerequisites": [(p, names[p]) for p in needs if p in names],
            "widget_achievement_id": found.id,
            "widget_title": found.name,
        },
        headers=_cache_headers(viewer, max_age=300),
    )


def _prefers_html(request: Request) -> bool:
    """Browsers (text/html ranked above JSON) get the page; everyone else keeps the JSON."""
    accept = request.headers.get("accept", "")
    return "text/html" in accept and not wants_json(request)


@router.get("/achievements/{achievement_id}/image.png", response_model=None)
def achievement_image(session: DbSession, achievement_id: str) -> Response:
    try:
        found = catalog.published_achievement(session, achievement_id=uuid.UUID(achievement_id))
    except ValueError as exc:
        raise NotFound("no such achievement") from exc
    return Response(
        _badge_png(found.name),
        media_type="image/png",
        headers={"Cache-Control": "public, max-age=86400"},
    )
