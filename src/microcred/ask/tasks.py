"""Background jobs of the ask context."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from microcred.ask import surveys
from microcred.kit.jobs import job
from microcred.kit.settings import Settings

log = logging.getLogger(__name__)

PURGE_SURVEY_RESPONSES = "ask.purge_survey_responses"


@job(PURGE_SURVEY_RESPONSES)
def purge_survey_responses(session: Session, settings: Settings) -> None:
    """Delete survey responses past their survey's retention period, and abandoned ones
    (run daily). Idempotent: a second run finds nothing left to delete."""
    deleted = surveys.purge_expired_responses(session)
    log.info("survey retention: %d response(s) deleted", deleted)
