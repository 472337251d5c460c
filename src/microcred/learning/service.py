"""Skills intelligence: job postings and the skills they demand, demand trends, the catalog
coverage report, a learner's target job, gap, plan, enrolments and the next-step nudge.

Rules only (no HTTP). Every function takes the session first and keyword arguments after,
flushes and never commits; every state change writes an audit row.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy.orm import Session

from microcred.assessment import record as assessment_record
from microcred.catalog import framework
from microcred.catalog import service as catalog
from microcred.catalog.models import Achievement
from microcred.credentials import service as credentials
from microcred.identity import service as identity
from microcred.kit import audit
from microcred.kit.ai.embedder import get_embedder
from microcred.kit.db import utcnow
from microcred.kit.errors import Conflict, Forbidden, InvalidInput, NotFound, PayloadTooLarge
from microcred.kit.pagination import PageRequest
from microcred.kit.principal import Principal
from microcred.kit.settings import Settings
from microcred.learning import mastery, planner
from microcred.learning import repository as repo
from microcred.learning.models import (
    BKTParameters,
    Enrolment,
    JobPosting,
    LearningTarget,
    MasteryEvidence,
    PostingSkill,
    SkillMastery,
)
from microcred.learning.skills import (
    EmptyText,
    Extraction,
    PostingTooLarge,
    SkillConcept,
    SkillIndex,
    detect_language,
)

MAX_POSTING_CHARS = 100_000
MAX_TITLE_CHARS = 300
MAX_CSV_ROWS = 5_000
# ESCO marks a skill essential or optional for an occupation; an optional skill still counts
# toward the gap, at this weight, but the plan does not have to cover it.
OPTIONAL_WEIGHT = 0.3
# A skill whose mastery estimate reaches this probability is no longer part of the gap.
MASTERED = 0.8
FLEXIBILITY = {"self-paced": 1.0, "blended": 0.6, "scheduled": 0.3}
DEFAULT_WEIGHTS = {
    "relevance": 0.4,
    "recognition": 0.15,
    "cost": 0.15,
    "duration": 0.15,
    "flexibility": 0.15,
}
STAFF_ROLES = ("issuer", "analyst")


# ---------------------------------------------------------------------------------------------
# The skill linker, built once per process per framework version and embedder


_index_lock = threading.Lock()
_index_cache: dict[tuple[str, str, str | None], SkillIndex] = {}


def skill_index(session: Session, *, settings: Settings) -> SkillIndex:
    """The linking index over the imported framework's skills (not skill groups)."""
    version = framework.framework_version(session)
    if version is None:
        raise Conflict("no skills framework is imported yet: run `microcred import-esco DIR`")
    key = (version, settings.embedder, str(settings.embedding_model_dir))
    with _index_lock:
        found = _index_cache.get(key)
        if found is not None:
            return found
        concepts = [
            SkillConcept(
                uri=skill.uri,
                label=skill.label,
                alt_labels=tuple(str(label) for label in skill.alt_labels),
                description=skill.description,
            )
            for skill in framework.all_framework_skills(session)
            if not skill.is_group
        ]
        index = SkillIndex.build(concepts, embedder=get_embedder(settings))
        _index_cache.clear()  # one framework at a time: an older index is never needed again
        _index_cache[key] = index
        return index


def extractor_name(index: SkillIndex) -> str:
    """The linker and embedding model, stored with each posting's skills."""
    return f"hybrid-linker/{index.embedder.name}"[:120]


def suggest_alignments(
    session: Session, *, settings: Settings, text: str, limit: int = 8
) -> list[dict[str, Any]]:
    """Skills a staff member's description of an achievement reads like, with the evidence."""
    index = skill_index(session, settings=settings)
    try:
        extraction = index.extract(text, max_skills=limit)
    except (EmptyText, PostingTooLarge) as exc:
        raise InvalidInput(str(exc)) from exc
    return [
        {"uri": m.uri, "label": m.label, "score": round(m.score, 3), "evidence": m.evidence}
        for m in extraction.matches
    ]


MAX_CATALOGUE_ITEMS = 500


def map_catalogue(
    session: Session, *, settings: Settings, items: Sequence[tuple[str, str]], limit: int = 5
) -> list[tuple[str, list[dict[str, Any]]]]:
    """An external course catalogue → ESCO: each (key, text: a title, a skills list or a
    description) with its best-linked skills, the score and the words that matched."""
    if not items:
        raise InvalidInput("send at least one course")
    if len(items) > MAX_CATALOGUE_ITEMS:
        raise PayloadTooLarge(f"at most {MAX_CATALOGUE_ITEMS} courses per request")
    keys = [key for key, _ in items]
    if len(set(keys)) != len(keys):
        raise InvalidInput("each course needs its own key")
    index = skill_index(session, settings=settings)
    out: list[tuple[str, list[dict[str, Any]]]] = []
    for key, text in items:
        if not text.strip():
            raise InvalidInput(f"course {key!r} has no text to read skills from")
        matches = index.link(text, k=limit)
        out.append(
            (
                key,
                [
                    {
                        "uri": m.uri,
                        "label": m.label,
                        "score": round(m.score, 3),
                        "evidence": m.evidence,
                    }
                    for m in matches
                ],
            )
        )
    return out


def search_skills(
    session: Session, *, settings: Settings, query: str, limit: int = 20
) -> list[dict[str, Any]]:
    """Lexical and semantic search over the framework's skills (the staff skill picker)."""
    query = query.strip()
    if not query:
        return []
    if len(query) > 200:
        raise InvalidInput("a skill search is at most 200 characters")
    index = skill_index(session, settings=settings)
    return [
        {"uri": m.uri, "label": m.label, "score": round(m.score, 3), "method": m.method}
        for m in index.search(query, k=limit)
    ]


# ---------------------------------------------------------------------------------------------
# Job postings


@dataclass(frozen=True, slots=True)
class PostingIn:
    title: str
    body: str
    posted_on: dt.date | None = None
    occupation_uri: str | None = None
    location: str | None = None


@dataclass(frozen=True, slots=True)
class Ingested:
    posting: JobPosting
    created: bool  # False: the same text was already stored; nothing changed
    language_note: str | None
    notes: list[str]


def _require_staff(actor: Principal) -> None:
    if actor.kind not in ("staff", "system", "api_token"):
        raise Forbidden("only the institution's staff see job postings and demand")
    actor.tenant  # noqa: B018 - raises Forbidden without an institution


def _content_hash(title: str, body: str) -> str:
    normal = re.sub(r"\s+", " ", f"{title}\n{body}").strip().lower()
    return hashlib.sha256(normal.encode()).hexdigest()


