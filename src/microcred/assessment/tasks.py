"""Background jobs of the assessment context."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from microcred.assessment import service
from microcred.kit.errors import InvalidInput
from microcred.kit.jobs import job
from microcred.kit.principal import Principal
from microcred.kit.settings import Settings

CALIBRATE_BANK = "assessment.calibrate_bank"


@job(CALIBRATE_BANK)
def calibrate_bank(
    session: Session, settings: Settings, *, institution_id: str, achievement_id: str
) -> None:
    """Re-estimate an item bank from the platform's own responses (a no-op until enough)."""
    engine = Principal.system(
        uuid.UUID(institution_id), roles={"assessor"}, label="calibration job"
    )
    try:
        service.calibrate_bank(
            session,
            actor=engine,
            institution_id=uuid.UUID(institution_id),
            achievement_id=uuid.UUID(achievement_id),
        )
    except InvalidInput:
        return  # not enough responses yet: the provisional parameters stay, nothing to retry
