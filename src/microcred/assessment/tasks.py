"""Background jobs of the assessment context."""

from __future__ import annotations

import contextlib
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
    """Re-estimate an item bank, and the project rubric if there is one, from the platform's
    own responses and reviews (each a no-op until there are enough)."""
    tenant, achievement = uuid.UUID(institution_id), uuid.UUID(achievement_id)
    engine = Principal.system(tenant, roles={"assessor"}, label="calibration job")
    if service.find_brief(session, institution_id=tenant, achievement_id=achievement):
        with contextlib.suppress(InvalidInput):  # not calibratable yet: the cold start stays
            service.calibrate_rubric(
                session, actor=engine, institution_id=tenant, achievement_id=achievement
            )
    try:
        service.calibrate_bank(
            session, actor=engine, institution_id=tenant, achievement_id=achievement
        )
    except InvalidInput:
        return  # not enough responses yet: the provisional parameters stay, nothing to retry