def _check_posting(item: PostingIn, *, today: dt.date) -> PostingIn:
    title = item.title.strip()
    body = item.body.strip()
    if not body:
        raise InvalidInput("the posting is empty: paste the text of the job advertisement")
    if len(body) > MAX_POSTING_CHARS:
        raise PayloadTooLarge(
            f"the posting is {len(body):,} characters; at most {MAX_POSTING_CHARS:,} are read"
        )
    if not title:
        # A posting pasted without a title takes its first line, as a person would.
        title = body.splitlines()[0].strip()
    title = title[:MAX_TITLE_CHARS]
    posted_on = item.posted_on or today
    if posted_on > today:
        raise InvalidInput(f"the posting date {posted_on.isoformat()} is in the future")
    return PostingIn(title, body, posted_on, item.occupation_uri or None, item.location or None)


def ingest_posting(
    session: Session,
    *,
    settings: Settings,
    actor: Principal,
    item: PostingIn,
    source: Literal["paste", "upload", "csv", "api", "demo"],
    today: dt.date | None = None,
) -> Ingested:
    """Store a posting with the skills it demands. The same text twice is stored once."""
    actor.require_role(*STAFF_ROLES)
    institution_id = actor.tenant
    item = _check_posting(item, today=today or dt.date.today())
    if item.occupation_uri is not None:
        framework.get_occupation(session, uri=item.occupation_uri)  # NotFound when unknown
    digest = _content_hash(item.title, item.body)
    existing = repo.posting_by_hash(session, institution_id=institution_id, content_hash=digest)
    if existing is not None:
        return Ingested(existing, False, None, ["this posting was already stored; nothing changed"])
    index = skill_index(session, settings=settings)
    extraction = index.extract(item.body)
    posting = JobPosting(
        institution_id=institution_id,
        title=item.title,
        body=item.body,
        posted_on=item.posted_on,
        occupation_uri=item.occupation_uri,
        location=item.location,
        language=extraction.language,
        source=source,
        content_hash=digest,
        extractor=extractor_name(index),
        skills=_posting_skills(extraction),
    )
    session.add(posting)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="posting.ingested",
        subject_type="job_posting",
        subject_id=posting.id,
        institution_id=institution_id,
        after={
            "title": posting.title,
            "posted_on": posting.posted_on.isoformat(),
            "occupation": posting.occupation_uri,
            "skills": [s.skill_uri for s in posting.skills],
            "language": posting.language,
            "extractor": posting.extractor,
        },
    )
    return Ingested(posting, True, extraction.language_note, list(extraction.notes))


def _posting_skills(extraction: Extraction) -> list[PostingSkill]:
    return [
        PostingSkill(
            skill_uri=m.uri,
            label=m.label[:400],
            score=float(m.score),
            evidence=m.evidence[:500],
            span_start=m.span[0] if m.span else None,
            span_end=m.span[1] if m.span else None,
            origin="linker",
            rejected=False,
        )
        for m in extraction.matches
    ]


CSV_COLUMNS = {"title", "description", "posted_on", "occupation", "location"}


@dataclass(frozen=True, slots=True)
class CsvIngest:
    created: int
    unchanged: int
    postings: list[JobPosting]


def ingest_postings_csv(
    session: Session,
    *,
    settings: Settings,
    actor: Principal,
    data: bytes,
    today: dt.date | None = None,
) -> CsvIngest:
    """A CSV of postings (title, description, posted_on, occupation, location): all rows are
    checked before any is stored; one bad row refuses the file with every row's error."""
    actor.require_role(*STAFF_ROLES)
    today = today or dt.date.today()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("the CSV file must be UTF-8 text") from exc
    # Universal newlines: a lone "\r" (old Mac line ends) ends a row instead of breaking csv.
    reader = csv.DictReader(io.StringIO(text, newline=None))
    try:
        header = {name.strip().lower() for name in (reader.fieldnames or [])}
        rows = list(reader)
    except csv.Error as exc:
        raise InvalidInput(f"the file is not valid CSV: {exc}") from exc
    if not {"title", "description"} <= header:
        raise InvalidInput(
            "the CSV needs the columns title and description "
            "(optional: posted_on, occupation, location); found: "
            + (", ".join(sorted(header)) or "none")
        )
    items: list[PostingIn] = []
    errors: list[dict[str, Any]] = []
    occupations: dict[str, str | None] = {}
    for line, raw in enumerate(rows, start=2):
        if len(items) + len(errors) >= MAX_CSV_ROWS:
            raise PayloadTooLarge(f"at most {MAX_CSV_ROWS:,} postings per file")
        row = {str(k).strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
        try:
            posted_on = dt.date.fromisoformat(row["posted_on"]) if row.get("posted_on") else None
            occupation = row.get("occupation") or None
            if occupation is not None:
                if occupation not in occupations:
                    occupations[occupation] = _resolve_occupation(session, occupation)
                if occupations[occupation] is None:
                    raise InvalidInput(f"unknown occupation {occupation!r}")
            item = _check_posting(
                PostingIn(
                    row.get("title", ""),
                    row.get("description", ""),
                    posted_on,
                    occupations.get(occupation) if occupation else None,
                    row.get("location") or None,
                ),
                today=today,
            )
            items.append(item)
        except (ValueError, InvalidInput, PayloadTooLarge) as exc:
            message = exc.detail if isinstance(exc, InvalidInput | PayloadTooLarge) else str(exc)
            errors.append({"row": line, "detail": message})
    if errors:
        raise InvalidInput(
            f"{len(errors)} row(s) of the CSV are invalid; nothing was stored", errors=errors
        )
    if not items:
        raise InvalidInput("the CSV has no postings")
    created = unchanged = 0
    stored: list[JobPosting] = []
    for item in items:
        result = ingest_posting(
            session, settings=settings, actor=actor, item=item, source="csv", today=today
        )
        stored.append(result.posting)
        created += result.created
        unchanged += not result.created
    return CsvIngest(created, unchanged, stored)


def _resolve_occupation(session: Session, value: str) -> str | None:
    """An occupation given by ESCO URI or by its exact preferred label."""
    if value.startswith("http"):
        try:
            return framework.get_occupation(session, uri=value).occupation.uri
        except NotFound:
            return None
    for hit in framework.search_occupations(session, query=value, limit=5):
        if hit.label.lower() == value.lower():
            return hit.uri
    return None


def list_postings(
    session: Session,
    *,
    actor: Principal,
    page: PageRequest,
    occupation_uri: str | None = None,
) -> tuple[Sequence[JobPosting], int]:
    _require_staff(actor)
    return repo.page_postings(
        session,
        institution_id=actor.tenant,
        offset=page.offset,
        limit=page.limit,
        occupation_uri=occupation_uri,
    )


def posting_occupations(session: Session, *, actor: Principal) -> list[tuple[str, int]]:
    """(occupation uri, postings) for the occupations the institution's postings name."""
    _require_staff(actor)
    return repo.posting_occupations(session, institution_id=actor.tenant)


def get_posting(session: Session, *, actor: Principal, posting_id: uuid.UUID) -> JobPosting:
    _require_staff(actor)
    found = repo.posting(session, institution_id=actor.tenant, posting_id=posting_id)
    if found is None:
        raise NotFound("no such job posting in this institution")
    return found


def review_posting_skill(
    session: Session,
    *,
    actor: Principal,
    posting_id: uuid.UUID,
    skill_uri: str,
    rejected: bool,
    reason: str | None = None,
) -> PostingSkill:
    """A person overrides the linker: reject an extracted skill, or add (or restore) one."""
    actor.require_role(*STAFF_ROLES)
    posting = get_posting(session, actor=actor, posting_id=posting_id)
    found = next((s for s in posting.skills if s.skill_uri == skill_uri), None)
    before = None if found is None else {"rejected": found.rejected, "origin": found.origin}
    if found is None:
        if rejected:
            raise NotFound("this posting does not list that skill")
        skills = framework.framework_skills(session, uris=[skill_uri])
        if skill_uri not in skills:
            raise InvalidInput(f"{skill_uri} is not a skill of the imported framework")
        found = PostingSkill(
            skill_uri=skill_uri,
            label=skills[skill_uri].label[:400],
            score=1.0,
            evidence="added by staff",
            origin="staff",
            rejected=False,
        )
        posting.skills.append(found)
    else:
        found.rejected = rejected
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="posting.skill_rejected" if rejected else "posting.skill_accepted",
        subject_type="job_posting",
        subject_id=posting.id,
        institution_id=posting.institution_id,
        before=before,
        after={"skill": skill_uri, "rejected": rejected, "origin": found.origin},
        reason=reason,
    )
    return found


