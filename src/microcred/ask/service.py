"""The knowledge base and grounded answers: sources, re-indexing, asking, the answer log.

Sources are the institution's own: the starter articles that ship with the platform, its
catalogue (one page per achievement plus an overview, kept in step by a job) and documents
staff upload. A source's text is stored as read; its chunks are (re)built by the
`ask.reindex_source` job in one transaction, so a question is always answered from complete
chunk sets: the previous set until the new one commits.

`ask()` answers from an in-process hybrid index of the institution's chunks, rebuilt when the
knowledge base's version (a hash over every indexed source) changes. Each answer is stored
with the passages it saw, its citations and the model that composed it; that row is both the
cache (same question, persona, scope and version) and the log staff review. A pinned answer is
served for its question until it is unpinned.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from microcred.ask import catalogue as catalogue_docs
from microcred.ask import repository as repo
from microcred.ask.answers import (
    PERSONAS,
    Answer,
    Persona,
    compose,
    validate_persona,
    validate_question,
)
from microcred.ask.catalogue import CatalogueEntry
from microcred.ask.chunking import (
    DEFAULT_MAX_BYTES,
    SUPPORTED_MEDIA_TYPES,
    Chunk,
    Document,
    DocumentError,
    DocumentTooLarge,
    UnsupportedDocument,
    chunk,
    read_document,
)
from microcred.ask.llm_answers import compose_with_llm
from microcred.ask.models import AskedAnswer, KnowledgeChunk, KnowledgeSource
from microcred.ask.retrieval import BM25, MAX_QUERY_CHARS, HybridIndex, passage_text
from microcred.ask.starter import STARTER_PREFIX, is_bibliography, parse_sources, starter_documents
from microcred.catalog import service as catalog
from microcred.identity import service as identity
from microcred.kit import audit, jobs
from microcred.kit.ai.embedder import Embedder, get_embedder
from microcred.kit.ai.llm import get_llm
from microcred.kit.db import utcnow
from microcred.kit.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
)
from microcred.kit.pagination import PageRequest
from microcred.kit.principal import SYSTEM, Principal
from microcred.kit.settings import Settings

log = logging.getLogger(__name__)

REINDEX_SOURCE = "ask.reindex_source"
SYNC_CATALOGUE = catalog.SYNC_KNOWLEDGE_JOB  # enqueued by the catalogue on every change
TOP_K = 5
# Added to a chunk's retrieval score (about 0 to 1.75) for the institution's own catalogue and
# documents: on a near-tie, "what do they cost" should quote this catalogue, not an article.
OWN_SOURCE_BONUS = 0.1
MAX_CORRECTION_CHARS = 5000
EXTRACTIVE = "extractive"
# Who may manage the knowledge base and review answers (admins always may).
EDITOR_ROLES = ("issuer", "analyst")


def _require_staff(actor: Principal) -> uuid.UUID:
    actor.require_role(*EDITOR_ROLES)
    return actor.tenant


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _snapshot(source: KnowledgeSource) -> dict[str, Any]:
    return {
        "key": source.key,
        "kind": source.kind,
        "title": source.title,
        "media_type": source.media_type,
        "content_hash": source.content_hash,
        "active": source.active,
    }


# ---------------------------------------------------------------------------------------------
# Sources


def _put_source(
    session: Session,
    *,
    actor: Principal,
    institution_id: uuid.UUID,
    key: str,
    kind: str,
    document: Document,
    url: str | None = None,
    filename: str | None = None,
    achievement_id: uuid.UUID | None = None,
) -> tuple[KnowledgeSource, bool]:
    """Create or update a source; a changed text is queued for re-indexing. (source, changed)"""
    digest = _digest(document.text)
    found = repo.source_by_key(session, institution_id=institution_id, key=key)
    if found is not None and found.content_hash == digest and found.active:
        changed = found.title != document.title or found.url != url
        found.title, found.url = document.title[:300], url
        return found, changed
    before = _snapshot(found) if found is not None else None
    if found is None:
        found = KnowledgeSource(
            institution_id=institution_id,
            key=key,
            kind=kind,
            title=document.title[:300],
            media_type=document.media_type,
            filename=filename,
            url=url,
            achievement_id=achievement_id,
            text=document.text,
            content_hash=digest,
            state="pending",
        )
        session.add(found)
    else:
        found.title = document.title[:300]
        found.media_type = document.media_type
        found.filename = filename or found.filename
        found.url = url
        found.text = document.text
        found.content_hash = digest
        found.active = True
        found.state = "pending"
        found.error = None
        found.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="knowledge_source.put" if before else "knowledge_source.create",
        subject_type="knowledge_source",
        subject_id=found.id,
        institution_id=institution_id,
        before=before,
        after=_snapshot(found),
    )
    jobs.enqueue(session, REINDEX_SOURCE, source_id=str(found.id))
    return found, True


def install_starter_sources(
    session: Session, *, actor: Principal, institution_id: uuid.UUID
) -> list[KnowledgeSource]:
    """Add (or refresh) the starter articles that ship with the platform."""
    actor.require_role(*EDITOR_ROLES)
    return [
        _put_source(
            session,
            actor=actor,
            institution_id=institution_id,
            key=document.source_id,
            kind="starter",
            document=document,
        )[0]
        for document in starter_documents()
    ]


def catalogue_entries(
    session: Session, *, institution_id: uuid.UUID, base_url: str
) -> list[CatalogueEntry]:
    """The institution's active achievements as catalogue entries (what the KB may say)."""
    achievements = [
        a
        for a in catalog.institution_achievements(session, institution_id=institution_id)
        if a.status == "active"
    ]
    names = {a.id: a.name for a in achievements}
    needs = catalog.prerequisite_ids(session, achievement_ids=[a.id for a in achievements])
    return [
        CatalogueEntry(
            id=a.id,
            name=a.name,
            description=a.description,
            criteria=a.criteria_narrative,
            url=f"{base_url.rstrip('/')}/achievements/{a.id}",
            hours=a.hours,
            cost=a.cost,
            currency=a.currency,
            delivery=a.delivery,
            skills=tuple(al.target_name for al in a.alignments),
            prerequisites=tuple(names[p] for p in needs.get(a.id, []) if p in names),
            endorsements=tuple(str(e) for e in a.endorsements),
            validity_months=a.validity_months,
            result_names=tuple(r.name for r in a.result_descriptions),
        )
        for a in achievements
    ]


