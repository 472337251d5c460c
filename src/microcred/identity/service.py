"""Identity rules: institutions, staff and learner accounts, sign-in sessions, API tokens."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from microcred.identity import repository as repo
from microcred.identity.models import (
    STAFF_ROLES,
    ApiToken,
    Institution,
    Learner,
    SignInSession,
    StaffMember,
)
from microcred.identity.passwords import check_password, hash_password, hash_secret, new_secret
from microcred.kit import audit
from microcred.kit.db import utcnow
from microcred.kit.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from microcred.kit.pagination import PageRequest
from microcred.kit.principal import Principal

API_SCOPES = ("read", "catalog", "issue", "status", "people", "keys")
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")
MIN_PASSWORD = 10


def normalise_email(email: str) -> str:
    cleaned = email.strip().lower()
    if not _EMAIL.match(cleaned) or len(cleaned) > 320:
        raise InvalidInput(f"not an e-mail address: {email!r}")
    return cleaned


def _check_password_strength(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"passwords need at least {MIN_PASSWORD} characters")


# --- institutions -------------------------------------------------------------------------


def create_institution(
    session: Session,
    *,
    actor: Principal,
    slug: str,
    name: str,
    url: str | None = None,
    email: str | None = None,
    did_method: str = "web",
    description: str | None = None,
) -> Institution:
    if not _SLUG.match(slug):
        raise InvalidInput("slug: lower-case letters, digits and hyphens, 1-63 characters")
    if repo.institution_by_slug(session, slug) is not None:
        raise Conflict(f"an institution with slug {slug!r} exists")
    if did_method not in ("web", "key"):
        raise InvalidInput("did_method must be 'web' or 'key'")
    institution = Institution(
        slug=slug, name=name, url=url, email=email, did_method=did_method, description=description
    )
    session.add(institution)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="institution.create",
        subject_type="institution",
        subject_id=institution.id,
        institution_id=institution.id,
        after={"slug": slug, "name": name, "did_method": did_method},
    )
    return institution


def get_institution(session: Session, *, institution_id: uuid.UUID) -> Institution:
    institution = repo.institution_by_id(session, institution_id)
    if institution is None:
        raise NotFound("no such institution")
    return institution


def institution_by_slug(session: Session, *, slug: str) -> Institution:
    institution = repo.institution_by_slug(session, slug)
    if institution is None:
        raise NotFound(f"no institution {slug!r}")
    return institution


def list_institutions(session: Session) -> Sequence[Institution]:
    return repo.all_institutions(session)


def update_institution(
    session: Session, *, actor: Principal, institution_id: uuid.UUID, changes: dict[str, Any]
) -> Institution:
    actor.require_role("admin")
    institution = get_institution(session, institution_id=institution_id)
    allowed = {"name", "url", "email", "description"}
    unknown = set(changes) - allowed
    if unknown:
        raise InvalidInput(f"cannot change: {', '.join(sorted(unknown))}")
    if "name" in changes and not (changes["name"] or "").strip():
        raise InvalidInput("name: an institution needs a name")
    if changes.get("email"):
        changes = {**changes, "email": normalise_email(changes["email"])}
    if changes.get("url") and not str(changes["url"]).startswith(("https://", "http://")):
        raise InvalidInput("url: must be an http(s) URL")
    changes = {k: (v or None) if k != "name" else v for k, v in changes.items()}
    before = {k: getattr(institution, k) for k in changes}
    for key, value in changes.items():
        setattr(institution, key, value)
    audit.record(
        session,
        actor=actor,
        action="institution.update",
        subject_type="institution",
        subject_id=institution.id,
        institution_id=institution.id,
        before=before,
        after=changes,
    )
    return institution


# --- staff and learners ------------------------------------------------------------------


def create_staff_member(
    session: Session,
    *,
    actor: Principal,
    institution_id: uuid.UUID,
    email: str,
    display_name: str,
    roles: Sequence[str],
    password: str | None = None,
) -> StaffMember:
    actor.require_role("admin")
    email = normalise_email(email)
    bad = sorted(set(roles) - set(STAFF_ROLES))
    if bad or not roles:
        raise InvalidInput(f"roles must be among {', '.join(STAFF_ROLES)}; got {bad or 'none'}")
    if repo.staff_by_email(session, institution_id=institution_id, email=email):
        raise Conflict(f"a staff member {email} exists")
    if password is not None:
        _check_password_strength(password)
    member = StaffMember(
        institution_id=institution_id,
        email=email,
        display_name=display_name,
        roles=sorted(set(roles)),
        password_hash=hash_password(password) if password else None,
    )
    session.add(member)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="staff.create",
        subject_type="staff",
        subject_id=member.id,
        institution_id=institution_id,
        after={"email": email, "roles": member.roles},
    )
    return member


def create_learner(
    session: Session,
    *,
    actor: Principal,
    institution_id: uuid.UUID,
    email: str,
    display_name: str,
    password: str | None = None,
    did: str | None = None,
) -> Learner:
    actor.require_role("issuer")
    email = normalise_email(email)
    if repo.learner_by_email(session, institution_id=institution_id, email=email):
        raise Conflict(f"a learner {email} exists")
    if did is not None and not did.startswith("did:"):
        raise InvalidInput("did must be a DID (did:method:...)")
    if password is not None:
        _check_password_strength(password)
    learner = Learner(
        institution_id=institution_id,
        email=email,
        display_name=display_name,
        did=did,
        password_hash=hash_password(password) if password else None,
    )
    session.add(learner)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="learner.create",
        subject_type="learner",
        subject_id=learner.id,
        institution_id=institution_id,
        after={"email": email, "display_name": display_name, "did": did},
    )
    return learner


def get_learner(session: Session, *, institution_id: uuid.UUID, learner_id: uuid.UUID) -> Learner:
    learner = repo.learner_by_id(session, institution_id=institution_id, learner_id=learner_id)
    if learner is None:
        raise NotFound("no such learner in this institution")
    return learner


def set_share_reminders(session: Session, *, actor: Principal, enabled: bool) -> Learner:
    """The learner's own opt-in to a reminder about credentials they have not shared."""
    if actor.kind != "learner" or actor.id is None:
        raise Forbidden("only learners choose their reminders")
    learner = get_learner(session, institution_id=actor.tenant, learner_id=actor.id)
    if learner.share_reminders != enabled:
        audit.record(
            session,
            actor=actor,
            action="learner.share_reminders",
            subject_type="learner",
            subject_id=learner.id,
            institution_id=learner.institution_id,
            before={"share_reminders": learner.share_reminders},
            after={"share_reminders": enabled},
        )
        learner.share_reminders = enabled
        session.flush()
    return learner


