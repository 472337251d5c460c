"""The append-only audit log: who did what to which thing, when, before and after.

Every state change writes one row in the same transaction as the change, so the log and the
data can never disagree. The table refuses UPDATE and DELETE (triggers in the migration).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from microcred.kit.db import Base, insert_rows, new_id, utcnow
from microcred.kit.principal import Principal


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_subject", "subject_type", "subject_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    institution_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("institutions.id", ondelete="RESTRICT"), index=True
    )
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(80), index=True)
    subject_type: Mapped[str] = mapped_column(String(40))
    subject_id: Mapped[str] = mapped_column(String(200))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]
    reason: Mapped[str | None] = mapped_column(Text)


def record(
    session: Session,
    *,
    actor: Principal,
    action: str,
    subject_type: str,
    subject_id: object,
    institution_id: uuid.UUID | None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str | None = None,
) -> AuditEvent:
    event = AuditEvent(
        institution_id=institution_id,
        actor=actor.audit_actor,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        before=before,
        after=after,
        reason=reason,
    )
    session.add(event)
    return event


def history(
    session: Session, *, institution_id: uuid.UUID, subject_type: str, subject_id: object
) -> list[AuditEvent]:
    stmt = (
        select(AuditEvent)
        .where(
            AuditEvent.institution_id == institution_id,
            AuditEvent.subject_type == subject_type,
            AuditEvent.subject_id == str(subject_id),
        )
        .order_by(AuditEvent.occurred_at, AuditEvent.id)
    )
    return list(session.scalars(stmt))


def record_many(
    session: Session,
    *,
    actor: Principal,
    action: str,
    subject_type: str,
    institution_id: uuid.UUID | None,
    items: list[tuple[object, dict[str, Any] | None]],
    reason: str | None = None,
) -> None:
    """One audit row per subject in a single multi-row insert (bulk operations)."""
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "occurred_at": now,
            "institution_id": institution_id,
            "actor": actor.audit_actor,
            "action": action,
            "subject_type": subject_type,
            "subject_id": str(subject_id),
            "before": None,
            "after": after,
            "reason": reason,
        }
        for subject_id, after in items
    ]
    insert_rows(session, AuditEvent, rows)