def sync_catalogue(
    session: Session, *, actor: Principal, institution_id: uuid.UUID, settings: Settings
) -> int:
    """Bring the catalogue sources in line with the catalogue; returns how many changed."""
    institution = identity.get_institution(session, institution_id=institution_id)
    entries = catalogue_entries(session, institution_id=institution_id, base_url=settings.base_url)
    changed = 0
    wanted: set[str] = set()
    for entry in entries:
        document = catalogue_docs.achievement_document(entry)
        wanted.add(document.source_id)
        _, did = _put_source(
            session,
            actor=actor,
            institution_id=institution_id,
            key=document.source_id,
            kind="catalogue",
            document=document,
            url=entry.url,
            achievement_id=entry.id,
        )
        changed += did
    overview = catalogue_docs.overview_document(institution.name, entries)
    wanted.add(overview.source_id)
    _, did = _put_source(
        session,
        actor=actor,
        institution_id=institution_id,
        key=overview.source_id,
        kind="catalogue",
        document=overview,
        url=f"{settings.base_url.rstrip('/')}/ask",
    )
    changed += did
    for source in repo.sources(session, institution_id=institution_id, kind="catalogue"):
        if source.key not in wanted and source.active:
            # A retired achievement leaves the answers; its row stays for the answer log.
            source.active = False
            source.updated_at = utcnow()
            audit.record(
                session,
                actor=actor,
                action="knowledge_source.deactivate",
                subject_type="knowledge_source",
                subject_id=source.id,
                institution_id=institution_id,
                reason="the achievement left the catalogue",
            )
            changed += 1
    session.flush()
    return changed


def request_catalogue_sync(session: Session, *, institution_id: uuid.UUID) -> None:
    """Queue a catalogue sync after a catalogue change (the job runs after commit)."""
    jobs.enqueue(session, SYNC_CATALOGUE, institution_id=str(institution_id))


@dataclass(frozen=True, slots=True)
class Upload:
    filename: str
    media_type: str
    data: bytes
    title: str | None = None


_EXTENSIONS = {
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".html": "text/html",
    ".htm": "text/html",
    ".pdf": "application/pdf",
    ".txt": "text/plain",
}


