"""Credential rules: issuer keys and DIDs, status lists, issuing, revoking, verifying.

Every operation takes the session first and keyword arguments after, flushes and never
commits; every state change writes its audit row in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from microcred.catalog import service as catalog
from microcred.catalog.models import Achievement
from microcred.credentials import documents, ob3, proofs, records, status_list
from microcred.credentials import repository as repo
from microcred.credentials.models import Award, IssuerKey, StatusList
from microcred.credentials.resolvers import HttpResolver
from microcred.credentials.verifier import (
    ChainResolver,
    Check,
    OfflineResolver,
    ResolutionError,
    Resolver,
    Verdict,
    verify,
)
from microcred.identity import service as identity
from microcred.identity.models import Institution, Learner
from microcred.kit import audit, jobs
from microcred.kit.crypto import did as dids
from microcred.kit.crypto import keys
from microcred.kit.crypto.sealing import Sealer
from microcred.kit.db import new_id, utcnow
from microcred.kit.errors import Conflict, IdempotencyMismatch, InvalidInput, NotFound
from microcred.kit.pagination import PageRequest
from microcred.kit.principal import SYSTEM, Principal
from microcred.kit.settings import Settings

StatusAction = Literal["revoke", "suspend", "reinstate"]
# Below this many credentials a process pool costs more than it saves.
PARALLEL_SIGNING_FROM = 2_000
SIGNING_WORKERS = min(os.cpu_count() or 1, 8)
# Bulk batches are signed and inserted this many at a time, bounding memory.
BULK_CHUNK = 5_000


# --- issuer identity and keys --------------------------------------------------------------


def did_web(settings: Settings, institution: Institution) -> str:
    host = urlsplit(settings.public_base_url).netloc.replace(":", "%3A")
    return f"did:web:{host}:institutions:{institution.slug}"


def issuer_did(settings: Settings, institution: Institution, key: IssuerKey) -> str:
    if institution.did_method == "key":
        return dids.did_key_from_public_key(key.public_multikey)
    return did_web(settings, institution)


def verification_method_id(did: str, key: IssuerKey) -> str:
    return f"{did}#{key.public_multikey}"


def _key_pair(settings: Settings, key: IssuerKey) -> keys.Ed25519KeyPair:
    seed = Sealer(settings.key_encryption_key).unseal(
        key.private_key_sealed, context=key.public_multikey.encode()
    )
    return keys.Ed25519KeyPair.from_seed(seed)


def _new_key(session: Session, *, settings: Settings, institution_id: uuid.UUID) -> IssuerKey:
    pair = keys.Ed25519KeyPair.generate()
    sealed = Sealer(settings.key_encryption_key).seal(
        pair.seed, context=pair.public_multikey.encode()
    )
    key = IssuerKey(
        institution_id=institution_id,
        public_multikey=pair.public_multikey,
        private_key_sealed=sealed,
    )
    session.add(key)
    session.flush()
    return key


def ensure_signing_key(
    session: Session, *, actor: Principal, settings: Settings, institution_id: uuid.UUID
) -> IssuerKey:
    key = repo.active_key(session, institution_id=institution_id)
    if key is None:
        key = _new_key(session, settings=settings, institution_id=institution_id)
        audit.record(
            session,
            actor=actor,
            action="issuer_key.create",
            subject_type="issuer_key",
            subject_id=key.id,
            institution_id=institution_id,
            after={"public_multikey": key.public_multikey},
        )
    return key


def rotate_key(
    session: Session, *, actor: Principal, settings: Settings, institution_id: uuid.UUID
) -> IssuerKey:
    """Retire the signing key and start a new one. Retired keys stay in the DID document."""
    actor.require_role("admin")
    old = repo.active_key(session, institution_id=institution_id)
    if old is not None:
        old.state = "retired"
        old.retired_at = utcnow()
        session.flush()  # the partial unique index allows one active key
    key = _new_key(session, settings=settings, institution_id=institution_id)
    audit.record(
        session,
        actor=actor,
        action="issuer_key.rotate",
        subject_type="issuer_key",
        subject_id=key.id,
        institution_id=institution_id,
        before={"public_multikey": old.public_multikey} if old else None,
        after={"public_multikey": key.public_multikey},
    )
    return key


def list_keys(session: Session, *, institution_id: uuid.UUID) -> Sequence[IssuerKey]:
    return repo.keys_of(session, institution_id=institution_id)


def did_document(session: Session, *, settings: Settings, slug: str) -> dict[str, Any]:
    """The did:web document of an institution: every key it ever signed with."""
    institution = identity.institution_by_slug(session, slug=slug)
    if institution.did_method != "web":
        raise NotFound(f"{slug} identifies itself with did:key; it has no did:web document")
    did = did_web(settings, institution)
    # Current key first (it alone authenticates); retired ones stay for old credentials.
    ordered = sorted(
        repo.keys_of(session, institution_id=institution.id),
        key=lambda k: (k.state != "active", k.created_at),
    )
    if not ordered:
        raise NotFound(f"{slug} has no signing key yet")
    return dids.did_document(did, [(k.public_multikey, k.public_multikey) for k in ordered])


def issuer_profile(
    settings: Settings, institution: Institution, key: IssuerKey
) -> documents.IssuerProfile:
    return documents.IssuerProfile(
        did=issuer_did(settings, institution, key),
        name=institution.name,
        url=institution.url,
        email=institution.email,
        description=institution.description,
    )


# --- status lists ----------------------------------------------------------------------------


def status_list_url(settings: Settings, list_id: uuid.UUID) -> str:
    return f"{settings.public_base_url}/status-lists/{list_id}"


def _capacity(settings: Settings, status_list_row: StatusList) -> int:
    return int(status_list_row.size * settings.status_list_fill_ratio)


def _sign_status_list(
    session: Session, *, settings: Settings, row: StatusList, bits: status_list.Bitstring
) -> None:
    """(Re)publish the list: the signed credential always matches the bits in the same row."""
    institution = identity.get_institution(session, institution_id=row.institution_id)
    key = _key_for_did(session, settings=settings, institution=institution, did=row.issuer_did)
    unsigned = status_list.list_credential(
        row.url,
        row.issuer_did,
        bits,
        purpose=row.purpose,
        valid_from=utcnow(),
    )
    row.signed_credential = proofs.sign(
        unsigned,
        key_pair=_key_pair(settings, key),
        verification_method=verification_method_id(row.issuer_did, key),
        created=utcnow(),
    )
    row.bits = bits.to_bytes()
    row.updated_at = utcnow()


def _key_for_did(
    session: Session, *, settings: Settings, institution: Institution, did: str
) -> IssuerKey:
    """did:web lists are signed by the current key; a did:key list only by its own key."""
    if institution.did_method == "web":
        return ensure_signing_key(
            session, actor=SYSTEM, settings=settings, institution_id=institution.id
        )
    for key in repo.keys_of(session, institution_id=institution.id):
        if dids.did_key_from_public_key(key.public_multikey) == did:
            return key
    raise Conflict(f"no key of {institution.slug} controls {did}")


def _new_status_list(
    session: Session,
    *,
    settings: Settings,
    institution_id: uuid.UUID,
    purpose: str,
    did: str,
) -> StatusList:
    size = settings.status_list_size
    empty = status_list.Bitstring(size)
    list_id = new_id()
    row = StatusList(
        id=list_id,
        url=status_list_url(settings, list_id),
        institution_id=institution_id,
        purpose=purpose,
        issuer_did=did,
        size=size,
        bits=empty.to_bytes(),
        allocated=empty.to_bytes(),
        signed_credential={},
    )
    session.add(row)
    _sign_status_list(session, settings=settings, row=row, bits=empty)
    session.flush()
    audit.record(
        session,
        actor=SYSTEM,
        action="status_list.create",
        subject_type="status_list",
        subject_id=row.id,
        institution_id=institution_id,
        after={"purpose": purpose, "size": size, "issuer": did},
    )
    return row


def _allocate(
    session: Session,
    *,
    settings: Settings,
    institution_id: uuid.UUID,
    purpose: str,
    did: str,
    count: int,
) -> list[tuple[StatusList, int]]:
    """`count` random free indexes, filling older lists first and opening new ones as needed."""
    lists = list(
        repo.open_status_lists(
            session,
            institution_id=institution_id,
            purpose=purpose,
            issuer_did=did,
            fill_ratio=settings.status_list_fill_ratio,
        )
    )
    room = sum(_capacity(settings, s) - s.allocated_count for s in lists)
    while room < count:
        fresh = _new_status_list(
            session, settings=settings, institution_id=institution_id, purpose=purpose, did=did
        )
        lists.append(fresh)
        room += _capacity(settings, fresh)
    out: list[tuple[StatusList, int]] = []
    remaining = count
    for row in lists:
        take = min(remaining, _capacity(settings, row) - row.allocated_count)
        if take <= 0:
            continue
        used = status_list.Bitstring.from_bytes(row.allocated)
        picked = status_list.allocate_indexes(used, take, size=row.size)
        used.set_many(picked)
        row.allocated = used.to_bytes()
        row.allocated_count += take
        out.extend((row, index) for index in picked)
        remaining -= take
        if remaining == 0:
            break
    return out


def public_status_list(session: Session, *, list_id: uuid.UUID) -> StatusList:
    row = repo.status_list_public(session, list_id=list_id)
    if row is None:
        raise NotFound("no such status list")
    return row


# --- issuing ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ResultIn:
    key: str
    value: str


@dataclass(frozen=True, slots=True)
class EvidenceIn:
    name: str | None = None
    description: str | None = None
    narrative: str | None = None
    url: str | None = None
    genre: str | None = None

    def document(self) -> dict[str, str]:
        out = {
            "id": self.url,
            "name": self.name,
            "description": self.description,
            "narrative": self.narrative,
            "genre": self.genre,
        }
        return {k: v for k, v in out.items() if v}


def _achievement_view(achievement: Achievement) -> documents.AchievementView:
    return documents.AchievementView(
        id=achievement.id,
        version=achievement.version,
        name=achievement.name,
        description=achievement.description,
        criteria_narrative=achievement.criteria_narrative,
        criteria_url=achievement.criteria_url,
        achievement_type=achievement.achievement_type,
        image_url=achievement.image_url,
        hours=f"{achievement.hours.normalize():f}" if achievement.hours is not None else None,
        alignments=tuple(
            {
                "target_name": a.target_name,
                "target_url": a.target_url,
                "target_description": a.target_description,
                "target_framework": a.target_framework,
                "target_code": a.target_code,
            }
            for a in achievement.alignments
        ),
        result_descriptions=tuple(
            {
                "key": r.key,
                "name": r.name,
                "result_type": r.result_type,
                "value_min": r.value_min,
                "value_max": r.value_max,
                "required_value": r.required_value,
            }
            for r in achievement.result_descriptions
        ),
    )


def _check_results(achievement: Achievement, results: Sequence[ResultIn]) -> list[dict[str, str]]:
    described = {r.key: r for r in achievement.result_descriptions}
    out = []
    for result in results:
        description = described.get(result.key)
        if description is None:
            known = ", ".join(sorted(described)) or "none"
            raise InvalidInput(
                f"result {result.key!r} is not described by the achievement (known: {known})"
            )
        if description.value_min is not None or description.value_max is not None:
            try:
                value = Decimal(result.value)
                low = Decimal(description.value_min) if description.value_min else None
                high = Decimal(description.value_max) if description.value_max else None
            except InvalidOperation as exc:
                raise InvalidInput(f"result {result.key!r} must be a number") from exc
            if (low is not None and value < low) or (high is not None and value > high):
                raise InvalidInput(
                    f"result {result.key!r}={result.value} is outside "
                    f"{description.value_min}..{description.value_max}"
                )
        out.append({"key": result.key, "value": result.value})
    return out


def _valid_until(achievement: Achievement, valid_from: dt.datetime) -> dt.datetime | None:
    if not achievement.validity_months:
        return None
    return valid_from + dt.timedelta(days=round(achievement.validity_months * 30.4375))


@dataclass(slots=True)
class _Planned:
    """One award checked and ready to sign."""

    award_id: uuid.UUID
    learner: Learner
    achievement: Achievement
    results: list[dict[str, str]]
    evidence: list[dict[str, str]]
    idempotency_key: str | None
    valid_from: dt.datetime
    valid_until: dt.datetime | None


def _check_award(
    achievement: Achievement | None, learner: Learner | None, *, live: bool
) -> tuple[Achievement, Learner]:
    if achievement is None:
        raise NotFound("no such achievement in this institution")
    if achievement.status != "active":
        raise Conflict(f"achievement {achievement.slug!r} is retired and cannot be awarded")
    if learner is None:
        raise NotFound("no such learner in this institution")
    if learner.status != "active":
        raise Conflict(f"learner {learner.email} has a revoked account and cannot be awarded")
    if live:
        raise Conflict(f"{learner.email} already holds {achievement.slug!r}; revoke it first")
    return achievement, learner


def _sign_chunk(
    seed: bytes, verification_method: str, created: str, docs: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Sign documents; return only their proofs (a fraction of the bytes to send back)."""
    pair = keys.Ed25519KeyPair.from_seed(seed)
    return [
        proofs.sign(d, key_pair=pair, verification_method=verification_method, created=created)[
            "proof"
        ]
        for d in docs
    ]


