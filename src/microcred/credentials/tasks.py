"""Background jobs of the credentials context."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from microcred.credentials import records, service
from microcred.identity import service as identity
from microcred.kit import mail
from microcred.kit.jobs import job
from microcred.kit.settings import Settings

NOTIFY_AWARDS = "credentials.notify_awards"
SHARE_REMINDERS = "credentials.share_reminders"


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
                    "Your record, where you choose what is public and share it in one click "
                    "(LinkedIn, PDF, badge image):\n"
                    f"{settings.public_base_url}/me/credentials/{award.id}\n"
                ),
            )
        )


@job(SHARE_REMINDERS)
def share_reminders(session: Session, settings: Settings) -> None:
    """Once per award, remind a learner who opted in that a credential is not shared yet.

    The award is marked reminded in the same transaction as the send; a crash between the
    two may send one reminder twice, never none.
    """
    mailer = mail.mailer_from(settings)
    for award in records.awards_due_for_reminder(session, settings=settings):
        learner = identity.get_learner(
            session, institution_id=award.institution_id, learner_id=award.learner_id
        )
        records.mark_reminded(session, award=award)
        mailer.send(
            mail.message(
                sender=settings.mail_from,
                to=learner.email,
                subject=f"Share your credential: {award.credential['name']}",
                body=(
                    f"Dear {learner.display_name},\n\n"
                    f"You earned {award.credential['name']!r} "
                    f"{settings.share_reminder_days} or more days ago and have not shared it "
                    "yet. Adding it to your LinkedIn profile takes one click from your record:\n"
                    f"{settings.public_base_url}/me/credentials/{award.id}#share\n\n"
                    "You asked for this reminder; it is the only one for this credential. Turn "
                    f"reminders off at {settings.public_base_url}/me.\n"
                ),
            )
        )