def media_type_for(filename: str, declared: str | None) -> str:
    """The declared type when it is one we read, else the one the file name implies."""
    kind = (declared or "").split(";")[0].strip().lower()
    if kind in SUPPORTED_MEDIA_TYPES:
        return declared or kind
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return _EXTENSIONS.get(suffix, kind or "application/octet-stream")


def add_document(
    session: Session, *, actor: Principal, upload: Upload, source_id: uuid.UUID | None = None
) -> KnowledgeSource:
    """Read an uploaded document (refusing what cannot be read) and queue it for indexing.

    With `source_id`, the upload replaces that document's text (same key, new version)."""
    institution_id = _require_staff(actor)
    filename = upload.filename.strip()[:300] or "document"
    media_type = media_type_for(filename, upload.media_type)
    if source_id is not None:
        existing = get_source(session, actor=actor, source_id=source_id)
        if existing.kind != "document":
            raise Conflict(
                "only uploaded documents can be replaced; the others follow their origin"
            )
        key = existing.key
    else:
        key = f"document/{uuid.uuid4()}"
    try:
        document = read_document(key, upload.data, media_type, max_bytes=DEFAULT_MAX_BYTES)
    except UnsupportedDocument as error:
        raise UnsupportedMediaType(str(error)) from error
    except DocumentTooLarge as error:
        raise PayloadTooLarge(str(error)) from error
    except DocumentError as error:
        raise InvalidInput(str(error)) from error
    if not document.text.strip():
        raise InvalidInput("the document has no text to index")
    title = (upload.title or "").strip() or document.title
    if title == key:
        title = filename
    document = Document(
        source_id=key, title=title, text=document.text, media_type=document.media_type
    )
    source, _ = _put_source(
        session,
        actor=actor,
        institution_id=institution_id,
        key=key,
        kind="document",
        document=document,
        filename=filename,
    )
    return source


def get_source(session: Session, *, actor: Principal, source_id: uuid.UUID) -> KnowledgeSource:
    institution_id = _require_staff(actor)
    found = repo.source(session, institution_id=institution_id, source_id=source_id)
    if found is None:
        raise NotFound("no such knowledge source in this institution")
    return found


def list_sources(session: Session, *, actor: Principal) -> Sequence[KnowledgeSource]:
    return repo.sources(session, institution_id=_require_staff(actor))


def set_source_active(
    session: Session, *, actor: Principal, source_id: uuid.UUID, active: bool, reason: str = ""
) -> KnowledgeSource:
    """Take a source out of the answers (or back in); its chunks stay for the answer log."""
    source = get_source(session, actor=actor, source_id=source_id)
    if source.active == active:
        return source
    before = _snapshot(source)
    source.active = active
    source.updated_at = utcnow()
    audit.record(
        session,
        actor=actor,
        action="knowledge_source.activate" if active else "knowledge_source.deactivate",
        subject_type="knowledge_source",
        subject_id=source.id,
        institution_id=source.institution_id,
        before=before,
        after=_snapshot(source),
        reason=reason or None,
    )
    session.flush()
    return source


def request_reindex(session: Session, *, actor: Principal, source_id: uuid.UUID) -> KnowledgeSource:
    source = get_source(session, actor=actor, source_id=source_id)
    source.state = "pending"
    source.error = None
    jobs.enqueue(session, REINDEX_SOURCE, source_id=str(source.id))
    audit.record(
        session,
        actor=actor,
        action="knowledge_source.reindex",
        subject_type="knowledge_source",
        subject_id=source.id,
        institution_id=source.institution_id,
    )
    session.flush()
    return source


def _chunks_of(source: KnowledgeSource) -> list[Chunk]:
    document = Document(
        source_id=source.key, title=source.title, text=source.text, media_type=source.media_type
    )
    pieces = chunk(document)
    if source.kind == "starter":
        # The bibliography is cited through the article's markers, not quoted as an answer.
        pieces = [p for p in pieces if not is_bibliography(p)]
    return pieces


