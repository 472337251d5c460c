"""Background jobs of the ask context."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.orm import Session

from microcred.ask import service, surveys
from microcred.kit.jobs import job
from microcred.kit.principal import SYSTEM
from microcred.kit.settings import Settings

log = logging.getLogger(__name__)


@job(service.REINDEX_SOURCE)
def reindex_source(session: Session, settings: Settings, source_id: str) -> None:
    """Rebuild one knowledge source's chunks after it changed (one transaction)."""
    count = service.reindex_source(session, source_id=uuid.UUID(source_id), settings=settings)
    log.info("knowledge source %s indexed: %d chunk(s)", source_id, count)


@job(service.SYNC_CATALOGUE)
def sync_catalogue(session: Session, settings: Settings, institution_id: str) -> None:
    """Bring the catalogue pages of the knowledge base in line with the catalogue."""
    changed = service.sync_catalogue(
        session, actor=SYSTEM, institution_id=uuid.UUID(institution_id), settings=settings
    )
    log.info("catalogue knowledge sources: %d changed", changed)


PURGE_SURVEY_RESPONSES = "ask.purge_survey_responses"


@job(PURGE_SURVEY_RESPONSES)
def purge_survey_responses(session: Session, settings: Settings) -> None:
    """Delete survey responses past their survey's retention period, and abandoned ones
    (run daily). Idempotent: a second run finds nothing left to delete."""
    deleted = surveys.purge_expired_responses(session)
    log.info("survey retention: %d response(s) deleted", deleted)
