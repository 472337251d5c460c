"""The learner's record of a credential: what is public, their notes on the evidence, the
share events that make the share-rate KPI, and the verification events staff count.

Rules only; pages and routes live in `record_views.py`. Private by default: an award has no
record row until its learner changes something, and no row reads as "private".
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from microcred.credentials import repository as repo
from microcred.credentials.models import (
    SHARE_CHANNELS,
    VERIFICATION_SOURCES,
    Award,
    CredentialRecord,
    EvidenceNote,
    ShareEvent,
    VerificationEvent,
)
from microcred.kit import audit
from microcred.kit.db import utcnow
from microcred.kit.errors import Forbidden, InvalidInput, NotFound
from microcred.kit.principal import Principal
from microcred.kit.settings import Settings

MAX_NOTE_CHARS = 2000
LINKEDIN_ADD = "https://www.linkedin.com/profile/add"


def settings_of(session: Session, *, award_id: uuid.UUID) -> CredentialRecord:
    """The record's choices; an unsaved default (private, every section on) when none."""
    found = repo.record_of(session, award_id=award_id)
    if found is not None:
        return found
    return CredentialRecord(
        award_id=award_id, public=False, show_results=True, show_evidence=True, show_activity=True
    )


def own_award(session: Session, *, actor: Principal, award_id: uuid.UUID) -> Award:
    """The signed-in learner's own award. Anyone else's reads as absent, not forbidden, so
    a guessed id tells nothing."""
    if actor.kind != "learner" or actor.id is None:
        raise Forbidden("only the learner who holds a credential manages its record")
    award = repo.award_public(session, award_id=award_id)
    if award is None or award.learner_id != actor.id or award.institution_id != actor.tenant:
        raise NotFound("no such credential among yours")
    return award


def may_view(session: Session, *, viewer: Principal | None, award: Award) -> bool:
    """Who sees a credential's page and downloads: anyone once the learner made it public;
    otherwise the learner and their institution's staff."""
    if settings_of(session, award_id=award.id).public:
        return True
    if viewer is None or viewer.institution_id != award.institution_id:
        return False
    if viewer.kind == "learner":
        return viewer.id == award.learner_id
    return viewer.kind == "staff"


def set_visibility(
    session: Session,
    *,
    actor: Principal,
    award_id: uuid.UUID,
    public: bool,
    show_results: bool,
    show_evidence: bool,
    show_activity: bool,
) -> CredentialRecord:
    award = own_award(session, actor=actor, award_id=award_id)
    record = repo.record_of(session, award_id=award.id)
    before = _visibility(record) if record is not None else None
    if record is None:
        record = CredentialRecord(award_id=award.id)
        session.add(record)
    record.public = public
    record.show_results = show_results
    record.show_evidence = show_evidence
    record.show_activity = show_activity
    record.updated_at = utcnow()
    after = _visibility(record)
    if after != before:
        audit.record(
            session,
            actor=actor,
            action="record.visibility",
            subject_type="award",
            subject_id=award.id,
            institution_id=award.institution_id,
            before=before,
            after=after,
        )
    session.flush()
    return record


def _visibility(record: CredentialRecord) -> dict[str, Any]:
    return {
        "public": bool(record.public),
        "show_results": bool(record.show_results),
        "show_evidence": bool(record.show_evidence),
        "show_activity": bool(record.show_activity),
    }


def evidence_of(award: Award) -> list[dict[str, Any]]:
    evidence = award.credential.get("evidence") or []
    return [e for e in evidence if isinstance(e, dict)]


def described_results(credential: dict[str, Any]) -> list[dict[str, str]]:
    """Each result with the name of its result description, so a page can say what it means."""
    subject = credential.get("credentialSubject") or {}
    described = (subject.get("achievement") or {}).get("resultDescription") or []
    names = {d.get("id"): d.get("name", "") for d in described if isinstance(d, dict)}
    return [
        {
            "name": names.get(r.get("resultDescription")) or "Result",
            "value": str(r.get("value", "")),
        }
        for r in subject.get("result") or []
        if isinstance(r, dict)
    ]


def notes_by_index(session: Session, *, award_id: uuid.UUID) -> dict[int, str]:
    return {n.evidence_index: n.note for n in repo.notes_of(session, award_id=award_id)}


def annotate(
    session: Session, *, actor: Principal, award_id: uuid.UUID, evidence_index: int, note: str
) -> EvidenceNote | None:
    """Set the learner's note on one evidence entry; an empty note removes it."""
    award = own_award(session, actor=actor, award_id=award_id)
    evidence = evidence_of(award)
    if not 0 <= evidence_index < len(evidence):
        raise InvalidInput(
            "no such evidence entry on this credential",
            errors=[{"field": "evidence_index", "message": f"0 to {len(evidence) - 1}"}],
        )
    note = note.strip()
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidInput(
            f"a note holds at most {MAX_NOTE_CHARS} characters",
            errors=[{"field": "note", "message": f"{len(note)} characters"}],
        )
    existing = repo.note_of(session, award_id=award.id, evidence_index=evidence_index)
    before = {"note": existing.note} if existing is not None else None
    if not note:
        if existing is not None:
            session.delete(existing)
    elif existing is None:
        existing = EvidenceNote(award_id=award.id, evidence_index=evidence_index, note=note)
        session.add(existing)
    else:
        existing.note = note
        existing.updated_at = utcnow()
    audit.record(
        session,
        actor=actor,
        action="record.annotate",
        subject_type="award",
        subject_id=award.id,
        institution_id=award.institution_id,
        before=before,
        after={"evidence_index": evidence_index, "note": note} if note else None,
    )
    session.flush()
    return existing if note else None