def reindex_source(session: Session, *, source_id: uuid.UUID, settings: Settings) -> int:
    """Rebuild a source's chunks and embeddings in the caller's transaction; returns the count.

    The old chunks go and the new ones arrive in the same transaction, so readers see one
    complete set or the other. A failure marks the source failed and keeps the old chunks."""
    source = repo.source_by_id(session, source_id=source_id)
    if source is None:
        log.info("knowledge source %s is gone; nothing to index", source_id)
        return 0
    if source.indexed_hash == source.content_hash and source.state == "indexed":
        return source.chunk_count
    embedder = get_embedder(settings)
    try:
        with session.begin_nested():
            pieces = _chunks_of(source)
            vectors = _embed(embedder, [passage_text(p) for p in pieces])
            repo.delete_chunks(session, source_id=source.id)
            session.flush()
            for piece, vector in zip(pieces, vectors, strict=True):
                session.add(
                    KnowledgeChunk(
                        source_id=source.id,
                        institution_id=source.institution_id,
                        ordinal=piece.ordinal,
                        heading_path=list(piece.heading_path),
                        text=piece.text,
                        start=piece.start,
                        end=piece.end,
                        embedding=vector.astype(np.float32).tobytes(),
                        embedder=embedder.name[:120],
                    )
                )
            source.indexed_hash = source.content_hash
            source.chunk_count = len(pieces)
            source.state = "indexed"
            source.error = None
            source.indexed_at = utcnow()
            session.flush()
    except Exception as error:  # recorded on the source for staff; the old chunks remain
        log.exception("indexing knowledge source %s failed", source_id)
        source.state = "failed"
        source.error = f"{type(error).__name__}: {error}"[:2000]
        session.flush()
        return 0
    audit.record(
        session,
        actor=SYSTEM,
        action="knowledge_source.indexed",
        subject_type="knowledge_source",
        subject_id=source.id,
        institution_id=source.institution_id,
        after={"chunks": source.chunk_count, "content_hash": source.content_hash},
    )
    return source.chunk_count


def _embed(embedder: Embedder, texts: Sequence[str]) -> NDArray[np.float32]:
    if not texts:
        return np.zeros((0, embedder.dimension), dtype=np.float32)
    return np.asarray(embedder.embed(list(texts)), dtype=np.float32)


# ---------------------------------------------------------------------------------------------
# The index


@dataclass(frozen=True, slots=True)
class SourceInfo:
    key: str
    kind: str
    title: str
    url: str | None
    achievement_id: uuid.UUID | None
    bibliography: dict[int, str]


@dataclass(frozen=True, slots=True)
class KnowledgeIndex:
    version: str
    index: HybridIndex
    sources: dict[str, SourceInfo]


_index_lock = threading.Lock()
_index_cache: dict[uuid.UUID, KnowledgeIndex] = {}


def kb_version(session: Session, *, institution_id: uuid.UUID, embedder: Embedder) -> str:
    """A hash over every indexed source and the embedder: changes whenever an answer could."""
    parts = [
        f"{key}:{digest}"
        for key, digest in repo.indexed_versions(session, institution_id=institution_id)
    ]
    return _digest("\n".join([embedder.name, *parts]))


def knowledge_index(
    session: Session, *, institution_id: uuid.UUID, settings: Settings
) -> KnowledgeIndex:
    """The institution's current hybrid index (built once per knowledge-base version)."""
    embedder = get_embedder(settings)
    version = kb_version(session, institution_id=institution_id, embedder=embedder)
    with _index_lock:
        found = _index_cache.get(institution_id)
        if found is not None and found.version == version:
            return found
        rows = repo.indexed_chunks(session, institution_id=institution_id)
        chunks: list[Chunk] = []
        vectors = np.zeros((len(rows), embedder.dimension), dtype=np.float32)
        stale: list[int] = []
        sources: dict[str, SourceInfo] = {}
        for position, (row, source) in enumerate(rows):
            if source.key not in sources:
                sources[source.key] = SourceInfo(
                    key=source.key,
                    kind=source.kind,
                    title=source.title,
                    url=source.url,
                    achievement_id=source.achievement_id,
                    bibliography=(
                        parse_sources(source.text) if source.key.startswith(STARTER_PREFIX) else {}
                    ),
                )
            piece = Chunk(
                source_id=source.key,
                ordinal=row.ordinal,
                heading_path=tuple(str(h) for h in row.heading_path),
                text=row.text,
                start=row.start,
                end=row.end,
            )
            chunks.append(piece)
            if row.embedding is not None and row.embedder == embedder.name[:120]:
                vector = np.frombuffer(row.embedding, dtype=np.float32)
                if vector.shape[0] == embedder.dimension:
                    vectors[position] = vector
                    continue
            stale.append(position)
        if stale:
            # Indexed under another embedder (settings changed): embed in memory, in one batch.
            vectors[stale] = _embed(embedder, [passage_text(chunks[i]) for i in stale])
        texts = [passage_text(c) for c in chunks]
        built = KnowledgeIndex(
            version=version,
            index=HybridIndex(chunks, BM25(texts), vectors, embedder),
            sources=sources,
        )
        _index_cache[institution_id] = built
        return built