SignedLater = Callable[[], list[dict[str, Any]]]


def _sign(
    pair: keys.Ed25519KeyPair,
    verification_method: str,
    docs: list[dict[str, Any]],
    pool: ProcessPoolExecutor | None,
) -> SignedLater:
    """Start signing; the returned function waits for and returns the signed documents.

    With a pool the work runs in other processes while the caller stores the previous batch.
    """
    created = documents.iso(utcnow())
    if pool is None:
        done = _sign_chunk(pair.seed, verification_method, created, docs)
        return lambda: [{**d, "proof": p} for d, p in zip(docs, done, strict=True)]
    size = max(250, len(docs) // (SIGNING_WORKERS * 2))
    futures = [
        pool.submit(_sign_chunk, pair.seed, verification_method, created, docs[i : i + size])
        for i in range(0, len(docs), size)
    ]

    def collect() -> list[dict[str, Any]]:
        signed_proofs = [p for f in futures for p in f.result()]
        return [{**d, "proof": p} for d, p in zip(docs, signed_proofs, strict=True)]

    return collect


def _signing_pool(count: int) -> ProcessPoolExecutor | None:
    """Worker processes for big batches (signing is CPU-bound); none for small ones."""
    if count < PARALLEL_SIGNING_FROM or SIGNING_WORKERS < 2:
        return None
    # forkserver: never fork a process that holds database connections and server threads;
    # preloading the signer makes each worker start warm.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["microcred.credentials.proofs"])
    return ProcessPoolExecutor(max_workers=SIGNING_WORKERS, mp_context=context)


@dataclass(slots=True)
class _Batch:
    """Awards allocated and built, waiting for their signatures to be stored."""

    rows: list[dict[str, Any]]
    signed: SignedLater


def _prepare(
    session: Session,
    *,
    actor: Principal,
    settings: Settings,
    institution: Institution,
    planned: list[_Planned],
    pool: ProcessPoolExecutor | None = None,
) -> _Batch:
    """Allocate status entries, build the documents and start signing them."""
    key = ensure_signing_key(session, actor=actor, settings=settings, institution_id=institution.id)
    profile = issuer_profile(settings, institution, key)
    base = settings.public_base_url
    templates = {
        a.id: documents.CredentialTemplate.build(base, profile, _achievement_view(a))
        for a in {p.achievement.id: p.achievement for p in planned}.values()
    }
    by_purpose: dict[str, list[_Planned]] = {}
    for p in planned:
        by_purpose.setdefault(p.achievement.status_purpose, []).append(p)
    slots: dict[uuid.UUID, tuple[StatusList, int]] = {}
    for purpose, group in by_purpose.items():
        allocated = _allocate(
            session,
            settings=settings,
            institution_id=institution.id,
            purpose=purpose,
            did=profile.did,
            count=len(group),
        )
        slots.update(zip((p.award_id for p in group), allocated, strict=True))
    now = utcnow()
    unsigned = []
    rows = []
    for p in planned:
        status_row, index = slots[p.award_id]
        unsigned.append(
            documents.credential_document(
                templates[p.achievement.id],
                credential_id=f"{base}/credentials/{p.award_id}",
                subject_did=p.learner.did,
                subject_email=p.learner.email,
                valid_from=p.valid_from,
                valid_until=p.valid_until,
                status_entry=status_list.entry(status_row.url, index, purpose=status_row.purpose),
                results=p.results,
                evidence=p.evidence,
            )
        )
        rows.append(
            {
                "id": p.award_id,
                "institution_id": institution.id,
                "achievement_id": p.achievement.id,
                "achievement_version": p.achievement.version,
                "learner_id": p.learner.id,
                "issuer_key_id": key.id,
                "status_list_id": status_row.id,
                "status_index": index,
                "state": "active",
                "state_reason": None,
                "idempotency_key": p.idempotency_key,
                "issued_at": now,
                "valid_from": p.valid_from,
                "valid_until": p.valid_until,
            }
        )
    session.flush()
    signed = _sign(
        _key_pair(settings, key), verification_method_id(profile.did, key), unsigned, pool
    )
    return _Batch(rows=rows, signed=signed)


def _store(
    session: Session, *, actor: Principal, institution: Institution, batch: _Batch
) -> list[dict[str, Any]]:
    """Insert the signed awards and one audit row each. Returns the rows with credentials."""
    for row, credential in zip(batch.rows, batch.signed(), strict=True):
        row["credential"] = credential
    try:
        with session.begin_nested():
            repo.insert_awards(session, batch.rows)
    except IntegrityError as exc:
        # A concurrent request won the race for the same learner/achievement or key.
        raise Conflict(
            "an award for one of these learners and achievements was issued "
            "concurrently; retry to see its current state"
        ) from exc
    audit.record_many(
        session,
        actor=actor,
        action="award.issue",
        subject_type="award",
        institution_id=institution.id,
        items=[
            (
                r["id"],
                {
                    "achievement": str(r["achievement_id"]),
                    "learner": str(r["learner_id"]),
                    "status_index": r["status_index"],
                },
            )
            for r in batch.rows
        ],
    )
    # After commit the learners hear about it (outbox: never for a rolled-back issue).
    jobs.enqueue(session, "credentials.notify_awards", award_ids=[str(r["id"]) for r in batch.rows])
    return batch.rows


def issue_award(
    session: Session,
    *,
    actor: Principal,
    settings: Settings,
    institution_id: uuid.UUID,
    achievement_id: uuid.UUID,
    learner_id: uuid.UUID,
    results: Sequence[ResultIn] = (),
    evidence: Sequence[EvidenceIn] = (),
    valid_from: dt.datetime | None = None,
    idempotency_key: str | None = None,
) -> tuple[Award, bool]:
    """Award an achievement to a learner. Returns (award, created).

    With an idempotency key, repeating the same request returns the first award (created is
    False); reusing the key for a different learner or achievement is refused.
    """
    actor.require_role("issuer")
    if idempotency_key:
        earlier = repo.award_by_idempotency_key(
            session, institution_id=institution_id, key=idempotency_key
        )
        if earlier is not None:
            if (earlier.learner_id, earlier.achievement_id) != (learner_id, achievement_id):
                raise IdempotencyMismatch(
                    "this Idempotency-Key was used for a different learner or achievement"
                )
            return earlier, False
    institution = identity.get_institution(session, institution_id=institution_id)
    achievement = catalog.get_achievement(
        session, institution_id=institution_id, achievement_id=achievement_id
    )
    learner = identity.get_learner(session, institution_id=institution_id, learner_id=learner_id)
    live = repo.live_award(session, learner_id=learner.id, achievement_id=achievement.id)
    achievement, learner = _check_award(achievement, learner, live=live is not None)
    start = valid_from or utcnow()
    plan = _Planned(
        award_id=new_id(),
        learner=learner,
        achievement=achievement,
        results=_check_results(achievement, results),
        evidence=[e.document() for e in evidence],
        idempotency_key=idempotency_key,
        valid_from=start,
        valid_until=_valid_until(achievement, start),
    )
    batch = _prepare(
        session, actor=actor, settings=settings, institution=institution, planned=[plan]
    )
    [row] = _store(session, actor=actor, institution=institution, batch=batch)
    return get_award(session, institution_id=institution_id, award_id=row["id"]), True


# --- bulk issuing ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BulkRow:
    learner_email: str
    achievement: str  # slug or id
    learner_name: str | None = None
    results: tuple[ResultIn, ...] = ()
    evidence: tuple[EvidenceIn, ...] = ()


@dataclass(slots=True)
class BulkRowOutcome:
    row: int
    status: Literal["issued", "replayed", "error", "not_written"]
    award_id: uuid.UUID | None = None
    credential_id: str | None = None
    error: str | None = None
    # What a person checks in a preview before confirming: whose award, of what, and whether
    # the learner would be created by this batch.
    achievement_name: str | None = None
    new_learner: bool = False


@dataclass(slots=True)
class BulkReport:
    mode: Literal["all_or_nothing", "per_row"]
    rows: list[BulkRowOutcome] = field(default_factory=list)

    @property
    def issued(self) -> int:
        return sum(1 for r in self.rows if r.status == "issued")

    @property
    def errors(self) -> int:
        return sum(1 for r in self.rows if r.status == "error")

    @property
    def written(self) -> bool:
        return self.issued > 0


def bulk_issue(
    session: Session,
    *,
    actor: Principal,
    settings: Settings,
    institution_id: uuid.UUID,
    rows: Sequence[BulkRow | str],
    mode: Literal["all_or_nothing", "per_row"] = "all_or_nothing",
    create_learners: bool = False,
    idempotency_key: str | None = None,
    dry_run: bool = False,
) -> BulkReport:
    """Validate every row, then issue: all rows or none, or every valid row, as asked.

    Row i's award carries the idempotency key `<key>:<i>`, so a retried batch replays the
    awards it already made instead of issuing twice. A row given as a string is one the
    caller could not parse; the string is its error.

    With `dry_run` every row is checked exactly as for issuing and the report says what would
    happen (rows that would be issued are `not_written`, without an award id), but nothing is
    written: no award, learner, audit row or job.
    """
    actor.require_role("issuer")
    if len(rows) > settings.max_bulk_rows:
        raise InvalidInput(f"{len(rows)} rows; at most {settings.max_bulk_rows} per request")
    if not rows:
        raise InvalidInput("no rows to issue")
    institution = identity.get_institution(session, institution_id=institution_id)
    report = BulkReport(mode=mode)
    row_keys = [f"{idempotency_key}:{i}" for i in range(len(rows))] if idempotency_key else []
    earlier = (
        repo.awards_by_idempotency_keys(session, institution_id=institution_id, keys=row_keys)
        if row_keys
        else {}
    )
    parsed = [r for r in rows if isinstance(r, BulkRow)]
    achievements = catalog.achievements_by_keys(
        session, institution_id=institution_id, keys=[r.achievement for r in parsed]
    )
    emails: list[str] = []
    for r in rows:
        try:
            emails.append(
                identity.normalise_email(r.learner_email) if isinstance(r, BulkRow) else ""
            )
        except InvalidInput:
            emails.append(r.learner_email if isinstance(r, BulkRow) else "")
    learners = identity.learners_by_emails(
        session, institution_id=institution_id, emails=[e for e in emails if e]
    )
    live = repo.live_pairs(
        session,
        institution_id=institution_id,
        pairs=[
            (learners[e].id, achievements[r.achievement].id)
            for e, r in zip(emails, rows, strict=True)
            if isinstance(r, BulkRow) and e in learners and r.achievement in achievements
        ],
    )
    planned: list[tuple[int, _Planned]] = []
    seen: set[tuple[str, uuid.UUID]] = set()
    new_learners: dict[str, Learner] = {}
    start = utcnow()
    for i, (row, email) in enumerate(zip(rows, emails, strict=True)):
        key = row_keys[i] if row_keys else None
        if isinstance(row, str):
            report.rows.append(BulkRowOutcome(i, "error", error=row))
            continue
        if key and key in earlier:
            award = earlier[key]
            report.rows.append(
                BulkRowOutcome(i, "replayed", award.id, str(award.credential.get("id")))
            )
            continue
        try:
            identity.normalise_email(row.learner_email)
            achievement = achievements.get(row.achievement)
            if achievement is None:
                raise NotFound(f"no achievement {row.achievement!r} in this institution")
            learner = learners.get(email) or new_learners.get(email)
            if learner is None and create_learners:
                if not row.learner_name:
                    raise InvalidInput("learner_name is needed to create a new learner")
                learner = Learner(
                    id=new_id(),
                    institution_id=institution_id,
                    email=email,
                    display_name=row.learner_name,
                    status="active",
                )
                new_learners[email] = learner
            pair = (email, achievement.id)
            if pair in seen:
                raise Conflict(f"{email} appears twice for {achievement.slug!r} in this batch")
            achievement, learner = _check_award(
                achievement, learner, live=bool(learner and (learner.id, achievement.id) in live)
            )
            plan = _Planned(
                award_id=new_id(),
                learner=learner,
                achievement=achievement,
                results=_check_results(achievement, row.results),
                evidence=[e.document() for e in row.evidence],
                idempotency_key=key,
                valid_from=start,
                valid_until=_valid_until(achievement, start),
            )
            seen.add(pair)
            planned.append((i, plan))
            report.rows.append(
                BulkRowOutcome(
                    i,
                    "not_written",
                    None if dry_run else plan.award_id,
                    achievement_name=achievement.name,
                    new_learner=email not in learners,
                )
            )
        except (InvalidInput, NotFound, Conflict) as exc:
            report.rows.append(BulkRowOutcome(i, "error", error=exc.detail))
    # Everything above only read; returning here leaves the transaction untouched.
    if dry_run or (report.errors and mode == "all_or_nothing"):
        return report
    used_learners = {id(p.learner) for _, p in planned}
    for learner in new_learners.values():
        if id(learner) not in used_learners:
            continue
        session.add(learner)
        audit.record(
            session,
            actor=actor,
            action="learner.create",
            subject_type="learner",
            subject_id=learner.id,
            institution_id=institution_id,
            after={
                "email": learner.email,
                "display_name": learner.display_name,
                "via": "bulk issue",
            },
        )
    outcomes = {o.row: o for o in report.rows}

    def store(chunk: list[tuple[int, _Planned]], batch: _Batch) -> None:
        inserted = _store(session, actor=actor, institution=institution, batch=batch)
        for (i, _), stored in zip(chunk, inserted, strict=True):
            outcomes[i].status = "issued"
            outcomes[i].credential_id = str(stored["credential"]["id"])

    # Pipelined: while the workers sign one chunk, this process stores the previous one.
    pool = _signing_pool(len(planned))
    pending: tuple[list[tuple[int, _Planned]], _Batch] | None = None
    try:
        for offset in range(0, len(planned), BULK_CHUNK):
            chunk = planned[offset : offset + BULK_CHUNK]
            batch = _prepare(
                session,
                actor=actor,
                settings=settings,
                institution=institution,
                planned=[p for _, p in chunk],
                pool=pool,
            )
            if pending is not None:
                store(*pending)
            pending = (chunk, batch)
        if pending is not None:
            store(*pending)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    audit.record(
        session,
        actor=actor,
        action="award.bulk_issue",
        subject_type="institution",
        subject_id=institution_id,
        institution_id=institution_id,
        after={
            "rows": len(rows),
            "issued": report.issued,
            "errors": report.errors,
            "mode": mode,
            "idempotency_key": idempotency_key,
        },
    )
    return report


# --- status changes ----------------------------------------------------------------------------


_TRANSITIONS: dict[StatusAction, tuple[set[str], str, bool]] = {
    # action: (states it may start from, resulting state, status bit)
    "revoke": ({"active", "suspended"}, "revoked", True),
    "suspend": ({"active"}, "suspended", True),
    "reinstate": ({"suspended"}, "active", False),
}


def change_status(
    session: Session,
    *,
    actor: Principal,
    settings: Settings,
    institution_id: uuid.UUID,
    award_id: uuid.UUID,
    action: StatusAction,
    reason: str,
) -> tuple[Award, bool]:
    """Revoke, suspend or reinstate. The bit, the re-signed list and the award change together.

    Returns (award, changed); asking for the state an award is already in changes nothing
    (safe to retry).
    """
    actor.require_role("issuer")
    if not reason.strip():
        raise InvalidInput("a reason is required")
    award = get_award(session, institution_id=institution_id, award_id=award_id)
    allowed_from, target, bit = _TRANSITIONS[action]
    if award.state == target:
        return award, False
    if award.state not in allowed_from:
        raise Conflict(f"cannot {action} an award that is {award.state}")
    row = repo.status_list_locked(session, list_id=award.status_list_id)
    if row is None:  # pragma: no cover - guarded by a foreign key
        raise Conflict("the award's status list is missing")
    if action in ("suspend", "reinstate") and row.purpose != "suspension":
        raise Conflict(
            "this credential's status entry is a revocation list, which cannot be "
            "undone; suspension needs an achievement issued with status_purpose "
            "'suspension'"
        )
    bits = status_list.Bitstring.from_bytes(row.bits)
    bits.set(award.status_index, bit)
    row.revision += 1
    _sign_status_list(session, settings=settings, row=row, bits=bits)
    before = award.state
    award.state = target
    award.state_reason = reason
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"award.{action}",
        subject_type="award",
        subject_id=award.id,
        institution_id=institution_id,
        before={"state": before},
        after={"state": target, "status_list_revision": row.revision},
        reason=reason,
    )
    return award, True