# ---------------------------------------------------------------------------------------------
# Demand trends and the catalog coverage report


@dataclass(frozen=True, slots=True)
class SkillTrend:
    uri: str
    label: str
    postings: int
    share: float  # of all postings in the window
    series: list[float]  # share per period, oldest first
    slope: float  # change in share per period (least squares)
    direction: Literal["rising", "falling", "steady"]


@dataclass(frozen=True, slots=True)
class Trends:
    periods: list[str]  # "YYYY-MM"
    postings_per_period: list[int]
    total_postings: int
    rising: list[SkillTrend]
    falling: list[SkillTrend]
    top: list[SkillTrend]
    occupation_uri: str | None
    note: str | None


def _month(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _months_between(first: dt.date, last: dt.date) -> list[str]:
    months = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        month += 1
        if month == 13:
            year, month = year + 1, 1
    return months


@dataclass(frozen=True, slots=True)
class _Demand:
    """The postings in scope and the accepted skills they ask for. (posting, skill) is the
    key of posting_skills, so each pair comes once."""

    posted_on: dict[uuid.UUID, dt.date]
    pairs: list[tuple[uuid.UUID, str, str]]  # (posting, skill uri, label)

    def counts(self) -> Counter[str]:
        return Counter(uri for _, uri, _ in self.pairs)

    def labels(self) -> dict[str, str]:
        return {uri: label for _, uri, label in self.pairs}


def _demand(session: Session, *, institution_id: uuid.UUID, occupation_uri: str | None) -> _Demand:
    postings = repo.postings_per_day(
        session, institution_id=institution_id, occupation_uri=occupation_uri
    )
    pairs = repo.demand_rows(session, institution_id=institution_id, occupation_uri=occupation_uri)
    return _Demand(dict(postings), pairs)


def demand_trends(
    session: Session,
    *,
    actor: Principal,
    occupation_uri: str | None = None,
    top: int = 10,
    min_postings: int = 3,
) -> Trends:
    """Which demanded skills rise and fall: each skill's monthly share of postings, and the
    least-squares slope of that share. A skill needs `min_postings` to count as a trend."""
    _require_staff(actor)
    demand = _demand(session, institution_id=actor.tenant, occupation_uri=occupation_uri)
    postings = demand.posted_on
    if not postings:
        return Trends([], [], 0, [], [], [], occupation_uri, "no job postings yet")
    periods = _months_between(min(postings.values()), max(postings.values()))
    position = {p: i for i, p in enumerate(periods)}
    per_period = [0] * len(periods)
    for day in postings.values():
        per_period[position[_month(day)]] += 1
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * len(periods))
    for posting_id, uri, _ in demand.pairs:
        counts[uri][position[_month(postings[posting_id])]] += 1
    labels = demand.labels()
    # A slope over fewer than three months says nothing: shares only, every skill steady.
    trending = len(periods) >= 3
    trends: list[SkillTrend] = []
    for uri, series_counts in counts.items():
        total = sum(series_counts)
        shares = [c / n if n else 0.0 for c, n in zip(series_counts, per_period, strict=True)]
        slope = _slope(
            [s for s, n in zip(shares, per_period, strict=True) if n],
            [i for i, n in enumerate(per_period) if n],
        )
        direction: Literal["rising", "falling", "steady"] = "steady"
        if trending and total >= min_postings and abs(slope) >= 0.01:
            direction = "rising" if slope > 0 else "falling"
        trends.append(
            SkillTrend(uri, labels[uri], total, total / len(postings), shares, slope, direction)
        )
    note = None
    if not trending:
        note = "trends need postings from at least three months; shares are shown instead"
    by_share = sorted(trends, key=lambda t: (-t.postings, t.label))
    rising = sorted((t for t in trends if t.direction == "rising"), key=lambda t: -t.slope)
    falling = sorted((t for t in trends if t.direction == "falling"), key=lambda t: t.slope)
    return Trends(
        periods,
        per_period,
        len(postings),
        rising[:top],
        falling[:top],
        by_share[:top],
        occupation_uri,
        note,
    )


def _slope(values: list[float], xs: list[int]) -> float:
    if len(values) < 2:
        return 0.0
    mean_x = sum(xs) / len(xs)
    mean_y = sum(values) / len(values)
    var = sum((x - mean_x) ** 2 for x in xs)
    if var == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, values, strict=True)) / var


@dataclass(frozen=True, slots=True)
class CoverageRow:
    uri: str
    label: str
    postings: int
    share: float
    taught_by: list[str]  # achievement names


@dataclass(frozen=True, slots=True)
class Coverage:
    total_postings: int
    demanded: int  # distinct skills demanded
    covered: int  # of those, taught by at least one active achievement
    demand_covered: float  # share of skill demand (posting-skill pairs) the catalog teaches
    taught: list[CoverageRow]
    untaught: list[CoverageRow]  # in demand, taught nowhere here: the report's point
    summary: str


def _teachers(session: Session, *, institution_id: uuid.UUID) -> dict[str, list[Achievement]]:
    out: dict[str, list[Achievement]] = defaultdict(list)
    for achievement in active_achievements(session, institution_id=institution_id):
        for alignment in achievement.alignments:
            out[alignment.target_url].append(achievement)
    return out


def active_achievements(session: Session, *, institution_id: uuid.UUID) -> list[Achievement]:
    rows, _ = catalog.list_achievements(
        session,
        institution_id=institution_id,
        page=PageRequest(limit=10_000, offset=0),
        status="active",
    )
    return list(rows)


