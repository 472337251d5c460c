"""The outbox and the job interface.

A service calls `enqueue()` inside its transaction; the row commits (or vanishes) with the
business change, so a rolled-back request never leaks a job and a crash never loses one.
After commit a runner claims due rows and calls the registered handler, each in its own
transaction. The embedded default runs them in-process right after the request; production
runs `microcred worker` processes that poll the same table (SKIP LOCKED on PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import Index, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from microcred.kit.db import Base, new_id, unit_of_work, utcnow
from microcred.kit.settings import Settings

log = logging.getLogger(__name__)

JobHandler = Callable[..., None]
_HANDLERS: dict[str, JobHandler] = {}
MAX_ATTEMPTS = 5


class OutboxMessage(Base):
    __tablename__ = "outbox_messages"
    __table_args__ = (Index("ix_outbox_messages_due", "state", "available_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    job: Mapped[str] = mapped_column(String(120))
    payload: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(12), default="pending")  # pending|done|failed
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    available_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


def job(name: str) -> Callable[[JobHandler], JobHandler]:
    """Register a handler `fn(session, settings, **payload)` under a stable job name."""

    def register(fn: JobHandler) -> JobHandler:
        if name in _HANDLERS and _HANDLERS[name] is not fn:
            raise RuntimeError(f"job {name!r} registered twice")
        _HANDLERS[name] = fn
        return fn

    return register


def registered_jobs() -> frozenset[str]:
    return frozenset(_HANDLERS)


def enqueue(session: Session, name: str, **payload: Any) -> OutboxMessage:
    """Write a job to the outbox in the caller's transaction; it runs only after commit.

    Handlers register when their context's `tasks` module is imported (`microcred.tasks`
    imports them all for the app and the worker); an unknown name fails at run time.
    """
    message = OutboxMessage(job=name, payload=payload)
    session.add(message)
    return message


def _claim(session: Session, limit: int) -> list[OutboxMessage]:
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.state == "pending", OutboxMessage.available_at <= utcnow())
        .order_by(OutboxMessage.available_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(session.scalars(stmt))


def run_pending(factory: sessionmaker[Session], settings: Settings, *, limit: int = 100) -> int:
    """Run due jobs once, each in its own transaction; returns how many ran.

    Delivery is at least once: a handler that fails is retried with backoff (and gives up
    after MAX_ATTEMPTS), so handlers must tolerate running twice.
    """
    ran = 0
    with unit_of_work(factory) as session:
        ids = [m.id for m in _claim(session, limit)]
    for message_id in ids:
        ran += 1
        try:
            with unit_of_work(factory) as session:
                message = session.get(OutboxMessage, message_id, with_for_update=True)
                if message is None or message.state != "pending":
                    continue
                handler = _HANDLERS.get(message.job)
                if handler is None:
                    raise LookupError(f"no handler registered for job {message.job!r}")
                handler(session, settings, **message.payload)
                message.state = "done"
                message.attempts += 1
                message.finished_at = utcnow()
        except Exception as exc:  # a failing job must not take the runner down
            log.exception("job %s failed", message_id)
            with unit_of_work(factory) as session:
                message = session.get(OutboxMessage, message_id)
                if message is not None:
                    message.attempts += 1
                    message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                    if message.attempts >= MAX_ATTEMPTS:
                        message.state = "failed"
                    else:
                        backoff = dt.timedelta(seconds=2**message.attempts)
                        message.available_at = utcnow() + backoff
    return ran


def work_forever(
    factory: sessionmaker[Session], settings: Settings, *, poll_seconds: float = 1.0
) -> None:
    """The `microcred worker` loop."""
    while True:
        if run_pending(factory, settings) == 0:
            time.sleep(poll_seconds)