# --- queries -----------------------------------------------------------------------------------


def get_award(session: Session, *, institution_id: uuid.UUID, award_id: uuid.UUID) -> Award:
    award = repo.award_by_id(session, institution_id=institution_id, award_id=award_id)
    if award is None:
        raise NotFound("no such award in this institution")
    return award


def public_award(session: Session, *, award_id: uuid.UUID) -> Award:
    award = repo.award_public(session, award_id=award_id)
    if award is None:
        raise NotFound("no such credential")
    return award


def list_awards(
    session: Session,
    *,
    institution_id: uuid.UUID,
    page: PageRequest,
    learner_id: uuid.UUID | None = None,
    achievement_id: uuid.UUID | None = None,
    state: str | None = None,
) -> tuple[Sequence[Award], int]:
    return repo.page_awards(
        session,
        institution_id=institution_id,
        page=page,
        learner_id=learner_id,
        achievement_id=achievement_id,
        state=state,
    )


def award_history(
    session: Session, *, institution_id: uuid.UUID, award_id: uuid.UUID
) -> list[audit.AuditEvent]:
    get_award(session, institution_id=institution_id, award_id=award_id)
    return audit.history(
        session, institution_id=institution_id, subject_type="award", subject_id=award_id
    )


# --- resolving our own documents (for the verifier) -----------------------------------------