def forget_indexes() -> None:
    """Drop the in-process indexes (tests; a settings change)."""
    with _index_lock:
        _index_cache.clear()


# ---------------------------------------------------------------------------------------------
# Asking


def normalise_question(question: str) -> str:
    return " ".join(question.casefold().split()).rstrip(" ?!.")


def question_key(question: str, persona: str, achievement_id: uuid.UUID | None) -> str:
    scope = str(achievement_id) if achievement_id else "-"
    return _digest(f"{normalise_question(question)}\n{persona}\n{scope}")


@dataclass(frozen=True, slots=True)
class AnswerOut:
    """What a person asking sees: the answer, where each sentence comes from, and why."""

    id: uuid.UUID
    question: str
    persona: str
    text: str
    citations: list[dict[str, Any]]
    abstained: bool
    reason: str
    model: str
    kb_version: str
    cached: bool
    pinned: bool
    corrected: bool
    latency_ms: float
    achievement_id: uuid.UUID | None = None
    scope_title: str | None = None
    contact: str | None = None
    retrieved: list[dict[str, Any]] = field(default_factory=list)


def _out(
    row: AskedAnswer, *, cached: bool, scope_title: str | None, contact: str | None
) -> AnswerOut:
    return AnswerOut(
        id=row.id,
        question=row.question,
        persona=row.persona,
        text=row.text,
        citations=list(row.citations),
        abstained=row.abstained,
        reason=row.reason,
        model=row.model,
        kb_version=row.kb_version,
        cached=cached,
        pinned=row.pinned,
        corrected=row.corrected,
        latency_ms=row.latency_ms,
        achievement_id=row.achievement_id,
        scope_title=scope_title,
        contact=contact,
        retrieved=list(row.retrieved),
    )


def _citation_json(citation: Any, sources: dict[str, SourceInfo]) -> dict[str, Any]:
    info = sources.get(citation.source_id)
    return {
        "number": citation.number,
        "source_key": citation.source_id,
        "title": info.title if info else citation.source_id,
        "kind": info.kind if info else "unknown",
        "url": info.url if info else None,
        "heading_path": list(citation.heading_path),
        "quote": citation.quote,
        "start": citation.start,
        "end": citation.end,
        "sources": list(citation.sources),
    }


def _scope(
    knowledge: KnowledgeIndex, achievement_id: uuid.UUID | None
) -> Callable[[Chunk], bool] | None:
    """Scoped to an achievement: its own page and the general articles, not other courses."""
    if achievement_id is None:
        return None
    own = catalogue_docs.source_key(achievement_id)

    def allowed(piece: Chunk) -> bool:
        info = knowledge.sources.get(piece.source_id)
        if info is None or info.kind != "catalogue":
            return True
        return piece.source_id == own

    return allowed


def _prior(knowledge: KnowledgeIndex) -> Callable[[Chunk], tuple[float, str]]:
    """The institution's own sources first when they match about as well as an article."""

    def prior(piece: Chunk) -> tuple[float, str]:
        info = knowledge.sources.get(piece.source_id)
        if info is not None and info.kind in ("catalogue", "document"):
            return OWN_SOURCE_BONUS, f"the institution's own {info.kind} (+{OWN_SOURCE_BONUS})"
        return 0.0, ""

    return prior