def set_identity_assurance(
    session: Session, *, actor: Principal, learner_id: uuid.UUID, level: str
) -> Learner:
    """Staff record how they established the learner's identity; the record page shows it."""
    actor.require_role("issuer")
    if level not in IDENTITY_ASSURANCE:
        raise InvalidInput(
            f"unknown identity assurance {level!r}; one of {', '.join(IDENTITY_ASSURANCE)}"
        )
    learner = get_learner(session, institution_id=actor.tenant, learner_id=learner_id)
    if learner.identity_assurance != level:
        audit.record(
            session,
            actor=actor,
            action="learner.identity_assurance",
            subject_type="learner",
            subject_id=learner.id,
            institution_id=learner.institution_id,
            before={"identity_assurance": learner.identity_assurance},
            after={"identity_assurance": level},
        )
        learner.identity_assurance = level
        session.flush()
    return learner


IDENTITY_ASSURANCE = {
    "self_asserted": "Self-asserted: the learner's identity was not checked",
    "email": "E-mail address confirmed",
    "id_document": "Identity document checked by the institution",
    "in_person": "Identity checked in person",
}


def find_learner(session: Session, *, institution_id: uuid.UUID, email: str) -> Learner | None:
    return repo.learner_by_email(
        session, institution_id=institution_id, email=email.strip().lower()
    )


def learners_by_emails(
    session: Session, *, institution_id: uuid.UUID, emails: Sequence[str]
) -> dict[str, Learner]:
    return repo.learners_by_emails(session, institution_id=institution_id, emails=emails)


def list_learners(
    session: Session, *, institution_id: uuid.UUID, page: PageRequest
) -> tuple[Sequence[Learner], int]:
    return repo.page_learners(session, institution_id=institution_id, page=page)


def list_staff(
    session: Session, *, institution_id: uuid.UUID, page: PageRequest
) -> tuple[Sequence[StaffMember], int]:
    return repo.page_staff(session, institution_id=institution_id, page=page)


def revoke_learner(
    session: Session,
    *,
    actor: Principal,
    institution_id: uuid.UUID,
    learner_id: uuid.UUID,
    reason: str,
) -> Learner:
    """Close a learner's account (fraud, identity doubt): no new awards, no sign-in."""
    actor.require_role("admin", "issuer")
    learner = get_learner(session, institution_id=institution_id, learner_id=learner_id)
    if learner.status == "revoked":
        return learner
    learner.status = "revoked"
    audit.record(
        session,
        actor=actor,
        action="learner.revoke",
        subject_type="learner",
        subject_id=learner.id,
        institution_id=institution_id,
        before={"status": "active"},
        after={"status": "revoked"},
        reason=reason,
    )
    return learner


# --- sign-in sessions (pages) --------------------------------------------------------------