def record_share(
    session: Session, *, actor: Principal, award_id: uuid.UUID, channel: str
) -> ShareEvent:
    """Count one share by the learner (an analytics event, not a change of the award)."""
    if channel not in SHARE_CHANNELS:
        raise InvalidInput(f"unknown share channel {channel!r}; one of {', '.join(SHARE_CHANNELS)}")
    award = own_award(session, actor=actor, award_id=award_id)
    event = ShareEvent(institution_id=award.institution_id, award_id=award.id, channel=channel)
    session.add(event)
    session.flush()
    return event


def record_verification(
    session: Session, *, source: str, verdict: str, credential_id: str | None, settings: Settings
) -> VerificationEvent:
    """Log that a credential was verified. Ours are tied to their award so its issuer can
    count them; nothing about the visitor is kept."""
    if source not in VERIFICATION_SOURCES:
        raise ValueError(f"unknown verification source {source!r}")
    award = award_for_credential_id(session, settings=settings, credential_id=credential_id)
    event = VerificationEvent(
        institution_id=award.institution_id if award is not None else None,
        award_id=award.id if award is not None else None,
        source=source,
        verdict=verdict,
    )
    session.add(event)
    session.flush()
    return event


def award_for_credential_id(
    session: Session, *, settings: Settings, credential_id: str | None
) -> Award | None:
    """The award behind one of our credential ids (under this platform's base URL)."""
    prefix = f"{settings.public_base_url}/credentials/"
    if not credential_id or not credential_id.startswith(prefix):
        return None
    try:
        award_id = uuid.UUID(credential_id.removeprefix(prefix))
    except ValueError:
        return None
    award = repo.award_public(session, award_id=award_id)
    return award if award is not None and award.credential.get("id") == credential_id else None


def linkedin_url(award: Award, *, settings: Settings) -> str:
    """LinkedIn's "Add to profile" link: months 1 to 12, the public page as certUrl."""
    credential = award.credential
    issuer = credential.get("issuer") or {}
    params: dict[str, str] = {
        "startTask": "CERTIFICATION_NAME",
        "name": str(credential.get("name", "")),
    }
    if settings.linkedin_organization_id:
        params["organizationId"] = settings.linkedin_organization_id
    else:
        params["organizationName"] = str(issuer.get("name", ""))
    params["issueYear"] = str(award.valid_from.year)
    params["issueMonth"] = str(award.valid_from.month)
    if award.valid_until is not None:
        params["expirationYear"] = str(award.valid_until.year)
        params["expirationMonth"] = str(award.valid_until.month)
    params["certUrl"] = str(credential["id"])
    params["certId"] = str(award.id)
    return f"{LINKEDIN_ADD}?{urlencode(params)}"


@dataclass(frozen=True, slots=True)
class SharingKpis:
    awards: int
    shared_awards: int
    shares_by_channel: dict[str, int]
    verifications: int
    verifications_valid: int
    verifications_by_source: dict[str, int]

    @property
    def share_rate(self) -> float:
        return self.shared_awards / self.awards if self.awards else 0.0


def sharing_kpis(
    session: Session, *, institution_id: uuid.UUID, since: dt.datetime | None = None
) -> SharingKpis:
    """The share rate (live awards shared at least once) and verification counts."""
    awards, shared = repo.award_counts(session, institution_id=institution_id)
    verifications = repo.verification_counts(session, institution_id=institution_id, since=since)
    by_source: dict[str, int] = {}
    for (source, _), count in verifications.items():
        by_source[source] = by_source.get(source, 0) + count
    return SharingKpis(
        awards=awards,
        shared_awards=shared,
        shares_by_channel=repo.share_counts(session, institution_id=institution_id, since=since),
        verifications=sum(verifications.values()),
        verifications_valid=sum(c for (_, v), c in verifications.items() if v == "VALID"),
        verifications_by_source=by_source,
    )


def award_kpis(session: Session, *, award: Award) -> tuple[dict[str, int], int]:
    """(shares by channel, verifications) of one award, for its record and console pages."""
    verifications = repo.verification_counts(
        session, institution_id=award.institution_id, award_id=award.id
    )
    return repo.share_counts_of_award(session, award_id=award.id), sum(verifications.values())


def awards_due_for_reminder(
    session: Session, *, settings: Settings, now: dt.datetime | None = None, limit: int = 500
) -> list[Award]:
    cutoff = (now or utcnow()) - dt.timedelta(days=settings.share_reminder_days)
    return list(repo.awards_due_for_share_reminder(session, issued_before=cutoff, limit=limit))


def mark_reminded(session: Session, *, award: Award, now: dt.datetime | None = None) -> None:
    record = repo.record_of(session, award_id=award.id)
    if record is None:
        record = CredentialRecord(award_id=award.id)
        session.add(record)
    record.reminded_at = now or utcnow()
    audit.record(
        session,
        actor=Principal.system(award.institution_id, roles=set(), label="share-reminder"),
        action="record.reminded",
        subject_type="award",
        subject_id=award.id,
        institution_id=award.institution_id,
    )
    session.flush()