class PlatformResolver:
    """Answers for DIDs and status lists this platform publishes, straight from the database."""

    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.base = settings.public_base_url

    def did_document(self, did: str) -> dict[str, Any]:
        prefix = f"did:web:{urlsplit(self.base).netloc.replace(':', '%3A')}:institutions:"
        if not did.startswith(prefix):
            raise ResolutionError(f"{did} is not published by this platform")
        try:
            return did_document(self.session, settings=self.settings, slug=did.removeprefix(prefix))
        except NotFound as exc:
            raise ResolutionError(exc.detail) from exc

    def status_list_credential(self, url: str) -> dict[str, Any]:
        """Any list this platform published, under whatever base URL it was published."""
        _, marker, tail = url.rpartition("/status-lists/")
        try:
            list_id = uuid.UUID(tail) if marker else None
        except ValueError:
            list_id = None
        row = repo.status_list_public(self.session, list_id=list_id) if list_id else None
        if row is None or row.url != url:
            raise ResolutionError(f"{url} is not a status list published by this platform")
        return row.signed_credential


def verify_document(
    session: Session, *, settings: Settings, data: bytes | str | dict[str, Any]
) -> Verdict:
    """Verify any credential: ours from the database, others' over HTTPS when allowed.

    Besides the verifier's checks, a credential whose id says it was issued here must be in
    the issuer's register (`recorded`): a signature proves who signed, the register proves
    that the issuer still stands behind that exact document (it was not, say, signed with a
    leaked key outside the platform). Other issuers' credentials skip it.

    No verdict is cached: the whole verification of one of our credentials costs about 1 ms
    (signature ~0.35 ms, DID document and status list each one indexed read), a tenth of the
    public page's time, so a cache would save little and would be one more thing to get
    wrong (bench/credential_page.py measures the page).
    """
    chain: list[Resolver] = [PlatformResolver(session, settings), OfflineResolver()]
    if settings.verifier_fetch_remote:
        chain.append(HttpResolver(timeout_s=settings.verifier_fetch_timeout_s))
    verdict = verify(data, resolver=ChainResolver(*chain))
    # Only a credential the verifier read through to the end (validity is always checked
    # then); one refused for its format, contexts or shape stops at that reason.
    if verdict.credential is not None and any(c.name == "validity" for c in verdict.checks):
        verdict.checks.append(
            _check_recorded(session, settings=settings, credential=verdict.credential)
        )
    return verdict