def _compose(
    question: str,
    persona: Persona,
    knowledge: KnowledgeIndex,
    achievement_id: uuid.UUID | None,
    settings: Settings,
) -> tuple[Answer, list[dict[str, Any]], str]:
    hits = knowledge.index.search(
        question, k=TOP_K, scope=_scope(knowledge, achievement_id), prior=_prior(knowledge)
    )
    bibliographies = {k: v.bibliography for k, v in knowledge.sources.items() if v.bibliography}
    answer = compose(
        question,
        hits,
        persona=persona,
        sources=bibliographies,
        # Informative words must be covered: "bake" in "How do I bake a credential?" is the
        # question; "credential" is in every passage.
        term_weights=knowledge.index.term_weights(question),
    )
    model = EXTRACTIVE
    llm = get_llm(settings)
    if llm is not None and hits:
        improved = compose_with_llm(
            question, hits, persona=persona, llm=llm, fallback=answer, sources=bibliographies
        )
        if improved is not answer:
            model = llm.name
        answer = improved
    retrieved = [
        {
            "source_key": hit.chunk.source_id,
            "title": knowledge.sources[hit.chunk.source_id].title
            if hit.chunk.source_id in knowledge.sources
            else hit.chunk.source_id,
            "heading_path": list(hit.chunk.heading_path),
            "score": hit.score,
            "reasons": list(hit.reasons),
        }
        for hit in hits
    ]
    return answer, retrieved, model


def ask(
    session: Session,
    *,
    institution_id: uuid.UUID,
    question: str,
    persona: str = "unspecified",
    settings: Settings,
    achievement_id: uuid.UUID | None = None,
) -> AnswerOut:
    """A grounded answer with citations, or an honest abstention that points to a person."""
    started = time.perf_counter()
    try:
        question = validate_question(question)
    except ValueError as error:
        raise InvalidInput(str(error)) from error
    if persona not in PERSONAS:
        raise InvalidInput(f"unknown persona {persona!r}; choose one of: {', '.join(PERSONAS)}")
    chosen = validate_persona(persona)
    institution = identity.get_institution(session, institution_id=institution_id)
    scope_title: str | None = None
    if achievement_id is not None:
        scope_title = achievement_title(
            session, institution_id=institution_id, achievement_id=achievement_id
        )
    contact = institution.email
    key = question_key(question, chosen, achievement_id)
    pinned = repo.pinned_answer(session, institution_id=institution_id, question_key=key)
    if pinned is not None:
        _touch(pinned)
        return _out(pinned, cached=True, scope_title=scope_title, contact=contact)
    knowledge = knowledge_index(session, institution_id=institution_id, settings=settings)
    cached = repo.cached_answer(
        session, institution_id=institution_id, question_key=key, kb_version=knowledge.version
    )
    if cached is not None:
        _touch(cached)
        return _out(cached, cached=True, scope_title=scope_title, contact=contact)
    answer, retrieved, model = _compose(question, chosen, knowledge, achievement_id, settings)
    text = answer.text
    if answer.abstained:
        text = _abstention(institution.name, institution.email)
    row = AskedAnswer(
        institution_id=institution_id,
        question=question,
        question_key=key,
        persona=chosen,
        achievement_id=achievement_id,
        kb_version=knowledge.version,
        text=text,
        citations=[_citation_json(c, knowledge.sources) for c in answer.citations],
        retrieved=retrieved,
        abstained=answer.abstained,
        reason=answer.reason,
        model=model,
        latency_ms=round((time.perf_counter() - started) * 1000, 2),
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        # The same question was answered concurrently: serve the stored one.
        found = repo.cached_answer(
            session, institution_id=institution_id, question_key=key, kb_version=knowledge.version
        )
        if found is None:
            raise
        row = found
    return _out(row, cached=False, scope_title=scope_title, contact=contact)


def public_institution(
    session: Session, *, slug: str | None, achievement_id: uuid.UUID | None = None
) -> uuid.UUID:
    """Whose knowledge base a visitor asks: the achievement's institution, the named one, or
    the only one the platform hosts."""
    if achievement_id is not None:
        try:
            return catalog.published_achievement(
                session, achievement_id=achievement_id
            ).institution_id
        except NotFound as error:
            raise InvalidInput("no such achievement to scope the question to") from error
    if slug:
        return identity.institution_by_slug(session, slug=slug).id
    hosted = identity.list_institutions(session)
    if len(hosted) == 1:
        return hosted[0].id
    raise InvalidInput(
        "name the institution whose knowledge base to ask (its slug)"
        if hosted
        else "no institution is set up yet"
    )


def achievement_title(
    session: Session, *, institution_id: uuid.UUID, achievement_id: uuid.UUID
) -> str:
    """The name of the achievement a question is scoped to (refused when it is not ours)."""
    try:
        return catalog.get_achievement(
            session, institution_id=institution_id, achievement_id=achievement_id
        ).name
    except NotFound as error:
        raise InvalidInput("no such achievement in this institution to scope to") from error


def _abstention(institution: str, email: str | None) -> str:
    where = f" ({email})" if email else ""
    return (
        "The sources available here do not cover this question, so there is no grounded answer "
        f"to give. Please ask {institution}{where}, or browse the catalogue and the help pages."
    )


def _touch(row: AskedAnswer) -> None:
    row.asked_count += 1
    row.last_asked_at = utcnow()


# ---------------------------------------------------------------------------------------------
# Review


def list_answers(
    session: Session,
    *,
    actor: Principal,
    page: PageRequest,
    abstained: bool | None = None,
    pinned: bool | None = None,
) -> tuple[Sequence[AskedAnswer], int]:
    return repo.answers(
        session,
        institution_id=_require_staff(actor),
        limit=page.limit,
        offset=page.offset,
        abstained=abstained,
        pinned=pinned,
    )


def get_answer(session: Session, *, actor: Principal, answer_id: uuid.UUID) -> AskedAnswer:
    found = repo.answer(session, institution_id=_require_staff(actor), answer_id=answer_id)
    if found is None:
        raise NotFound("no such answer in this institution's log")
    return found


def _review_state(row: AskedAnswer) -> dict[str, Any]:
    return {
        "text": row.text,
        "pinned": row.pinned,
        "corrected": row.corrected,
        "abstained": row.abstained,
        "model": row.model,
    }


def review_answer(
    session: Session,
    *,
    actor: Principal,
    answer_id: uuid.UUID,
    text: str | None = None,
    pinned: bool | None = None,
    note: str | None = None,
) -> AskedAnswer:
    """Correct an answer's text and/or pin it. A correction is a person's answer: it keeps the
    citations staff saw, is marked corrected and names its reviewer."""
    row = get_answer(session, actor=actor, answer_id=answer_id)
    if text is None and pinned is None:
        raise InvalidInput("nothing to change: give a corrected text, a pin, or both")
    before = _review_state(row)
    if text is not None:
        cleaned = text.strip()
        if not cleaned:
            raise InvalidInput("the corrected answer is empty")
        if len(cleaned) > MAX_CORRECTION_CHARS:
            raise InvalidInput(f"the corrected answer is over {MAX_CORRECTION_CHARS} characters")
        row.text = cleaned
        row.corrected = True
        row.abstained = False
    if pinned is not None:
        row.pinned = pinned
        if pinned:
            repo.unpin_others(
                session,
                institution_id=row.institution_id,
                question_key=row.question_key,
                keep=row.id,
            )
    row.reviewed_by = actor.label or str(actor.id)
    row.reviewed_at = utcnow()
    row.review_note = (note or "").strip()[:2000] or row.review_note
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="asked_answer.review",
        subject_type="asked_answer",
        subject_id=row.id,
        institution_id=row.institution_id,
        before=before,
        after=_review_state(row),
        reason=note,
    )
    return row


