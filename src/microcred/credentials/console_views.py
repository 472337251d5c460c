"""The staff console's credential pages (usable without JavaScript): the dashboard, awards (list,
issue one, bulk issue from CSV with a preview, status changes with their history), the issuer
profile and its signing keys.

Every page needs a signed-in staff member and reads only their institution's data; another
institution's award reads as absent (404). Forms are validated with the API's schemas and a
refused form comes back as typed, with each error beside its field.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile as StarletteUpload

from microcred.catalog import service as catalog
from microcred.credentials import bulk_csv, records, service
from microcred.credentials.models import Award
from microcred.credentials.schemas import EvidenceItem, ResultValue, StatusChangeIn
from microcred.identity import service as identity
from microcred.identity.deps import PagePrincipal
from microcred.identity.schemas import InstitutionUpdate
from microcred.kit.db import utcnow
from microcred.kit.errors import (
    DomainError,
    IdempotencyMismatch,
    InvalidInput,
)
from microcred.kit.pagination import PageRequest
from microcred.kit.principal import Principal
from microcred.kit.settings import Settings
from microcred.kit.web import csrf
from microcred.kit.web.deps import DbSession, PageDep, SettingsDep
from microcred.kit.web.pages import PostedFields, one, render, require_staff, undo_on_refusal

router = APIRouter(include_in_schema=False)

STATES = ("active", "suspended", "revoked")
ACTIONS: dict[str, service.StatusAction] = {
    "revoke": "revoke",
    "suspend": "suspend",
    "reinstate": "reinstate",
}
# Form idempotency keys are minted here; anything else posted is not one of ours.
FORM_KEY = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
# Room under the body limit for the confirm form's own fields around the CSV it carries.
FORM_ROOM = 16 * 1024
LIST_LIMIT = 500
KPI_DAYS = 30
# Fixed texts for the redirect after a change: a query parameter picks one, so a crafted link
# cannot put its own words on a console page.
NOTICES = {
    "issued": "The credential was issued; the learner is told by e-mail.",
    "replayed": "This form was already submitted: this is the credential it issued (no second "
    "one was made).",
    "revoke": "The credential was revoked.",
    "suspend": "The credential was suspended.",
    "reinstate": "The credential was reinstated.",
    "unchanged": "The credential was already in that state; nothing changed.",
    "saved": "The issuer profile was saved; credentials issued from now on carry it.",
    "profile_unchanged": "Nothing changed.",
    "rotated": "A new signing key is active. Credentials signed with the old key stay valid.",
    "identity": "The learner's identity check was recorded; their record pages show it.",
}
ACTION_LABELS = {"revoke": "Revoke", "suspend": "Suspend", "reinstate": "Reinstate"}


# --- shared page plumbing ---------------------------------------------------------------------


def _page(
    request: Request,
    principal: Principal,
    name: str,
    context: dict[str, object],
    status_code: int = 200,
) -> Response:
    roles = {
        "is_admin": "admin" in principal.roles,
        "can_issue": bool({"admin", "issuer"} & principal.roles),
    }
    return render(request, name, {**context, **roles}, principal=principal, status_code=status_code)


def _field_errors(exc: ValidationError, aliases: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for error in exc.errors():
        loc = error.get("loc") or ("form",)
        name = aliases.get(str(loc[0]), str(loc[0]))
        message = str(error.get("msg", "is not valid")).removeprefix("Value error, ")
        if error.get("type") in ("missing", "string_too_short") and not error.get("input"):
            message = "This is required."
        out.setdefault(name, message)
    return out


def _form_key() -> str:
    return secrets.token_urlsafe(24)


def _achievement_names(session: Session, institution_id: uuid.UUID) -> dict[uuid.UUID, str]:
    rows, _ = catalog.list_achievements(
        session, institution_id=institution_id, page=PageRequest(LIST_LIMIT, 0)
    )
    return {a.id: a.name for a in rows}


def _active_achievements(session: Session, institution_id: uuid.UUID) -> list[Any]:
    rows, _ = catalog.list_achievements(
        session,
        institution_id=institution_id,
        page=PageRequest(LIST_LIMIT, 0),
        status="active",
    )
    return list(rows)


# --- the dashboard ----------------------------------------------------------------------------


@router.get("/console")
def dashboard(request: Request, session: DbSession, principal: PagePrincipal) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    staff = require_staff(principal)
    institution = identity.get_institution(session, institution_id=staff.tenant)
    recent = records.sharing_kpis(
        session, institution_id=staff.tenant, since=utcnow() - dt.timedelta(days=KPI_DAYS)
    )
    overall = records.sharing_kpis(session, institution_id=staff.tenant)
    active, active_total = catalog.list_achievements(
        session,
        institution_id=staff.tenant,
        page=PageRequest(LIST_LIMIT, 0),
        status="active",
    )
    channels = sorted(set(recent.shares_by_channel) | set(overall.shares_by_channel))
    sources = sorted(set(recent.verifications_by_source) | set(overall.verifications_by_source))
    return _page(
        request,
        staff,
        "console/home.html",
        {
            "institution": institution,
            "recent": recent,
            "overall": overall,
            "days": KPI_DAYS,
            "channels": channels,
            "sources": sources,
            "achievements": active,
            "active_total": active_total,
        },
    )


# --- awards -----------------------------------------------------------------------------------


@router.get("/console/awards")
def awards(
    request: Request,
    session: DbSession,
    principal: PagePrincipal,
    page: PageDep,
    state: Annotated[str, Query(max_length=20)] = "",
    achievement: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    staff = require_staff(principal)
    # An unknown filter value shows everything rather than an error: it came from a link.
    state_filter = state if state in STATES else None
    try:
        achievement_filter: uuid.UUID | None = uuid.UUID(achievement) if achievement else None
    except ValueError:
        achievement_filter = None
    rows, total = service.list_awards(
        session,
        institution_id=staff.tenant,
        page=page,
        achievement_id=achievement_filter,
        state=state_filter,
    )
    names = _achievement_names(session, staff.tenant)
    learners = {
        learner_id: identity.get_learner(
            session, institution_id=staff.tenant, learner_id=learner_id
        )
        for learner_id in dict.fromkeys(a.learner_id for a in rows)
    }
    filters = {
        "state": state_filter or "",
        "achievement": str(achievement_filter) if achievement_filter else "",
    }

    def link(offset: int) -> str:
        query = {k: v for k, v in filters.items() if v}
        if offset:
            query["offset"] = str(offset)
        if page.limit != request.app.state.settings.page_size_default:
            query["limit"] = str(page.limit)
        return "/console/awards" + (f"?{urlencode(query)}" if query else "")

    after = page.offset + len(rows)
    return _page(
        request,
        staff,
        "console/awards.html",
        {
            "rows": [
                {
                    "award": a,
                    "learner": learners[a.learner_id],
                    "achievement_name": names.get(a.achievement_id) or a.credential.get("name", ""),
                }
                for a in rows
            ],
            "total": total,
            "first": page.offset + 1 if rows else 0,
            "last": after,
            "previous": link(max(page.offset - page.limit, 0)) if page.offset else None,
            "next": link(after) if after < total else None,
            "filters": filters,
            "states": STATES,
            "achievement_names": sorted(names.items(), key=lambda item: item[1]),
        },
    )


def _issue_page(
    request: Request,
    session: Session,
    staff: Principal,
    *,
    form: dict[str, str],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return _page(
        request,
        staff,
        "console/issue.html",
        {
            "form": form,
            "errors": errors or {},
            "achievements": _active_achievements(session, staff.tenant),
        },
        status_code=status_code,
    )


ISSUE_FIELDS = (
    "learner_email",
    "achievement_id",
    "results",
    "evidence_name",
    "evidence_url",
    "evidence_narrative",
    "idempotency_key",
)


@router.get("/console/awards/issue")
def issue_form(
    request: Request,
    session: DbSession,
    principal: PagePrincipal,
    achievement: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    staff = require_staff(principal)
    staff.require_role("issuer")
    form = dict.fromkeys(ISSUE_FIELDS, "")
    form["achievement_id"] = achievement
    # One key per form shown: submitting it twice (a double click, a reload) issues once.
    form["idempotency_key"] = _form_key()
    return _issue_page(request, session, staff, form=form)


def _results(text: str) -> tuple[list[service.ResultIn], str | None]:
    """`key=value` lines, each checked by the API's result schema."""
    out: list[service.ResultIn] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, equals, value = line.partition("=")
        if not equals:
            return [], f"Line {number}: write each result as key=value."
        try:
            result = ResultValue.model_validate({"key": key.strip(), "value": value.strip()})
        except ValidationError as exc:
            problem = exc.errors()[0]
            return [], f"Line {number}: {problem['loc'][0]} {problem['msg'].lower()}."
        out.append(service.ResultIn(result.key, result.value))
    return out, None