def _check_recorded(session: Session, *, settings: Settings, credential: dict[str, Any]) -> Check:
    """Does the issuer's register hold this exact credential (when it claims to be ours)?

    "Exact" is the stored proofValue: it signs the canonical form of the whole document, so
    together with a passing signature check it pins the content too; a copy with other
    content but our proofValue fails the signature instead.
    """
    credential_id = credential.get("id")
    if not isinstance(credential_id, str) or not credential_id.startswith(
        f"{settings.public_base_url}/credentials/"
    ):
        return Check(
            "recorded",
            True,
            "issued elsewhere; this platform keeps no register of it",
            skipped=True,
        )
    award = records.award_for_credential_id(session, settings=settings, credential_id=credential_id)
    if award is None:
        return Check(
            "recorded",
            False,
            f"the issuer's register has no record of this credential: no award has the id "
            f"{credential_id}",
        )
    presented, stored = _proof_value(credential), _proof_value(award.credential)
    if presented is None or presented != stored:
        return Check(
            "recorded",
            False,
            "the issuer's register has no record of this credential: the register's "
            f"credential {credential_id} carries a different signature",
        )
    return Check(
        "recorded",
        True,
        f"the issuer's register holds this exact credential (award {award.id}, issued "
        f"{award.issued_at:%Y-%m-%d})",
    )


