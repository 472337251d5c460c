"""Background jobs of the credentials context."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from microcred.credentials import service
from microcred.identity import service as identity
from microcred.kit import mail
from microcred.kit.jobs import job
from microcred.kit.settings import Settings

NOTIFY_AWARDS = "credentials.notify_awards"


@job(NOTIFY_AWARDS)
def notify_awards(session: Session, settings: Settings, *, award_ids: list[str]) -> None:
    """Tell each learner their credential is ready, with the link to share and verify it.

    At-least-once: a retry after a partial failure may send a message twice.
    """
    mailer = mail.mailer_from(settings)
    for award_id in award_ids:
        award = service.public_award(session, award_id=uuid.UUID(award_id))
        if award.state != "active":
            continue
        learner = identity.get_learner(
            session, institution_id=award.institution_id, learner_id=award.learner_id
        )
        issuer = award.credential["issuer"]["name"]
        mailer.send(
            mail.message(
                sender=settings.mail_from,
                to=learner.email,
                subject=f"Your credential from {issuer}: {award.credential['name']}",
                body=(
                    f"Dear {learner.display_name},\n\n"
                    f"{issuer} has awarded you {award.credential['name']!r}.\n\n"
                    f"Your credential, which anyone can verify: {award.credential['id']}\n"
                    "Add it to your profile or download it as a badge from that page.\n"
                ),
            )
        )