def ensure_knowledge_base(
    session: Session, *, actor: Principal, institution_id: uuid.UUID, settings: Settings
) -> None:
    """Starter articles plus the catalogue: what a new institution's knowledge base holds."""
    install_starter_sources(session, actor=actor, institution_id=institution_id)
    sync_catalogue(session, actor=actor, institution_id=institution_id, settings=settings)


def index_pending(session: Session, *, institution_id: uuid.UUID, settings: Settings) -> int:
    """Index every source waiting for it now (demo seeding, the CLI); returns chunk count."""
    total = 0
    for source in repo.sources(session, institution_id=institution_id):
        if source.state != "indexed" or source.indexed_hash != source.content_hash:
            total += reindex_source(session, source_id=source.id, settings=settings)
    return total


__all__ = [
    "MAX_QUERY_CHARS",
    "AnswerOut",
    "PageRequest",
    "Upload",
    "achievement_title",
    "add_document",
    "ask",
    "catalogue_entries",
    "ensure_knowledge_base",
    "get_answer",
    "get_source",
    "index_pending",
    "install_starter_sources",
    "list_answers",
    "list_sources",
    "public_institution",
    "reindex_source",
    "request_catalogue_sync",
    "request_reindex",
    "review_answer",
    "set_source_active",
    "sync_catalogue",
]