def coverage_report(
    session: Session, *, actor: Principal, occupation_uri: str | None = None
) -> Coverage:
    """Skills the postings demand, split by whether any active achievement teaches them."""
    _require_staff(actor)
    found = _demand(session, institution_id=actor.tenant, occupation_uri=occupation_uri)
    postings = found.posted_on
    demand = found.counts()
    labels = found.labels()
    teachers = _teachers(session, institution_id=actor.tenant)
    taught: list[CoverageRow] = []
    untaught: list[CoverageRow] = []
    for uri, count in sorted(demand.items(), key=lambda kv: (-kv[1], labels[kv[0]])):
        row = CoverageRow(
            uri, labels[uri], count, count / len(postings), [a.name for a in teachers.get(uri, [])]
        )
        (taught if row.taught_by else untaught).append(row)
    total_demand = sum(demand.values())
    covered_demand = sum(r.postings for r in taught)
    share = covered_demand / total_demand if total_demand else 0.0
    if not postings:
        summary = "No job postings yet: add some to see which demanded skills the catalog teaches."
    else:
        summary = (
            f"The catalog teaches {len(taught)} of the {len(demand)} skills that "
            f"{len(postings)} posting(s) demand ({share:.0%} of the demand); "
            f"{len(untaught)} are taught nowhere here."
        )
    return Coverage(len(postings), len(demand), len(taught), share, taught, untaught, summary)


# ---------------------------------------------------------------------------------------------
# A learner's target job and gap


@dataclass(frozen=True, slots=True)
class TargetIn:
    occupation_uri: str | None = None
    posting_text: str | None = None
    title: str | None = None
    objective: Literal["hours", "cost", "count"] = "hours"
    budget: Decimal | None = None
    max_hours: Decimal | None = None


def _learner(session: Session, actor: Principal, learner_id: uuid.UUID | None) -> uuid.UUID:
    """The learner acted for: the signed-in learner themself, or (for staff and the
    institution's API tokens, e.g. an LMS) a learner of the same institution."""
    if actor.kind == "learner":
        if actor.id is None or (learner_id is not None and learner_id != actor.id):
            raise NotFound("no such learner")
        return actor.id
    if learner_id is None:
        raise InvalidInput("name the learner this is for")
    if actor.kind not in ("staff", "api_token", "system"):
        raise Forbidden("only the learner or their institution's staff may do this")
    return identity.get_learner(session, institution_id=actor.tenant, learner_id=learner_id).id


def set_target(
    session: Session,
    *,
    settings: Settings,
    actor: Principal,
    target: TargetIn,
    learner_id: uuid.UUID | None = None,
) -> LearningTarget:
    """Choose the job to aim at: an ESCO occupation, or a pasted posting read for its skills."""
    learner_id = _learner(session, actor, learner_id)
    if (target.occupation_uri is None) == (
        target.posting_text is None or not target.posting_text.strip()
    ):
        raise InvalidInput(
            "choose either an occupation or paste a job posting, not both or neither"
        )
    if target.budget is not None and target.budget < 0:
        raise InvalidInput("the budget cannot be negative")
    if target.max_hours is not None and target.max_hours <= 0:
        raise InvalidInput("the hours available must be more than zero")
    demanded: list[dict[str, Any]] = []
    notes: list[str] = []
    if target.occupation_uri is not None:
        detail = framework.get_occupation(session, uri=target.occupation_uri)
        kind, title, text = "occupation", detail.occupation.label, None
    else:
        text = (target.posting_text or "").strip()
        item = _check_posting(PostingIn(target.title or "", text), today=dt.date.today())
        extraction = skill_index(session, settings=settings).extract(item.body)
        if not extraction.matches:
            raise InvalidInput(
                "no skill of the framework could be read from this posting"
                + (f" ({extraction.language_note})" if extraction.language_note else "")
            )
        demanded = [
            {
                "uri": m.uri,
                "label": m.label,
                "score": round(float(m.score), 4),
                "evidence": m.evidence,
            }
            for m in extraction.matches
        ]
        if extraction.language_note:
            notes.append(extraction.language_note)
        kind, title = "posting", item.title
    found = repo.target_of(session, learner_id=learner_id)
    before = None
    if found is None:
        found = LearningTarget(learner_id=learner_id)
        session.add(found)
    else:
        before = {"kind": found.kind, "title": found.title, "objective": found.objective}
    found.kind = kind
    found.title = title[:300]
    found.occupation_uri = target.occupation_uri
    found.posting_text = text
    found.demanded = demanded
    found.objective = target.objective
    found.budget = target.budget
    found.max_hours = target.max_hours
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="learning.target_set",
        subject_type="learner",
        subject_id=learner_id,
        institution_id=actor.tenant,
        before=before,
        after={
            "kind": kind,
            "title": found.title,
            "occupation": found.occupation_uri,
            "skills": [d["uri"] for d in demanded],
            "objective": found.objective,
            "budget": None if found.budget is None else str(found.budget),
            "max_hours": None if found.max_hours is None else str(found.max_hours),
            "notes": notes,
        },
    )
    return found


def get_target(
    session: Session, *, actor: Principal, learner_id: uuid.UUID | None = None
) -> LearningTarget | None:
    return repo.target_of(session, learner_id=_learner(session, actor, learner_id))


@dataclass(frozen=True, slots=True)
class GapItem:
    uri: str
    label: str
    relation: Literal["essential", "optional", "demanded"]
    weight: float
    demand_share: float | None  # share of the institution's postings that ask for it
    mastery: float | None
    mastered: bool
    taught_by: list[str]
    reasons: list[str]


@dataclass(frozen=True, slots=True)
class Gap:
    title: str
    kind: str
    skills: list[GapItem]  # every demanded skill, gap first
    missing: list[GapItem]
    mastered: list[GapItem]
    essential_total: int
    essential_taught: int  # essential gap skills some achievement here teaches
    untaught_essential: list[GapItem]
    summary: str
    notes: list[str] = field(default_factory=list)


