"""Every query of the knowledge base and the answer log (surveys: `survey_repository.py`)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from microcred.ask.models import AskedAnswer, KnowledgeChunk, KnowledgeSource


def source(
    session: Session, *, institution_id: uuid.UUID, source_id: uuid.UUID
) -> KnowledgeSource | None:
    return session.scalar(
        select(KnowledgeSource).where(
            KnowledgeSource.institution_id == institution_id, KnowledgeSource.id == source_id
        )
    )


def source_by_id(session: Session, *, source_id: uuid.UUID) -> KnowledgeSource | None:
    return session.get(KnowledgeSource, source_id)


def source_by_key(
    session: Session, *, institution_id: uuid.UUID, key: str
) -> KnowledgeSource | None:
    return session.scalar(
        select(KnowledgeSource).where(
            KnowledgeSource.institution_id == institution_id, KnowledgeSource.key == key
        )
    )


def sources(
    session: Session, *, institution_id: uuid.UUID, kind: str | None = None
) -> Sequence[KnowledgeSource]:
    stmt = select(KnowledgeSource).where(KnowledgeSource.institution_id == institution_id)
    if kind is not None:
        stmt = stmt.where(KnowledgeSource.kind == kind)
    return session.scalars(stmt.order_by(KnowledgeSource.kind, KnowledgeSource.title)).all()


def indexed_versions(session: Session, *, institution_id: uuid.UUID) -> list[tuple[str, str]]:
    """(key, indexed hash) of every active source that has a complete chunk set."""
    rows = session.execute(
        select(KnowledgeSource.key, KnowledgeSource.indexed_hash)
        .where(
            KnowledgeSource.institution_id == institution_id,
            KnowledgeSource.active.is_(True),
            KnowledgeSource.indexed_hash.is_not(None),
        )
        .order_by(KnowledgeSource.key)
    ).all()
    return [(key, str(digest)) for key, digest in rows]


def indexed_chunks(
    session: Session, *, institution_id: uuid.UUID
) -> Sequence[tuple[KnowledgeChunk, KnowledgeSource]]:
    rows = session.execute(
        select(KnowledgeChunk, KnowledgeSource)
        .join(KnowledgeSource, KnowledgeChunk.source_id == KnowledgeSource.id)
        .where(
            KnowledgeSource.institution_id == institution_id,
            KnowledgeSource.active.is_(True),
            KnowledgeSource.indexed_hash.is_not(None),
        )
        .order_by(KnowledgeSource.key, KnowledgeChunk.ordinal)
    ).all()
    return [(chunk, src) for chunk, src in rows]


def delete_chunks(session: Session, *, source_id: uuid.UUID) -> None:
    session.execute(delete(KnowledgeChunk).where(KnowledgeChunk.source_id == source_id))


def answer(
    session: Session, *, institution_id: uuid.UUID, answer_id: uuid.UUID
) -> AskedAnswer | None:
    return session.scalar(
        select(AskedAnswer).where(
            AskedAnswer.institution_id == institution_id, AskedAnswer.id == answer_id
        )
    )


def pinned_answer(
    session: Session, *, institution_id: uuid.UUID, question_key: str
) -> AskedAnswer | None:
    return session.scalar(
        select(AskedAnswer)
        .where(
            AskedAnswer.institution_id == institution_id,
            AskedAnswer.question_key == question_key,
            AskedAnswer.pinned.is_(True),
        )
        .order_by(AskedAnswer.reviewed_at.desc())
        .limit(1)
    )


def cached_answer(
    session: Session, *, institution_id: uuid.UUID, question_key: str, kb_version: str
) -> AskedAnswer | None:
    return session.scalar(
        select(AskedAnswer).where(
            AskedAnswer.institution_id == institution_id,
            AskedAnswer.question_key == question_key,
            AskedAnswer.kb_version == kb_version,
        )
    )


def unpin_others(
    session: Session, *, institution_id: uuid.UUID, question_key: str, keep: uuid.UUID
) -> None:
    session.execute(
        update(AskedAnswer)
        .where(
            AskedAnswer.institution_id == institution_id,
            AskedAnswer.question_key == question_key,
            AskedAnswer.id != keep,
        )
        .values(pinned=False)
    )


def answers(
    session: Session,
    *,
    institution_id: uuid.UUID,
    limit: int,
    offset: int,
    abstained: bool | None = None,
    pinned: bool | None = None,
) -> tuple[Sequence[AskedAnswer], int]:
    stmt = select(AskedAnswer).where(AskedAnswer.institution_id == institution_id)
    if abstained is not None:
        stmt = stmt.where(AskedAnswer.abstained.is_(abstained))
    if pinned is not None:
        stmt = stmt.where(AskedAnswer.pinned.is_(pinned))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(AskedAnswer.last_asked_at.desc(), AskedAnswer.id).limit(limit).offset(offset)
    ).all()
    return rows, int(total)
