"""Every query of the credentials context."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import distinct, exists, func, select, tuple_
from sqlalchemy.orm import Session

from microcred.credentials.models import (
    Award,
    CredentialRecord,
    EvidenceNote,
    IssuerKey,
    ShareEvent,
    StatusList,
    VerificationEvent,
)
from microcred.identity.models import Learner
from microcred.kit.db import insert_rows
from microcred.kit.pagination import PageRequest, fetch_page


def active_key(session: Session, *, institution_id: uuid.UUID) -> IssuerKey | None:
    return session.scalar(
        select(IssuerKey).where(
            IssuerKey.institution_id == institution_id, IssuerKey.state == "active"
        )
    )


def keys_of(session: Session, *, institution_id: uuid.UUID) -> Sequence[IssuerKey]:
    return session.scalars(
        select(IssuerKey)
        .where(IssuerKey.institution_id == institution_id)
        .order_by(IssuerKey.created_at)
    ).all()


def key_by_id(session: Session, *, key_id: uuid.UUID) -> IssuerKey | None:
    return session.get(IssuerKey, key_id)


def key_by_multikey(session: Session, *, multikey: str) -> IssuerKey | None:
    return session.scalar(select(IssuerKey).where(IssuerKey.public_multikey == multikey))


def open_status_lists(
    session: Session,
    *,
    institution_id: uuid.UUID,
    purpose: str,
    issuer_did: str,
    fill_ratio: float,
) -> Sequence[StatusList]:
    """Lists with room left (each by its own size), oldest first, locked for this transaction."""
    return session.scalars(
        select(StatusList)
        .where(
            StatusList.institution_id == institution_id,
            StatusList.purpose == purpose,
            StatusList.issuer_did == issuer_did,
            StatusList.allocated_count < StatusList.size * fill_ratio,
        )
        .order_by(StatusList.created_at, StatusList.id)
        .with_for_update()
    ).all()


def status_list_locked(session: Session, *, list_id: uuid.UUID) -> StatusList | None:
    return session.scalar(select(StatusList).where(StatusList.id == list_id).with_for_update())


def status_list_public(session: Session, *, list_id: uuid.UUID) -> StatusList | None:
    return session.get(StatusList, list_id)


def award_by_id(
    session: Session, *, institution_id: uuid.UUID, award_id: uuid.UUID
) -> Award | None:
    return session.scalar(
        select(Award).where(Award.institution_id == institution_id, Award.id == award_id)
    )


def award_public(session: Session, *, award_id: uuid.UUID) -> Award | None:
    """The credential URL is public by design (it is the credential's id)."""
    return session.get(Award, award_id)


def award_by_idempotency_key(
    session: Session, *, institution_id: uuid.UUID, key: str
) -> Award | None:
    return session.scalar(
        select(Award).where(Award.institution_id == institution_id, Award.idempotency_key == key)
    )


def awards_by_idempotency_keys(
    session: Session, *, institution_id: uuid.UUID, keys: Sequence[str]
) -> dict[str, Award]:
    found: dict[str, Award] = {}
    for start in range(0, len(keys), 1000):
        rows = session.scalars(
            select(Award).where(
                Award.institution_id == institution_id,
                Award.idempotency_key.in_(keys[start : start + 1000]),
            )
        )
        found.update((a.idempotency_key, a) for a in rows if a.idempotency_key)
    return found


def live_award(
    session: Session, *, learner_id: uuid.UUID, achievement_id: uuid.UUID
) -> Award | None:
    return session.scalar(
        select(Award).where(
            Award.learner_id == learner_id,
            Award.achievement_id == achievement_id,
            Award.state != "revoked",
        )
    )


def held_achievement_ids(
    session: Session, *, learner_id: uuid.UUID, now: dt.datetime
) -> set[uuid.UUID]:
    stmt = select(Award.achievement_id).where(
        Award.learner_id == learner_id,
        Award.state == "active",
        (Award.valid_until.is_(None)) | (Award.valid_until > now),
    )
    return set(session.scalars(stmt))


def live_pairs(
    session: Session,
    *,
    institution_id: uuid.UUID,
    pairs: Iterable[tuple[uuid.UUID, uuid.UUID]],
) -> set[tuple[uuid.UUID, uuid.UUID]]:
    """Which (learner, achievement) pairs already hold a live award."""
    wanted = list(set(pairs))
    found: set[tuple[uuid.UUID, uuid.UUID]] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = session.execute(
            select(Award.learner_id, Award.achievement_id).where(
                Award.institution_id == institution_id,
                Award.state != "revoked",
                tuple_(Award.learner_id, Award.achievement_id).in_(chunk),
            )
        )
        found.update((r[0], r[1]) for r in rows)
    return found


def page_awards(
    session: Session,
    *,
    institution_id: uuid.UUID,
    page: PageRequest,
    learner_id: uuid.UUID | None = None,
    achievement_id: uuid.UUID | None = None,
    state: str | None = None,
) -> tuple[Sequence[Award], int]:
    where = [Award.institution_id == institution_id]
    if learner_id:
        where.append(Award.learner_id == learner_id)
    if achievement_id:
        where.append(Award.achievement_id == achievement_id)
    if state:
        where.append(Award.state == state)
    return fetch_page(
        session, Award, where=where, order_by=[Award.issued_at.desc(), Award.id], page=page
    )


def insert_awards(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """The bulk issuer's hot path: COPY on PostgreSQL, multi-row INSERT elsewhere."""
    insert_rows(session, Award, rows)


# --- records, sharing and verification events ---------------------------------------------------


def record_of(session: Session, *, award_id: uuid.UUID) -> CredentialRecord | None:
    return session.get(CredentialRecord, award_id)


def notes_of(session: Session, *, award_id: uuid.UUID) -> Sequence[EvidenceNote]:
    return session.scalars(
        select(EvidenceNote)
        .where(EvidenceNote.award_id == award_id)
        .order_by(EvidenceNote.evidence_index)
    ).all()


def note_of(session: Session, *, award_id: uuid.UUID, evidence_index: int) -> EvidenceNote | None:
    return session.scalar(
        select(EvidenceNote).where(
            EvidenceNote.award_id == award_id, EvidenceNote.evidence_index == evidence_index
        )
    )


def share_counts_of_award(session: Session, *, award_id: uuid.UUID) -> dict[str, int]:
    rows = session.execute(
        select(ShareEvent.channel, func.count())
        .where(ShareEvent.award_id == award_id)
        .group_by(ShareEvent.channel)
    )
    return {channel: int(count) for channel, count in rows}


def share_counts(
    session: Session, *, institution_id: uuid.UUID, since: dt.datetime | None = None
) -> dict[str, int]:
    where = [ShareEvent.institution_id == institution_id]
    if since is not None:
        where.append(ShareEvent.created_at >= since)
    rows = session.execute(
        select(ShareEvent.channel, func.count()).where(*where).group_by(ShareEvent.channel)
    )
    return {channel: int(count) for channel, count in rows}


def award_counts(session: Session, *, institution_id: uuid.UUID) -> tuple[int, int]:
    """(awards not revoked, of those how many were shared at least once)."""
    live = [Award.institution_id == institution_id, Award.state != "revoked"]
    total = session.scalar(select(func.count()).select_from(Award).where(*live)) or 0
    shared = (
        session.scalar(
            select(func.count(distinct(ShareEvent.award_id)))
            .join(Award, Award.id == ShareEvent.award_id)
            .where(*live)
        )
        or 0
    )
    return int(total), int(shared)


def verification_counts(
    session: Session,
    *,
    institution_id: uuid.UUID,
    since: dt.datetime | None = None,
    award_id: uuid.UUID | None = None,
) -> dict[tuple[str, str], int]:
    """Counts by (source, verdict) of verifications of this institution's credentials."""
    where = [VerificationEvent.institution_id == institution_id]
    if since is not None:
        where.append(VerificationEvent.created_at >= since)
    if award_id is not None:
        where.append(VerificationEvent.award_id == award_id)
    rows = session.execute(
        select(VerificationEvent.source, VerificationEvent.verdict, func.count())
        .where(*where)
        .group_by(VerificationEvent.source, VerificationEvent.verdict)
    )
    return {(source, verdict): int(count) for source, verdict, count in rows}


def awards_due_for_share_reminder(
    session: Session, *, issued_before: dt.datetime, limit: int
) -> Sequence[Award]:
    """Active awards older than the cut-off, never shared, never reminded, whose learner
    opted in to reminders."""
    never_shared = ~exists().where(ShareEvent.award_id == Award.id)
    reminded = exists().where(
        CredentialRecord.award_id == Award.id, CredentialRecord.reminded_at.is_not(None)
    )
    return session.scalars(
        select(Award)
        .join(Learner, Learner.id == Award.learner_id)
        .where(
            Award.state == "active",
            Award.issued_at < issued_before,
            Learner.share_reminders.is_(True),
            Learner.status == "active",
            never_shared,
            ~reminded,
        )
        .order_by(Award.issued_at)
        .limit(limit)
    ).all()