def gap_for(session: Session, *, actor: Principal, learner_id: uuid.UUID | None = None) -> Gap:
    """What the target job asks for that the learner does not yet master, with reasons."""
    learner_id = _learner(session, actor, learner_id)
    target = repo.target_of(session, learner_id=learner_id)
    if target is None:
        raise NotFound("choose a target job first")
    demanded: list[tuple[str, str, Literal["essential", "optional", "demanded"], float, str]] = []
    if target.kind == "occupation" and target.occupation_uri is not None:
        detail = framework.get_occupation(session, uri=target.occupation_uri)
        occupation = detail.occupation
        for relation, skills in (
            ("essential", detail.essential),
            ("optional", detail.optional),
        ):
            for skill in skills:
                weight = 1.0 if relation == "essential" else OPTIONAL_WEIGHT
                reason = f"ESCO lists it as {relation} for {occupation.label}"
                demanded.append((skill.uri, skill.label, relation, weight, reason))  # type: ignore[arg-type]
    else:
        for item in target.demanded:
            reason = f"the posting asks for it: \u201c{item['evidence']}\u201d"
            demanded.append((item["uri"], item["label"], "demanded", 1.0, reason))
    share = _demand_share(
        session, institution_id=actor.tenant, occupation_uri=target.occupation_uri
    )
    known = refresh_mastery(session, actor=actor, learner_id=learner_id)
    held = held_skills(session, learner_id=learner_id)
    teachers = _teachers(session, institution_id=actor.tenant)
    items: list[GapItem] = []
    for uri, label, relation, weight, reason in demanded:
        reasons = [reason]
        demand = share.get(uri)
        if demand:
            reasons.append(f"{demand:.0%} of this institution's postings for the job ask for it")
            # Demand raises a skill's weight by up to double: the plan favours what employers
            # ask for most when two routes cost the same.
            weight = weight * (1 + demand)  # noqa: PLW2901
        row = known.get(uri)
        p = None if row is None else row.probability
        is_mastered = False
        if uri in held:
            is_mastered = True
            reasons.append(f"you hold {held[uri]}, which attests it")
        elif row is not None and row.probability >= MASTERED:
            is_mastered = True
            reasons.append(f"mastered: P = {row.probability:.2f} ({'; '.join(row.reasons[:1])})")
        elif row is not None:
            reasons.append(f"not yet mastered: P = {row.probability:.2f}")
        taught_by = [a.name for a in teachers.get(uri, [])]
        if not taught_by and not is_mastered:
            reasons.append("no achievement here teaches it")
        items.append(
            GapItem(
                uri, label, relation, round(weight, 4), demand, p, is_mastered, taught_by, reasons
            )
        )
    items.sort(key=lambda g: (g.mastered, g.relation == "optional", -g.weight, g.label))
    missing = [g for g in items if not g.mastered]
    required = [g for g in items if g.relation != "optional"]
    required_missing = [g for g in missing if g.relation != "optional"]
    untaught = [g for g in required_missing if not g.taught_by]
    taught = len(required_missing) - len(untaught)
    word = "essential" if target.kind == "occupation" else "demanded"
    if not required:
        summary = f"{target.title} lists no {word} skills in the framework."
    elif not required_missing:
        summary = f"You already master every {word} skill of {target.title}."
    else:
        covered = (len(required) - len(untaught)) / len(required)
        summary = (
            f"{len(required_missing)} of the {len(required)} {word} skills of {target.title} "
            f"are still to learn. The catalog covers {covered:.0%} of this job's {word} skills"
            + (f"; these {len(untaught)} are taught nowhere here." if untaught else ".")
        )
    notes: list[str] = []
    if target.posting_text:
        language, _ = detect_language(target.posting_text)
        if language not in ("en", "und"):
            notes.append(
                f"The posting reads as {language!r}, not English: skills are linked to ESCO's "
                "English labels, so only what could be linked is shown."
            )
    return Gap(
        target.title,
        target.kind,
        items,
        missing,
        [g for g in items if g.mastered],
        len(required),
        taught,
        untaught,
        summary,
        notes,
    )


def _demand_share(
    session: Session, *, institution_id: uuid.UUID, occupation_uri: str | None
) -> dict[str, float]:
    demand = _demand(session, institution_id=institution_id, occupation_uri=occupation_uri)
    if not demand.posted_on:
        return {}
    return {uri: n / len(demand.posted_on) for uri, n in demand.counts().items()}


def held_skills(session: Session, *, learner_id: uuid.UUID) -> dict[str, str]:
    """Skills attested by the learner's live awards: skill uri -> achievement name."""
    out: dict[str, str] = {}
    for achievement in held_achievements(session, learner_id=learner_id):
        for alignment in achievement.alignments:
            out.setdefault(alignment.target_url, achievement.name)
    return out


def held_achievements(session: Session, *, learner_id: uuid.UUID) -> list[Achievement]:
    ids = credentials.held_achievement_ids(session, learner_id=learner_id)
    return [catalog.published_achievement(session, achievement_id=i) for i in sorted(ids)]


# ---------------------------------------------------------------------------------------------
# The plan


@dataclass(frozen=True, slots=True)
class PlanView:
    gap: Gap
    plan: planner.Plan | None
    infeasible: planner.InfeasiblePlan | None
    objective: str
    budget: Decimal | None
    max_hours: Decimal | None
    enrolled: set[str]
    achievements: dict[str, Achievement]
    coverage_sentence: str


def courses_for(
    session: Session, *, institution_id: uuid.UUID, held: set[uuid.UUID]
) -> tuple[list[planner.Course], dict[str, Achievement]]:
    """The institution's active achievements as planner courses, minus what the learner holds;
    a prerequisite the learner holds is satisfied already."""
    achievements = active_achievements(session, institution_id=institution_id)
    prerequisites = catalog.prerequisites_of(session, institution_id=institution_id)
    courses: list[planner.Course] = []
    by_id: dict[str, Achievement] = {}
    for achievement in achievements:
        if achievement.id in held:
            continue
        by_id[str(achievement.id)] = achievement
        courses.append(
            planner.Course(
                id=str(achievement.id),
                name=achievement.name,
                skills=frozenset(a.target_url for a in achievement.alignments),
                hours=float(achievement.hours or 0),
                cost=float(achievement.cost or 0),
                prerequisites=frozenset(
                    str(p) for p in prerequisites.get(achievement.id, set()) if p not in held
                ),
            )
        )
    return courses, by_id


def plan_for(
    session: Session,
    *,
    actor: Principal,
    learner_id: uuid.UUID | None = None,
    objective: Literal["hours", "cost", "count"] | None = None,
    budget: Decimal | None = None,
    max_hours: Decimal | None = None,
) -> PlanView:
    """The set and order of achievements that closes the gap at the least hours, cost or
    count, within the budget and deadline: exact when the solver proves it, else greedy with
    the optimality gap stated."""
    learner_id = _learner(session, actor, learner_id)
    target = repo.target_of(session, learner_id=learner_id)
    if target is None:
        raise NotFound("choose a target job first")
    gap = gap_for(session, actor=actor, learner_id=learner_id)
    chosen_objective: str = objective or target.objective
    budget = budget if budget is not None else target.budget
    max_hours = max_hours if max_hours is not None else target.max_hours
    held = {a.id for a in held_achievements(session, learner_id=learner_id)}
    courses, by_id = courses_for(session, institution_id=actor.tenant, held=held)
    request = planner.PlanRequest(
        gap=[
            planner.GapSkill(g.uri, g.label, g.weight, g.relation != "optional")
            for g in gap.missing
        ],
        courses=courses,
        objective=chosen_objective,  # type: ignore[arg-type]
        budget=None if budget is None else float(budget),
        max_hours=None if max_hours is None else float(max_hours),
    )
    enrolled = {
        str(e.achievement_id)
        for e in repo.enrolments_of(session, learner_id=learner_id)
        if e.status == "active"
    }
    try:
        plan = planner.plan(request)
    except planner.InfeasiblePlan as exc:
        return PlanView(
            gap, None, exc, chosen_objective, budget, max_hours, enrolled, by_id, gap.summary
        )
    except planner.CyclicPrerequisites as exc:  # saving refuses cycles; an old row may not
        raise Conflict(str(exc)) from exc
    return PlanView(
        gap, plan, None, chosen_objective, budget, max_hours, enrolled, by_id, gap.summary
    )


