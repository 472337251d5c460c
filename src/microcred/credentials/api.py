"""JSON routes of the credentials context under /api/v1."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from pydantic import ValidationError

from microcred.credentials import bulk_csv, records, service
from microcred.credentials.schemas import (
    AuditEventOut,
    AwardIn,
    AwardOut,
    BulkIn,
    BulkOut,
    BulkRowOut,
    IssuerKeyOut,
    StatusChangeIn,
    VerdictOut,
)
from microcred.identity.deps import Issuer, KeyManager, Reader, StatusManager
from microcred.kit.errors import (
    DomainError,
    InvalidInput,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from microcred.kit.pagination import Page
from microcred.kit.web.deps import DbSession, PageDep, SettingsDep
from microcred.kit.web.problems import problem_response

router = APIRouter(tags=["credentials"])


class BulkRejected(DomainError):
    status = 422
    slug = "bulk-rejected"
    title = "Some rows cannot be issued; nothing was written"


IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="repeat a request safely: the same key returns the first result",
    ),
]


def _evidence(items: list[Any]) -> list[service.EvidenceIn]:
    return [
        service.EvidenceIn(
            url=str(e.url) if e.url else None,
            name=e.name,
            description=e.description,
            narrative=e.narrative,
            genre=e.genre,
        )
        for e in items
    ]


@router.get("/awards", response_model=Page[AwardOut])
def list_awards(
    session: DbSession,
    principal: Reader,
    page: PageDep,
    learner_id: uuid.UUID | None = None,
    achievement_id: uuid.UUID | None = None,
    state: Literal["active", "suspended", "revoked"] | None = None,
) -> object:
    rows, total = service.list_awards(
        session,
        institution_id=principal.tenant,
        page=page,
        learner_id=learner_id,
        achievement_id=achievement_id,
        state=state,
    )
    return Page[AwardOut].of([AwardOut.model_validate(r) for r in rows], total=total, page=page)


@router.post(
    "/awards",
    response_model=AwardOut,
    status_code=status.HTTP_201_CREATED,
    responses={200: {"description": "replayed: the award made by the first request"}},
)
def issue_award(
    session: DbSession,
    settings: SettingsDep,
    principal: Issuer,
    body: AwardIn,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> object:
    if body.valid_from is not None and body.valid_from.tzinfo is None:
        raise InvalidInput("valid_from must carry a time zone")
    award, created = service.issue_award(
        session,
        actor=principal,
        settings=settings,
        institution_id=principal.tenant,
        achievement_id=body.achievement_id,
        learner_id=body.learner_id,
        results=[service.ResultIn(r.key, r.value) for r in body.results],
        evidence=_evidence(body.evidence),
        valid_from=body.valid_from,
        idempotency_key=idempotency_key,
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = str(award.credential["id"])
    return award


ParsedRows = tuple[list[service.BulkRow | str], dict[str, Any]]


async def _bulk_rows(request: Request) -> ParsedRows:
    """Read and parse the body here (async) so the route itself can run in a worker thread."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    if content_type == "text/csv":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidInput("the CSV must be UTF-8") from exc
        return bulk_csv.parse(text), {}
    if content_type in ("application/json", ""):
        try:
            data = BulkIn.model_validate_json(body)
        except ValidationError as exc:
            errors = [
                {"pointer": "/" + "/".join(str(p) for p in e["loc"]), "detail": e["msg"]}
                for e in exc.errors()[:50]
            ]
            raise InvalidInput("the bulk request is not valid", errors=errors) from exc
        rows: list[service.BulkRow | str] = [
            service.BulkRow(
                learner_email=r.learner_email,
                achievement=r.achievement,
                learner_name=r.learner_name,
                results=tuple(service.ResultIn(k, v) for k, v in r.results.items()),
                evidence=tuple(_evidence(r.evidence)),
            )
            for r in data.rows
        ]
        return rows, {"mode": data.mode, "create_learners": data.create_learners}
    raise UnsupportedMediaType("send application/json or text/csv")


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """Pydantic nests definitions under `$defs`; OpenAPI cannot resolve those, so inline them."""
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(definitions[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


@router.post(
    "/awards/bulk",
    response_model=BulkOut,
    responses={
        422: {
            "description": "all_or_nothing and some rows failed: a problem document "
            "(application/problem+json) carrying the per-row report"
        }
    },
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": _inline_refs(BulkIn.model_json_schema())},
                "text/csv": {"schema": {"type": "string"}},
            }
        }
    },
)
def bulk_issue(
    request: Request,
    parsed: Annotated[ParsedRows, Depends(_bulk_rows)],
    session: DbSession,
    settings: SettingsDep,
    principal: Issuer,
    idempotency_key: IdempotencyKey = None,
    mode: Annotated[Literal["all_or_nothing", "per_row"] | None, Query()] = None,
    create_learners: Annotated[bool | None, Query()] = None,
) -> object:
    """Issue many awards. Every row is validated first; the report says what happened to each.

    `all_or_nothing` (default) writes nothing if any row fails (answer 422 with the report);
    `per_row` issues every valid row. CSV options come as query parameters.
    """
    rows, options = parsed
    report = service.bulk_issue(
        session,
        actor=principal,
        settings=settings,
        institution_id=principal.tenant,
        rows=rows,
        mode=mode or options.get("mode", "all_or_nothing"),
        create_learners=bool(
            create_learners
            if create_learners is not None
            else options.get("create_learners", False)
        ),
        idempotency_key=idempotency_key,
    )
    out = BulkOut(
        mode=report.mode,
        written=report.written,
        issued=report.issued,
        errors=report.errors,
        rows=[
            BulkRowOut(
                row=r.row,
                status=r.status,
                award_id=r.award_id,
                credential_id=r.credential_id,
                error=r.error,
            )
            for r in report.rows
        ],
    )
    if report.errors and report.mode == "all_or_nothing":
        # An RFC 9457 problem whose extension members are the full per-row report.
        rejected = BulkRejected(
            f"{report.errors} of {len(report.rows)} rows have errors; nothing was written",
            **out.model_dump(mode="json"),
        )
        return problem_response(rejected.to_problem(instance=request.url.path))
    return out


