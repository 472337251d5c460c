"""The demo's knowledge base: the starter articles, the catalogue, and one institution document.

The document is the kind of page every institution has (a credentials-office FAQ). It is
fiction about the fictional Demo University, and says so; it gives the ask page something of
the institution's own to quote, next to the catalogue and the starter articles.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from microcred.ask import service as ask
from microcred.kit.principal import Principal
from microcred.kit.settings import Settings

FAQ_FILENAME = "credentials-office-faq.md"
FAQ = """# Credentials office FAQ

This page is part of the microcred demo: Demo University and its policies are fictional.

## Enrolling and paying

Learners can enrol in a self-paced micro-credential at any time from its catalogue page.
Scheduled micro-credentials start in cohorts each January, April and September.
The course fee is paid when enrolling, by card or by invoice for employers who sponsor staff.

## Refunds and cancellations

Learners who cancel within 14 days of enrolling receive a full refund of the course fee.
After 14 days the fee is not refunded, but the place can be moved once to a later cohort.
Employers who sponsor several staff can swap one learner for another before the course starts.

## Credit towards a degree

Three Demo University micro-credentials from the data track count as 15 ECTS credits of
elective study towards the part-time MSc Data Science degree.
The credits are recognised for five years after the first of the three credentials is issued.
Micro-credentials from other providers are considered through recognition of prior learning,
one case at a time, by the programme director.

## Assessment and attempts

Each assessment allows three attempts, with a waiting period between attempts.
Learners who need adjustments for a disability or a health condition can ask the credentials
office for extra time or an accessible format before their first attempt.
Results are available as soon as an assessment is graded; projects are reviewed by an
assessor within ten working days.

## Your data

Demo University keeps assessment answers for as long as the credential is valid, and deletes
survey responses after the period stated on each survey.
Learners can export their data or ask for it to be erased from their account page.

## Contact

The credentials office answers questions by e-mail at credentials@demo-university.example
within two working days.
"""


def seed_knowledge(session: Session, *, settings: Settings, actor: Principal) -> int:
    """Starter articles, the catalogue and the FAQ, indexed now; returns the passage count.

    Indexed in the seeding transaction, so the demo answers from its first request instead of
    waiting for the background jobs the seed also queued (they then find nothing to do)."""
    ask.ensure_knowledge_base(session, actor=actor, institution_id=actor.tenant, settings=settings)
    ask.add_document(
        session,
        actor=actor,
        upload=ask.Upload(
            filename=FAQ_FILENAME,
            media_type="text/markdown",
            data=FAQ.encode("utf-8"),
            title="Credentials office FAQ",
        ),
    )
    return ask.index_pending(session, institution_id=actor.tenant, settings=settings)