# ---------------------------------------------------------------------------------------------
# Enrolment and the next-step nudge


def enrol(
    session: Session,
    *,
    actor: Principal,
    achievement_id: uuid.UUID,
    learner_id: uuid.UUID | None = None,
    source: Literal["plan", "nudge", "direct"] = "direct",
) -> tuple[Enrolment, bool]:
    """Enrol the learner; enrolling twice is the same enrolment (a retried click is safe)."""
    learner_id = _learner(session, actor, learner_id)
    achievement = catalog.get_achievement(
        session, institution_id=actor.tenant, achievement_id=achievement_id
    )
    if achievement.status != "active":
        raise Conflict(f"{achievement.name} is retired and takes no new enrolments")
    found = repo.enrolment(session, learner_id=learner_id, achievement_id=achievement_id)
    if found is not None and found.status == "active":
        return found, False
    before = None if found is None else {"status": found.status}
    if found is None:
        found = Enrolment(learner_id=learner_id, achievement_id=achievement_id, source=source)
        session.add(found)
    found.status = "active"
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="learning.enrolled",
        subject_type="enrolment",
        subject_id=found.id,
        institution_id=actor.tenant,
        before=before,
        after={"achievement": str(achievement_id), "source": source, "status": "active"},
    )
    return found, True


def withdraw(
    session: Session,
    *,
    actor: Principal,
    achievement_id: uuid.UUID,
    learner_id: uuid.UUID | None = None,
) -> Enrolment:
    learner_id = _learner(session, actor, learner_id)
    found = repo.enrolment(session, learner_id=learner_id, achievement_id=achievement_id)
    if found is None:
        raise NotFound("you are not enrolled in that achievement")
    if found.status != "withdrawn":
        found.status = "withdrawn"
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="learning.withdrawn",
            subject_type="enrolment",
            subject_id=found.id,
            institution_id=actor.tenant,
            before={"status": "active"},
            after={"status": "withdrawn"},
        )
    return found