def sign_in(
    session: Session, *, institution_slug: str, email: str, password: str, days: int
) -> tuple[str, SignInSession]:
    """Check a password; on success open a session and return its cookie secret (shown once)."""
    failure = NotAuthenticated("e-mail or password is not right")
    institution = repo.institution_by_slug(session, institution_slug)
    if institution is None:
        check_password(None, password)
        raise failure
    cleaned = email.strip().lower()
    staff = repo.staff_by_email(session, institution_id=institution.id, email=cleaned)
    account: StaffMember | Learner | None = staff
    kind = "staff"
    if staff is None or not staff.active:
        account = repo.learner_by_email(session, institution_id=institution.id, email=cleaned)
        kind = "learner"
        if account is not None and account.status != "active":
            account = None
    if not check_password(account.password_hash if account else None, password) or account is None:
        raise failure
    secret = new_secret("mcs")
    record = SignInSession(
        token_hash=hash_secret(secret),
        account_kind=kind,
        account_id=account.id,
        institution_id=institution.id,
        expires_at=utcnow() + dt.timedelta(days=days),
    )
    session.add(record)
    session.flush()
    principal = _principal_for_account(kind, account)
    audit.record(
        session,
        actor=principal,
        action="session.start",
        subject_type=kind,
        subject_id=account.id,
        institution_id=institution.id,
    )
    return secret, record


def _principal_for_account(kind: str, account: StaffMember | Learner) -> Principal:
    if isinstance(account, StaffMember):
        return Principal(
            kind="staff",
            id=account.id,
            institution_id=account.institution_id,
            roles=frozenset(account.roles),
            label=account.display_name,
        )
    return Principal(
        kind="learner",
        id=account.id,
        institution_id=account.institution_id,
        label=account.display_name,
    )


def principal_for_session(session: Session, *, secret: str) -> Principal | None:
    record = repo.sign_in_session_by_hash(session, hash_secret(secret))
    if record is None or record.ended_at is not None or record.expires_at <= utcnow():
        return None
    account: StaffMember | Learner | None
    if record.account_kind == "staff":
        account = repo.staff_by_id(
            session, institution_id=record.institution_id, staff_id=record.account_id
        )
        if account is None or not account.active:
            return None
    else:
        account = repo.learner_by_id(
            session, institution_id=record.institution_id, learner_id=record.account_id
        )
        if account is None or account.status != "active":
            return None
    return _principal_for_account(record.account_kind, account)


def sign_out(session: Session, *, secret: str) -> None:
    record = repo.sign_in_session_by_hash(session, hash_secret(secret))
    if record is not None and record.ended_at is None:
        record.ended_at = utcnow()
        audit.record(
            session,
            actor=Principal(
                kind=record.account_kind,  # type: ignore[arg-type]
                id=record.account_id,
                institution_id=record.institution_id,
            ),
            action="session.end",
            subject_type=record.account_kind,
            subject_id=record.account_id,
            institution_id=record.institution_id,
        )


# --- API tokens ------------------------------------------------------------------------------


def create_api_token(
    session: Session,
    *,
    actor: Principal,
    institution_id: uuid.UUID,
    staff_member_id: uuid.UUID,
    name: str,
    scopes: Sequence[str],
    expires_at: dt.datetime | None = None,
) -> tuple[str, ApiToken]:
    """Mint a token for a staff member; the secret is returned once and only its hash is kept."""
    actor.require_role("admin")
    bad = sorted(set(scopes) - set(API_SCOPES))
    if bad or not scopes:
        raise InvalidInput(f"scopes must be among {', '.join(API_SCOPES)}; got {bad or 'none'}")
    member = repo.staff_by_id(session, institution_id=institution_id, staff_id=staff_member_id)
    if member is None:
        raise NotFound("no such staff member in this institution")
    secret = new_secret("mct")
    token = ApiToken(
        institution_id=institution_id,
        staff_member_id=member.id,
        name=name,
        prefix=secret[:12],
        token_hash=hash_secret(secret),
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
    )
    session.add(token)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="api_token.create",
        subject_type="api_token",
        subject_id=token.id,
        institution_id=institution_id,
        after={"name": name, "scopes": token.scopes, "staff_member_id": str(member.id)},
    )
    return secret, token


def principal_for_api_token(session: Session, *, secret: str) -> Principal | None:
    token = repo.api_token_by_hash(session, hash_secret(secret))
    now = utcnow()
    if token is None or token.revoked_at is not None:
        return None
    if token.expires_at is not None and token.expires_at <= now:
        return None
    member = repo.staff_by_id(
        session, institution_id=token.institution_id, staff_id=token.staff_member_id
    )
    if member is None or not member.active:
        return None
    return Principal(
        kind="api_token",
        id=token.id,
        institution_id=token.institution_id,
        roles=frozenset(member.roles),
        scopes=frozenset(token.scopes),
        label=f"{token.name} ({member.email})",
    )


def list_api_tokens(session: Session, *, institution_id: uuid.UUID) -> Sequence[ApiToken]:
    return repo.api_tokens(session, institution_id=institution_id)


def revoke_api_token(
    session: Session, *, actor: Principal, institution_id: uuid.UUID, token_id: uuid.UUID
) -> ApiToken:
    actor.require_role("admin")
    token = repo.api_token_by_id(session, institution_id=institution_id, token_id=token_id)
    if token is None:
        raise NotFound("no such API token")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(
            session,
            actor=actor,
            action="api_token.revoke",
            subject_type="api_token",
            subject_id=token.id,
            institution_id=institution_id,
        )
    return token
