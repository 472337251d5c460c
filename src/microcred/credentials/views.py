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

from microcred.catalog import service as catalog
from microcred.credentials import baking, service
from microcred.kit.errors import NotFound
from microcred.kit.web.deps import DbSession, SettingsDep
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


@router.get("/credentials/{award_id}", response_model=None)
def credential(
    request: Request, session: DbSession, settings: SettingsDep, award_id: str
) -> Response:
    """The credential: JSON-LD for `Accept: application/vc+ld+json` or JSON, a page otherwise."""
    award = service.public_award(session, award_id=_award_id(award_id))
    if wants_json(request):
        return _json(award.credential, max_age=60)
    verdict = service.verify_document(session, settings=settings, data=award.credential)
    document = award.credential
    return templates.TemplateResponse(
        request,
        "credential.html",
        {
            "credential": document,
            "award": award,
            "verdict": verdict,
            "issuer_name": document["issuer"]["name"],
            "achievement": document["credentialSubject"]["achievement"],
            "results": described_results(document),
        },
        headers={"Vary": "Accept", "Cache-Control": "public, max-age=60"},
    )


def described_results(document: dict[str, Any]) -> list[dict[str, str]]:
    """Each result with the name of its description, so the page can say what it means."""
    subject = document.get("credentialSubject", {})
    names = {
        d.get("id"): d.get("name", "")
        for d in subject.get("achievement", {}).get("resultDescription", []) or []
    }
    return [
        {"name": names.get(r.get("resultDescription"), "Result"), "value": str(r.get("value", ""))}
        for r in subject.get("result", []) or []
    ]


@router.get("/credentials/{award_id}.json", response_model=None)
def credential_download(session: DbSession, award_id: str) -> Response:
    award = service.public_award(session, award_id=_award_id(award_id))
    return Response(
        json.dumps(award.credential, indent=2),
        media_type=VC_MEDIA,
        headers={"Content-Disposition": f'attachment; filename="credential-{award.id}.json"'},
    )


@router.get("/credentials/{award_id}/badge.png", response_model=None)
def baked_png(session: DbSession, award_id: str) -> Response:
    award = service.public_award(session, award_id=_award_id(award_id))
    label = str(award.credential.get("name", "badge"))
    png = baking.bake_png(_badge_png(label), json.dumps(award.credential))
    return Response(
        png,
        media_type="image/png",
        headers={"Content-Disposition": f'inline; filename="badge-{award.id}.png"'},
    )


@router.get("/credentials/{award_id}/badge.svg", response_model=None)
def baked_svg(session: DbSession, award_id: str) -> Response:
    award = service.public_award(session, award_id=_award_id(award_id))
    label = str(award.credential.get("name", "badge"))
    svg = baking.bake_svg(baking.default_badge_svg(label), json.dumps(award.credential))
    return Response(
        svg,
        media_type="image/svg+xml",
        headers={"Content-Disposition": f'inline; filename="badge-{award.id}.svg"'},
    )


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
def achievement(session: DbSession, settings: SettingsDep, achievement_id: str) -> Response:
    try:
        found = catalog.published_achievement(session, achievement_id=uuid.UUID(achievement_id))
    except ValueError as exc:
        raise NotFound("no such achievement") from exc
    document = service.achievement_document(session, settings=settings, achievement=found)
    return _json(document, media="application/json", max_age=300)


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