def _issue_field(exc: DomainError) -> str:
    """Which field a service refusal is about, from its message (the services name it)."""
    detail = exc.detail
    if detail.startswith("result"):
        return "results"
    if detail.startswith(("achievement", "no such achievement")):
        return "achievement_id"
    if "learner" in detail:
        return "learner_email"
    return "form"


@router.post("/console/awards/issue")
def issue(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    principal: PagePrincipal,
    fields: PostedFields,
) -> Response:
    staff = require_staff(principal)
    csrf.check(request, one(fields, "csrf_token"))
    staff.require_role("issuer")
    form = {name: one(fields, name).strip() for name in ISSUE_FIELDS}
    errors: dict[str, str] = {}
    if not FORM_KEY.match(form["idempotency_key"]):
        # Without our key a double submit could not be recognised; start from a fresh form.
        form["idempotency_key"] = _form_key()
        errors["form"] = "The form expired; check the fields and submit again."
    learner = None
    if not form["learner_email"]:
        errors["learner_email"] = "This is required."
    else:
        learner = identity.find_learner(
            session, institution_id=staff.tenant, email=form["learner_email"]
        )
        if learner is None:
            errors["learner_email"] = "No learner of your institution has this e-mail address."
    try:
        achievement_id = uuid.UUID(form["achievement_id"])
    except ValueError:
        errors["achievement_id"] = "Choose an achievement."
    results, results_error = _results(form["results"])
    if results_error:
        errors["results"] = results_error
    evidence: list[service.EvidenceIn] = []
    if form["evidence_name"] or form["evidence_url"] or form["evidence_narrative"]:
        try:
            item = EvidenceItem.model_validate(
                {
                    "name": form["evidence_name"] or None,
                    "url": form["evidence_url"] or None,
                    "narrative": form["evidence_narrative"] or None,
                }
            )
            evidence.append(
                service.EvidenceIn(
                    name=item.name,
                    url=str(item.url) if item.url else None,
                    narrative=item.narrative,
                )
            )
        except ValidationError as exc:
            errors.update(
                _field_errors(
                    exc,
                    {
                        "name": "evidence_name",
                        "url": "evidence_url",
                        "narrative": "evidence_narrative",
                    },
                )
            )
    if errors or learner is None:
        return _issue_page(request, session, staff, form=form, errors=errors, status_code=422)
    try:
        with undo_on_refusal(session):
            award, created = service.issue_award(
                session,
                actor=staff,
                settings=settings,
                institution_id=staff.tenant,
                achievement_id=achievement_id,
                learner_id=learner.id,
                results=results,
                evidence=evidence,
                idempotency_key=f"console-{form['idempotency_key']}",
            )
    except IdempotencyMismatch:
        # The same form already issued to someone else (it was changed and sent again).
        form["idempotency_key"] = _form_key()
        return _issue_page(
            request,
            session,
            staff,
            form=form,
            errors={
                "form": "This form already issued a credential to another learner or of "
                "another achievement. Check the fields and submit again to issue a new one."
            },
            status_code=409,
        )
    except DomainError as exc:
        return _issue_page(
            request,
            session,
            staff,
            form=form,
            errors={_issue_field(exc): exc.detail},
            status_code=exc.status,
        )
    done = "issued" if created else "replayed"
    return RedirectResponse(f"/console/awards/{award.id}?done={done}", status_code=303)