def _proof_value(credential: dict[str, Any]) -> str | None:
    try:
        value = proofs.extract_proof(credential).get("proofValue")
    except proofs.ProofError:
        return None
    return value if isinstance(value, str) else None


def achievement_document(
    session: Session, *, settings: Settings, achievement: Achievement
) -> dict[str, Any]:
    """The public OB 3.0 Achievement JSON at the achievement's URL."""
    institution = identity.get_institution(session, institution_id=achievement.institution_id)
    key = repo.active_key(session, institution_id=institution.id)
    # A read must not mint keys: before the first award a did:key issuer has no DID yet.
    creator = issuer_profile(settings, institution, key) if key is not None else None
    document = documents.achievement_document(
        settings.public_base_url, _achievement_view(achievement), creator
    ).document()
    return {"@context": [ob3.VC_V2, ob3.OB_V3P0], **document}


def held_achievement_ids(session: Session, *, learner_id: uuid.UUID) -> set[uuid.UUID]:
    """Achievements the learner's active, unexpired awards attest (suspended ones do not)."""
    return repo.held_achievement_ids(session, learner_id=learner_id, now=utcnow())


def live_award_for(
    session: Session, *, learner_id: uuid.UUID, achievement_id: uuid.UUID
) -> Award | None:
    """The learner's active or suspended award of this achievement, if any."""
    return repo.live_award(session, learner_id=learner_id, achievement_id=achievement_id)
