"""Background jobs of the learning context."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from microcred.kit.jobs import job
from microcred.kit.principal import SYSTEM
from microcred.kit.settings import Settings
from microcred.learning import service

log = logging.getLogger(__name__)

FIT_KNOWLEDGE_TRACING = "learning.fit_knowledge_tracing"


@job(FIT_KNOWLEDGE_TRACING)
def fit_knowledge_tracing(session: Session, settings: Settings) -> None:
    """Refit the per-skill BKT parameters from every graded answer (run nightly)."""
    fitted = service.fit_knowledge_tracing(session, actor=SYSTEM)
    log.info("knowledge tracing refitted for %d skill(s)", fitted)