def _actions(award: Award, status_purpose: str) -> list[service.StatusAction]:
    """The status changes this award allows: suspension needs a suspension status entry."""
    out: list[service.StatusAction] = []
    if status_purpose == "suspension" and award.state == "active":
        out.append("suspend")
    if status_purpose == "suspension" and award.state == "suspended":
        out.append("reinstate")
    if award.state in ("active", "suspended"):
        out.append("revoke")
    return out


def _award_page(
    request: Request,
    session: Session,
    staff: Principal,
    award_id: uuid.UUID,
    *,
    notice: str | None = None,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    award = service.get_award(session, institution_id=staff.tenant, award_id=award_id)
    learner = identity.get_learner(
        session, institution_id=staff.tenant, learner_id=award.learner_id
    )
    achievement = catalog.get_achievement(
        session, institution_id=staff.tenant, achievement_id=award.achievement_id
    )
    shares, verifications = records.award_kpis(session, award=award)
    history = service.award_history(session, institution_id=staff.tenant, award_id=award.id)
    staff_rows, _ = identity.list_staff(
        session, institution_id=staff.tenant, page=PageRequest(LIST_LIMIT, 0)
    )
    people = {f"staff:{s.id}": s.display_name for s in staff_rows}
    return _page(
        request,
        staff,
        "console/award.html",
        {
            "award": award,
            "learner": learner,
            "assurance_levels": identity.IDENTITY_ASSURANCE,
            "achievement": achievement,
            "credential": award.credential,
            "results": records.described_results(award.credential),
            "evidence": records.evidence_of(award),
            "shares": shares,
            "share_total": sum(shares.values()),
            "verifications": verifications,
            "history": [
                {"event": e, "actor": people.get(e.actor, e.actor)} for e in reversed(history)
            ],
            "actions": _actions(award, achievement.status_purpose),
            "action_labels": ACTION_LABELS,
            "notice": notice,
            "errors": errors or {},
            "form": form or {},
        },
        status_code=status_code,
    )


@router.get("/console/awards/bulk")
def bulk_form(request: Request, principal: PagePrincipal) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    staff = require_staff(principal)
    staff.require_role("issuer")
    return _bulk_page(request, staff, form=_BulkForm.blank())


@router.get("/console/awards/{award_id}")
def award_detail(
    request: Request,
    session: DbSession,
    principal: PagePrincipal,
    award_id: uuid.UUID,
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    staff = require_staff(principal)
    return _award_page(request, session, staff, award_id, notice=NOTICES.get(done))


@router.post("/console/awards/{award_id}/identity-assurance")
def identity_assurance(
    request: Request,
    session: DbSession,
    principal: PagePrincipal,
    award_id: uuid.UUID,
    fields: PostedFields,
) -> Response:
    """Record how the award's learner was identified (from the award, where staff meet them)."""
    staff = require_staff(principal)
    csrf.check(request, one(fields, "csrf_token"))
    award = service.get_award(session, institution_id=staff.tenant, award_id=award_id)
    try:
        with undo_on_refusal(session):
            identity.set_identity_assurance(
                session, actor=staff, learner_id=award.learner_id, level=one(fields, "level")
            )
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _award_page(
            request,
            session,
            staff,
            award_id,
            errors={"level": exc.detail},
            status_code=exc.status,
        )
    return RedirectResponse(f"/console/awards/{award_id}?done=identity", status_code=303)


@router.post("/console/awards/{award_id}/status")
def change_status(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    principal: PagePrincipal,
    award_id: uuid.UUID,
    fields: PostedFields,
) -> Response:
    staff = require_staff(principal)
    csrf.check(request, one(fields, "csrf_token"))
    staff.require_role("issuer")
    action = one(fields, "action")
    reason = one(fields, "reason").strip()
    form = {"action": action, "reason": reason}
    errors: dict[str, str] = {}
    chosen = ACTIONS.get(action)
    if chosen is None:
        errors["action"] = "Choose what to do."
    try:
        StatusChangeIn.model_validate({"reason": reason})
    except ValidationError as exc:
        errors.update(_field_errors(exc, {}))
    if errors or chosen is None:
        return _award_page(
            request, session, staff, award_id, errors=errors, form=form, status_code=422
        )
    try:
        with undo_on_refusal(session):
            _, changed = service.change_status(
                session,
                actor=staff,
                settings=settings,
                institution_id=staff.tenant,
                award_id=award_id,
                action=chosen,
                reason=reason,
            )
    except DomainError as exc:
        if exc.status == 404:
            raise
        return _award_page(
            request,
            session,
            staff,
            award_id,
            errors={"action": exc.detail},
            form=form,
            status_code=exc.status,
        )
    done = chosen if changed else "unchanged"
    return RedirectResponse(f"/console/awards/{award_id}?done={done}", status_code=303)


# --- bulk issue ---------------------------------------------------------------------------------


def csv_limit(settings: Settings) -> int:
    """The largest CSV the console takes: the confirm step sends it back inside a form, which
    must stay under the request body limit with its other fields."""
    return max(settings.max_upload_bytes // 2, settings.max_upload_bytes - FORM_ROOM)


@dataclass(frozen=True, slots=True)
class _BulkForm:
    csrf_token: str
    pasted: str
    upload: bytes | None  # None when no file was chosen
    upload_name: str
    mode: str
    create_learners: bool
    idempotency_key: str

    @classmethod
    def blank(cls) -> _BulkForm:
        return cls("", "", None, "", "all_or_nothing", False, "")


async def _posted_bulk(request: Request) -> _BulkForm:
    """The bulk forms (multipart): a CSV file is read to one byte past the limit so an
    oversized file is refused without holding all of it; the body limit caps the rest."""
    settings: Settings = request.app.state.settings
    limit = csv_limit(settings)
    # A text field may carry a whole CSV (the confirm form): allow parts up to the body limit.
    async with request.form(max_part_size=settings.max_upload_bytes) as raw:

        def text(name: str) -> str:
            value = raw.get(name)
            return value if isinstance(value, str) else ""

        upload = raw.get("file")
        content: bytes | None = None
        name = ""
        if isinstance(upload, StarletteUpload) and (upload.filename or upload.size):
            content = await upload.read(limit + 1)
            name = upload.filename or ""
        return _BulkForm(
            csrf_token=text("csrf_token"),
            pasted=text("csv"),
            upload=content,
            upload_name=name,
            mode=text("mode"),
            create_learners=text("create_learners") == "yes",
            idempotency_key=text("idempotency_key"),
        )


PostedBulk = Annotated[_BulkForm, Depends(_posted_bulk)]


class _CsvRefused(Exception):
    def __init__(self, message: str, status: int = 422) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def _csv_text(form: _BulkForm, settings: Settings) -> str:
    """The CSV as text, from the file or the pasted box, within the size limit."""
    limit = csv_limit(settings)
    if form.upload is not None and form.pasted.strip():
        raise _CsvRefused("Choose a file or paste the CSV, not both.")
    if form.upload is not None:
        if len(form.upload) > limit:
            raise _CsvRefused(
                f"The file is larger than {limit:,} bytes; split it into smaller files.", 413
            )
        if not form.upload.strip():
            raise _CsvRefused("The file is empty: it needs a header row and one row per award.")
        try:
            return form.upload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _CsvRefused(
                "The file is not UTF-8 text. Save it as “CSV UTF-8” and upload it again."
            ) from exc
    if len(form.pasted.encode("utf-8")) > limit:
        raise _CsvRefused(
            f"The CSV is larger than {limit:,} bytes; split it into smaller parts.", 413
        )
    if not form.pasted.strip():
        raise _CsvRefused("Choose a CSV file or paste the CSV text.")
    return form.pasted


def _mode(form: _BulkForm) -> Literal["all_or_nothing", "per_row"]:
    if form.mode == "per_row":
        return "per_row"
    if form.mode in ("", "all_or_nothing"):
        return "all_or_nothing"
    raise _CsvRefused("Choose how rows with errors are handled.")


def _bulk_page(
    request: Request,
    staff: Principal,
    *,
    form: _BulkForm,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    return _page(
        request,
        staff,
        "console/bulk.html",
        {
            "form": form,
            "error": error,
            "limit": csv_limit(request.app.state.settings),
            "required": bulk_csv.REQUIRED,
            "optional": bulk_csv.OPTIONAL,
        },
        status_code=status_code,
    )


def _report_rows(
    rows: Sequence[service.BulkRow | str], report: service.BulkReport
) -> list[dict[str, Any]]:
    out = []
    for outcome in report.rows:
        row = rows[outcome.row]
        out.append(
            {
                "number": outcome.row + 1,
                "row": row if isinstance(row, service.BulkRow) else None,
                "outcome": outcome,
            }
        )
    return out


def _checked_rows(
    form: _BulkForm, settings: Settings
) -> tuple[str, Literal["all_or_nothing", "per_row"], list[service.BulkRow | str]]:
    text = _csv_text(form, settings)
    mode = _mode(form)
    try:
        return text, mode, bulk_csv.parse(text)
    except InvalidInput as exc:
        raise _CsvRefused(f"The CSV cannot be read: {exc.detail}.") from exc


@router.post("/console/awards/bulk/preview")
def bulk_preview(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    principal: PagePrincipal,
    form: PostedBulk,
) -> Response:
    staff = require_staff(principal)
    csrf.check(request, form.csrf_token)
    staff.require_role("issuer")
    try:
        text, mode, rows = _checked_rows(form, settings)
        # Validation only: the dry run reads and checks every row and writes nothing.
        report = service.bulk_issue(
            session,
            actor=staff,
            settings=settings,
            institution_id=staff.tenant,
            rows=rows,
            mode=mode,
            create_learners=form.create_learners,
            dry_run=True,
        )
    except _CsvRefused as exc:
        return _bulk_page(request, staff, form=form, error=exc.message, status_code=exc.status)
    except InvalidInput as exc:
        return _bulk_page(request, staff, form=form, error=exc.detail, status_code=exc.status)
    ready = sum(1 for r in report.rows if r.status == "not_written")
    return _page(
        request,
        staff,
        "console/bulk_preview.html",
        {
            "stage": "preview",
            "rows": _report_rows(rows, report),
            "report": report,
            "ready": ready,
            "can_confirm": ready > 0 and (mode == "per_row" or not report.errors),
            "csv": text,
            "mode": mode,
            "create_learners": form.create_learners,
            "idempotency_key": _form_key(),
        },
        status_code=422 if report.errors else 200,
    )


@router.post("/console/awards/bulk/issue")
def bulk_issue(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    principal: PagePrincipal,
    form: PostedBulk,
) -> Response:
    staff = require_staff(principal)
    csrf.check(request, form.csrf_token)
    staff.require_role("issuer")
    try:
        if not FORM_KEY.match(form.idempotency_key):
            raise _CsvRefused("The confirmation expired; upload the CSV again to preview it.")
        text, mode, rows = _checked_rows(form, settings)
        with undo_on_refusal(session):
            report = service.bulk_issue(
                session,
                actor=staff,
                settings=settings,
                institution_id=staff.tenant,
                rows=rows,
                mode=mode,
                create_learners=form.create_learners,
                idempotency_key=f"console-bulk-{form.idempotency_key}",
            )
    except _CsvRefused as exc:
        return _bulk_page(request, staff, form=form, error=exc.message, status_code=exc.status)
    except DomainError as exc:
        return _bulk_page(request, staff, form=form, error=exc.detail, status_code=exc.status)
    replayed = sum(1 for r in report.rows if r.status == "replayed")
    return _page(
        request,
        staff,
        "console/bulk_preview.html",
        {
            "stage": "issued",
            "rows": _report_rows(rows, report),
            "report": report,
            "replayed": replayed,
            "csv": text,
            "mode": mode,
            "create_learners": form.create_learners,
        },
        # All or nothing with a failing row (the data changed since the preview): refused.
        status_code=422 if report.errors and mode == "all_or_nothing" else 200,
    )


# --- the issuer profile and its keys ----------------------------------------------------------


PROFILE_FIELDS = ("name", "url", "email", "description")


def _current_did(session: Session, settings: Settings, staff: Principal) -> str | None:
    """The issuer's DID as credentials name it now (a did:key issuer has none before its first
    key exists)."""
    institution = identity.get_institution(session, institution_id=staff.tenant)
    if institution.did_method == "web":
        return service.did_web(settings, institution)
    active = [
        k for k in service.list_keys(session, institution_id=staff.tenant) if k.state == "active"
    ]
    return service.issuer_did(settings, institution, active[0]) if active else None


def _institution_page(
    request: Request,
    session: Session,
    settings: Settings,
    staff: Principal,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    institution = identity.get_institution(session, institution_id=staff.tenant)
    current = {name: getattr(institution, name) or "" for name in PROFILE_FIELDS}
    return _page(
        request,
        staff,
        "console/institution.html",
        {
            "institution": institution,
            "did": _current_did(session, settings, staff),
            "form": form or current,
            "errors": errors or {},
            "notice": notice,
        },
        status_code=status_code,
    )


@router.get("/console/institution")
def institution(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    principal: PagePrincipal,
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    staff = require_staff(principal)
    return _institution_page(request, session, settings, staff, notice=NOTICES.get(done))


def _profile_field(exc: DomainError) -> str:
    detail = exc.detail
    for name in PROFILE_FIELDS:
        if detail.startswith(f"{name}:"):
            return name
    return "email" if "e-mail" in detail else "form"


@router.post("/console/institution")
def update_institution(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    principal: PagePrincipal,
    fields: PostedFields,
) -> Response:
    staff = require_staff(principal)
    csrf.check(request, one(fields, "csrf_token"))
    staff.require_role("admin")
    form = {name: one(fields, name).strip() for name in PROFILE_FIELDS}
    try:
        InstitutionUpdate.model_validate(form)
    except ValidationError as exc:
        return _institution_page(
            request,
            session,
            settings,
            staff,
            form=form,
            errors=_field_errors(exc, {}),
            status_code=422,
        )
    saved = identity.get_institution(session, institution_id=staff.tenant)
    # Only what changed, so the audit row says what the edit did.
    changes = {k: v for k, v in form.items() if (getattr(saved, k) or "") != v}
    if not changes:
        return RedirectResponse("/console/institution?done=profile_unchanged", status_code=303)
    try:
        with undo_on_refusal(session):
            identity.update_institution(
                session, actor=staff, institution_id=staff.tenant, changes=changes
            )
    except DomainError as exc:
        return _institution_page(
            request,
            session,
            settings,
            staff,
            form=form,
            errors={_profile_field(exc): exc.detail},
            status_code=exc.status,
        )
    return RedirectResponse("/console/institution?done=saved", status_code=303)


def _keys_page(
    request: Request,
    session: Session,
    settings: Settings,
    staff: Principal,
    *,
    confirming: bool = False,
    error: str | None = None,
    notice: str | None = None,
    status_code: int = 200,
) -> Response:
    keys = sorted(
        service.list_keys(session, institution_id=staff.tenant),
        key=lambda k: (k.state != "active", -k.created_at.timestamp()),
    )
    institution = identity.get_institution(session, institution_id=staff.tenant)
    return _page(
        request,
        staff,
        "console/keys.html",
        {
            "keys": keys,
            "institution": institution,
            "did": _current_did(session, settings, staff),
            "confirming": confirming,
            "error": error,
            "notice": notice,
        },
        status_code=status_code,
    )


@router.get("/console/keys")
def keys(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    principal: PagePrincipal,
    done: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    staff = require_staff(principal)
    return _keys_page(request, session, settings, staff, notice=NOTICES.get(done))


@router.get("/console/keys/rotate")
def confirm_rotation(
    request: Request, session: DbSession, settings: SettingsDep, principal: PagePrincipal
) -> Response:
    if principal is None:
        return RedirectResponse("/sign-in", status_code=303)
    staff = require_staff(principal)
    staff.require_role("admin")
    return _keys_page(request, session, settings, staff, confirming=True)


@router.post("/console/keys/rotate")
def rotate_key(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    principal: PagePrincipal,
    fields: PostedFields,
) -> Response:
    staff = require_staff(principal)
    csrf.check(request, one(fields, "csrf_token"))
    staff.require_role("admin")
    if one(fields, "confirm") != "yes":
        return _keys_page(
            request,
            session,
            settings,
            staff,
            confirming=True,
            error="Confirm the rotation to go ahead.",
            status_code=422,
        )
    service.rotate_key(session, actor=staff, settings=settings, institution_id=staff.tenant)
    return RedirectResponse("/console/keys?done=rotated", status_code=303)