def enrolments(
    session: Session, *, actor: Principal, learner_id: uuid.UUID | None = None
) -> list[tuple[Enrolment, Achievement]]:
    learner_id = _learner(session, actor, learner_id)
    out = []
    for row in repo.enrolments_of(session, learner_id=learner_id):
        out.append(
            (
                row,
                catalog.get_achievement(
                    session, institution_id=actor.tenant, achievement_id=row.achievement_id
                ),
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class Recommendation:
    achievement: Achievement
    reasons: list[str]
    source: Literal["plan", "unlocked", "related"]


def next_recommendation(
    session: Session, *, actor: Principal, learner_id: uuid.UUID | None = None
) -> Recommendation | None:
    """The micro-credential to take next: the first open step of the plan toward the target
    job; without a target, one the learner's awards unlock, or one sharing their skills."""
    learner_id = _learner(session, actor, learner_id)
    active = {
        e.achievement_id
        for e in repo.enrolments_of(session, learner_id=learner_id)
        if e.status == "active"
    }
    if repo.target_of(session, learner_id=learner_id) is not None:
        view = plan_for(session, actor=actor, learner_id=learner_id)
        if view.plan is not None:
            for step in view.plan.steps:
                achievement = view.achievements[step.course.id]
                if achievement.id in active:
                    continue
                reasons = [f"step {step.order} of your plan toward {view.gap.title}"]
                if step.covers:
                    reasons.append("covers " + ", ".join(g.label for g in step.covers[:4]))
                return Recommendation(achievement, reasons, "plan")
    held = held_achievements(session, learner_id=learner_id)
    if not held:
        return None
    held_ids = {a.id for a in held}
    prerequisites = catalog.prerequisites_of(session, institution_id=actor.tenant)
    held_skill_uris = {a.target_url for h in held for a in h.alignments}
    best: tuple[tuple[int, int, str], Recommendation] | None = None
    for achievement in active_achievements(session, institution_id=actor.tenant):
        if achievement.id in held_ids or achievement.id in active:
            continue
        needs = prerequisites.get(achievement.id, set())
        if needs - held_ids:
            continue  # not open to this learner yet
        unlocked_by = [h.name for h in held if h.id in needs]
        shared = {a.target_url for a in achievement.alignments} & held_skill_uris
        new_skills = [
            a.target_name for a in achievement.alignments if a.target_url not in held_skill_uris
        ]
        if unlocked_by:
            reasons = [f"your award {', '.join(unlocked_by)} unlocks it"]
            kind: Literal["plan", "unlocked", "related"] = "unlocked"
        elif shared:
            reasons = [f"builds on {len(shared)} skill(s) you already hold"]
            kind = "related"
        else:
            continue
        if new_skills:
            reasons.append("adds " + ", ".join(new_skills[:4]))
        rank = (0 if unlocked_by else 1, -len(shared), achievement.name)
        if best is None or rank < best[0]:
            best = (rank, Recommendation(achievement, reasons, kind))
    return None if best is None else best[1]


# ---------------------------------------------------------------------------------------------
# The programme chooser


@dataclass(frozen=True, slots=True)
class Choice:
    achievement: Achievement
    pathway: list[Achievement]  # prerequisites still to take, in order, then the achievement
    hours: float
    cost: float
    scores: dict[str, float]  # each criterion 0..1
    total: float
    reasons: list[str]


def normalise_weights(weights: dict[str, float] | None) -> dict[str, float]:
    chosen = dict(DEFAULT_WEIGHTS)
    for name, value in (weights or {}).items():
        if name not in DEFAULT_WEIGHTS:
            raise InvalidInput(f"unknown criterion {name!r}; use {', '.join(DEFAULT_WEIGHTS)}")
        if not 0 <= value <= 10:
            raise InvalidInput(f"the weight of {name} must be between 0 and 10")
        chosen[name] = float(value)
    total = sum(chosen.values())
    if total == 0:
        raise InvalidInput("at least one criterion needs a weight above zero")
    return {name: value / total for name, value in chosen.items()}


def choose(
    session: Session,
    *,
    actor: Principal,
    learner_id: uuid.UUID | None = None,
    weights: dict[str, float] | None = None,
) -> tuple[list[Choice], dict[str, float]]:
    """Rank achievements (with the prerequisites each still needs) for the learner's target
    job by relevance, recognition, cost, duration and flexibility, weights visible."""
    learner_id = _learner(session, actor, learner_id)
    normal = normalise_weights(weights)
    gap_weight: dict[str, float] = {}
    target = repo.target_of(session, learner_id=learner_id)
    if target is not None:
        gap_weight = {
            g.uri: g.weight for g in gap_for(session, actor=actor, learner_id=learner_id).missing
        }
    held = {a.id for a in held_achievements(session, learner_id=learner_id)}
    courses, by_id = courses_for(session, institution_id=actor.tenant, held=held)
    requires = {c.id: c.prerequisites for c in courses}
    pathways: dict[str, list[str]] = {}
    for course in courses:
        closure: list[str] = []
        _closure(course.id, requires, closure, set())
        pathways[course.id] = closure
    total_gap = sum(gap_weight.values())
    raw: list[tuple[str, float, float, float]] = []
    for course in courses:
        path = pathways[course.id]
        skills = {a.target_url for i in path for a in by_id[i].alignments}
        relevance = sum(gap_weight.get(s, 0.0) for s in skills) / total_gap if total_gap else 0.0
        hours = sum(float(by_id[i].hours or 0) for i in path)
        cost = sum(float(by_id[i].cost or 0) for i in path)
        raw.append((course.id, relevance, hours, cost))
    max_hours = max((r[2] for r in raw), default=0.0) or 1.0
    max_cost = max((r[3] for r in raw), default=0.0) or 1.0
    out: list[Choice] = []
    for course_id, relevance, hours, cost in raw:
        achievement = by_id[course_id]
        endorsements = [str(e) for e in achievement.endorsements]
        flexibility = FLEXIBILITY.get(achievement.delivery or "", 0.5)
        scores = {
            "relevance": relevance,
            "recognition": min(1.0, len(endorsements) / 3),
            "cost": 1 - cost / max_cost,
            "duration": 1 - hours / max_hours,
            "flexibility": flexibility,
        }
        total = sum(normal[k] * v for k, v in scores.items())
        reasons = []
        if target is None:
            reasons.append("choose a target job to rank by relevance")
        elif relevance > 0:
            reasons.append(f"covers {relevance:.0%} of your gap toward {target.title}")
        else:
            reasons.append(f"teaches nothing your target {target.title} asks for")
        reasons.append(
            "endorsed by " + ", ".join(endorsements) if endorsements else "no endorsements recorded"
        )
        reasons.append(
            f"{hours:g} h and {cost:,.2f} {achievement.currency or ''}".rstrip()
            + (" with its prerequisites" if len(pathways[course_id]) > 1 else "")
        )
        reasons.append(f"delivery: {achievement.delivery or 'not stated'}")
        out.append(
            Choice(
                achievement,
                [by_id[i] for i in pathways[course_id]],
                hours,
                cost,
                {k: round(v, 3) for k, v in scores.items()},
                round(total, 4),
                reasons,
            )
        )
    out.sort(key=lambda c: (-c.total, c.achievement.name))
    return out, normal


def _closure(
    node: str, requires: dict[str, frozenset[str]], out: list[str], seen: set[str]
) -> None:
    """Prerequisites first (depth-first post-order), then the node itself."""
    if node in seen:
        return
    seen.add(node)
    for before in sorted(requires.get(node, frozenset())):
        if before in requires:
            _closure(before, requires, out, seen)
    out.append(node)


# ---------------------------------------------------------------------------------------------
# Mastery: per-skill estimates from awards, adaptive tests, practice answers and recognised
# prior learning (the pure rules are in learning/mastery.py)

RECOGNITION_CONFIDENCE = ("low", "medium", "high")


def _params(row: BKTParameters | None) -> mastery.BKTParams:
    if row is None:
        return mastery.DEFAULT_BKT
    return mastery.BKTParams(row.p_init, row.p_learn, row.p_guess, row.p_slip, version=row.version)


def refresh_mastery(
    session: Session, *, actor: Principal, learner_id: uuid.UUID | None = None
) -> dict[str, SkillMastery]:
    """Bring the learner's per-skill estimates up to date with every piece of evidence.

    New evidence (an award, a finished adaptive test, a graded answer) is recorded once, by
    its reference, so calling this again changes nothing. A person's override stands until
    newer evidence of that skill arrives."""
    learner_id = _learner(session, actor, learner_id)
    institution_id = actor.tenant
    known = repo.evidence_references(session, learner_id=learner_id)
    new_rows: list[MasteryEvidence] = []

    def note(skill: str, kind: str, reference: str, probability: float, **fields: Any) -> None:
        if (skill, kind, reference) not in known:
            known.add((skill, kind, reference))
            new_rows.append(
                MasteryEvidence(
                    learner_id=learner_id,
                    skill_uri=skill,
                    kind=kind,
                    reference=reference,
                    probability_after=probability,
                    **fields,
                )
            )

    estimates: dict[str, list[mastery.MasteryEstimate]] = defaultdict(list)
    for achievement in held_achievements(session, learner_id=learner_id):
        for alignment in achievement.alignments:
            estimate = mastery.from_award(achievement.name)
            estimates[alignment.target_url].append(estimate)
            note(
                alignment.target_url,
                "award",
                f"achievement:{achievement.id}",
                estimate.probability,
                detail=f"holds {achievement.name}",
            )
    evidence = assessment_record.learner_evidence(
        session, institution_id=institution_id, learner_id=learner_id
    )
    for ability in evidence.abilities:
        achievement = catalog.published_achievement(session, achievement_id=ability.achievement_id)
        estimate = mastery.from_ability(ability.theta, ability.standard_error, ability.cut_theta)
        for alignment in achievement.alignments:
            estimates[alignment.target_url].append(estimate)
            note(
                alignment.target_url,
                "assessment",
                f"attempt:{ability.attempt_id}",
                estimate.probability,
                theta=ability.theta,
                standard_error=ability.standard_error,
                detail=f"adaptive test of {achievement.name}",
            )
    answers: dict[str, list[tuple[uuid.UUID, bool]]] = defaultdict(list)
    for response_id, skill, correct in evidence.answers:
        answers[skill].append((response_id, correct))
    recorded = repo.evidence_of(session, learner_id=learner_id)
    overrides: dict[str, MasteryEvidence] = {}
    latest: dict[str, dt.datetime] = {}
    for piece in recorded:
        if piece.kind == "prior_learning":
            confidence = piece.reference.split(":", 1)[0]
            estimates[piece.skill_uri].append(
                mastery.from_recognition(
                    piece.probability_after,
                    confidence if confidence in RECOGNITION_CONFIDENCE else "medium",  # type: ignore[arg-type]
                    piece.recorded_by,
                )
            )
        if piece.kind == "override":
            overrides[piece.skill_uri] = piece
        else:
            seen_at = latest.get(piece.skill_uri, piece.created_at)
            latest[piece.skill_uri] = max(seen_at, piece.created_at)
    params = repo.bkt_parameters(session, skill_uris=list(answers))
    result: dict[str, mastery.MasteryEstimate] = {}
    versions: dict[str, str] = {}
    for skill in set(estimates) | set(answers):
        p = _params(params.get(skill))
        versions[skill] = f"bkt:{p.version}"
        pooled = mastery.combine(estimates[skill]) if estimates[skill] else None
        if pooled is None:
            current = mastery.from_practice(p, [c for _, c in answers[skill]])
        else:
            current = pooled
            for _, correct in answers[skill]:
                current = mastery.update_with_answer(current, correct, p)
        for response_id, correct in answers[skill]:
            note(skill, "practice", f"response:{response_id}", current.probability, correct=correct)
        result[skill] = current
    rows = repo.mastery_of(session, learner_id=learner_id)
    fresh_skills = {row.skill_uri for row in new_rows}
    for skill, estimate in result.items():
        override = overrides.get(skill)
        if (
            override is not None
            and skill not in fresh_skills
            and (skill not in latest or latest[skill] <= override.created_at)
        ):
            continue  # the person's judgement stands until new evidence arrives
        row = rows.get(skill)
        if row is None:
            row = SkillMastery(learner_id=learner_id, skill_uri=skill)
            session.add(row)
            rows[skill] = row
        row.probability = round(estimate.probability, 6)
        row.low = round(estimate.low, 6)
        row.high = round(estimate.high, 6)
        row.evidence_count = estimate.evidence_count
        row.source = estimate.source
        row.reasons = estimate.reasons[-6:]
        row.model_version = versions[skill]
        row.overridden_by = None
    if new_rows:
        session.add_all(new_rows)
        audit.record(
            session,
            actor=actor,
            action="mastery.evidence_recorded",
            subject_type="learner",
            subject_id=learner_id,
            institution_id=institution_id,
            after={
                "evidence": len(new_rows),
                "skills": sorted(fresh_skills)[:50],
            },
        )
    session.flush()
    return rows


def my_skills(
    session: Session, *, actor: Principal, learner_id: uuid.UUID | None = None
) -> list[tuple[SkillMastery, str]]:
    """The learner's current estimates with each skill's label, most certain mastery first."""
    rows = refresh_mastery(session, actor=actor, learner_id=learner_id)
    labels = {u: k.label for u, k in framework.framework_skills(session, uris=list(rows)).items()}
    ordered = sorted(rows.values(), key=lambda r: (-r.probability, r.skill_uri))
    return [(row, labels.get(row.skill_uri, row.skill_uri)) for row in ordered]


def recognise_prior_learning(
    session: Session,
    *,
    actor: Principal,
    learner_id: uuid.UUID,
    skill_uri: str,
    level: float,
    confidence: Literal["low", "medium", "high"],
    evidence: str,
) -> SkillMastery:
    """An assessor recognises learning done elsewhere (RPL), with the evidence they saw."""
    actor.require_role("assessor")
    learner_id = _learner(session, actor, learner_id)
    if not 0 <= level <= 1:
        raise InvalidInput("the recognised level is a probability between 0 and 1")
    if confidence not in RECOGNITION_CONFIDENCE:
        raise InvalidInput("confidence is low, medium or high")
    evidence = evidence.strip()
    if not evidence:
        raise InvalidInput("say what evidence of prior learning you saw")
    if len(evidence) > 4000:
        raise InvalidInput("the evidence note is at most 4,000 characters")
    if not framework.framework_skills(session, uris=[skill_uri]):
        raise InvalidInput(f"{skill_uri} is not a skill of the imported framework")
    row = MasteryEvidence(
        learner_id=learner_id,
        skill_uri=skill_uri,
        kind="prior_learning",
        reference=f"{confidence}:{uuid.uuid4()}",
        probability_after=level,
        detail=evidence,
        recorded_by=actor.label or actor.audit_actor,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="mastery.prior_learning_recognised",
        subject_type="learner",
        subject_id=learner_id,
        institution_id=actor.tenant,
        after={"skill": skill_uri, "level": level, "confidence": confidence},
        reason=evidence,
    )
    return refresh_mastery(session, actor=actor, learner_id=learner_id)[skill_uri]


def override_mastery(
    session: Session,
    *,
    actor: Principal,
    learner_id: uuid.UUID,
    skill_uri: str,
    probability: float,
    reason: str,
) -> SkillMastery:
    """A person sets the estimate by hand (an automated decision is never the last word)."""
    actor.require_role("assessor")
    learner_id = _learner(session, actor, learner_id)
    if not 0 <= probability <= 1:
        raise InvalidInput("the probability is between 0 and 1")
    if not reason.strip():
        raise InvalidInput("say why the estimate is overridden")
    who = actor.label or actor.audit_actor
    session.add(
        MasteryEvidence(
            learner_id=learner_id,
            skill_uri=skill_uri,
            kind="override",
            reference=f"override:{uuid.uuid4()}",
            probability_after=probability,
            detail=reason.strip(),
            recorded_by=who,
        )
    )
    row = repo.mastery_row(session, learner_id=learner_id, skill_uri=skill_uri)
    before = None if row is None else {"probability": row.probability}
    if row is None:
        row = SkillMastery(learner_id=learner_id, skill_uri=skill_uri, evidence_count=0)
        session.add(row)
    row.probability = probability
    row.low = row.high = probability
    row.source = "override"
    row.reasons = [f"set by {who}: {reason.strip()}"]
    row.model_version = "person"
    row.overridden_by = who
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="mastery.overridden",
        subject_type="learner",
        subject_id=learner_id,
        institution_id=actor.tenant,
        before=before,
        after={"skill": skill_uri, "probability": probability},
        reason=reason.strip(),
    )
    return row


def fit_knowledge_tracing(session: Session, *, actor: Principal, min_answers: int = 50) -> int:
    """Fit BKT parameters per skill from every learner's graded answers (a background job).

    Skills with fewer than `min_answers` answers keep the defaults: EM on a handful of
    answers would fit noise."""
    rows = assessment_record.all_graded_answers(session)
    counts = Counter(skill for _, skill, _ in rows)
    usable = [r for r in rows if counts[r[1]] >= min_answers]
    if not usable:
        return 0
    version = f"em-{utcnow():%Y%m%d%H%M}"
    fitted = mastery.fit_bkt_per_skill(usable, version=version)
    existing = repo.bkt_parameters(session, skill_uris=[str(k) for k in fitted])
    for skill, params in fitted.items():
        row = existing.get(str(skill)) or BKTParameters(skill_uri=str(skill))
        row.p_init, row.p_learn = params.p_init, params.p_learn
        row.p_guess, row.p_slip = params.p_guess, params.p_slip
        row.answers, row.version, row.fitted_at = counts[str(skill)], version, utcnow()
        session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="mastery.model_fitted",
        subject_type="bkt_parameters",
        subject_id=version,
        institution_id=None,
        after={"skills": len(fitted), "answers": len(usable)},
    )
    return len(fitted)