@router.get("/awards/{award_id}", response_model=AwardOut)
def get_award(session: DbSession, principal: Reader, award_id: uuid.UUID) -> object:
    return service.get_award(session, institution_id=principal.tenant, award_id=award_id)


@router.get("/awards/{award_id}/history", response_model=list[AuditEventOut])
def award_history(session: DbSession, principal: Reader, award_id: uuid.UUID) -> object:
    return service.award_history(session, institution_id=principal.tenant, award_id=award_id)


def _status_route(action: service.StatusAction) -> Any:
    def change(
        session: DbSession,
        settings: SettingsDep,
        principal: StatusManager,
        award_id: uuid.UUID,
        body: StatusChangeIn,
    ) -> object:
        award, _ = service.change_status(
            session,
            actor=principal,
            settings=settings,
            institution_id=principal.tenant,
            award_id=award_id,
            action=action,
            reason=body.reason,
        )
        return award

    change.__name__ = f"{action}_award"
    change.__doc__ = f"{action.capitalize()} an award with a reason; repeating it is harmless."
    return change


for _action in ("revoke", "suspend", "reinstate"):
    router.add_api_route(
        f"/awards/{{award_id}}/{_action}",
        _status_route(_action),
        methods=["POST"],
        response_model=AwardOut,
    )


@router.get("/keys", response_model=list[IssuerKeyOut])
def list_keys(session: DbSession, principal: Reader) -> object:
    return service.list_keys(session, institution_id=principal.tenant)


@router.post("/keys/rotate", response_model=IssuerKeyOut, status_code=status.HTTP_201_CREATED)
def rotate_key(session: DbSession, settings: SettingsDep, principal: KeyManager) -> object:
    return service.rotate_key(
        session, actor=principal, settings=settings, institution_id=principal.tenant
    )


async def _raw_body(request: Request) -> bytes:
    return await request.body()


@router.post(
    "/verify",
    response_model=VerdictOut,
    tags=["verification"],
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "application/vc+ld+json": {"schema": {"type": "object"}},
                "image/png": {"schema": {"type": "string", "format": "binary"}},
                "image/svg+xml": {"schema": {"type": "string"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            }
        }
    },
)
def verify(
    body: Annotated[bytes, Depends(_raw_body)], session: DbSession, settings: SettingsDep
) -> object:
    """Verify a credential (JSON, a baked PNG/SVG badge or a PDF certificate). Public.

    The answer is always 200 with a verdict (VALID/INVALID) and a reason per check; only a
    request that carries no credential at all is an error.
    """
    if len(body) > settings.max_upload_bytes:
        raise PayloadTooLarge(f"at most {settings.max_upload_bytes} bytes")
    if not body.strip():
        raise InvalidInput("send the credential as the request body")
    verdict = service.verify_document(session, settings=settings, data=body)
    records.record_verification(
        session,
        source="api",
        verdict=verdict.verdict,
        credential_id=str((verdict.credential or {}).get("id") or "") or None,
        settings=settings,
    )
    return verdict.to_dict()
