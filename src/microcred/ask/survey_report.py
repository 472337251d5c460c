"""A survey's report and CSV export: the stored responses turned into analysis records.

The maths lives in `ask.survey_analysis` (pure, no database); this module loads one survey of
the actor's institution, converts its rows into the records the analysis takes, and runs it.

Who may read what:
- The report (counts, quality, persona differences, anonymous quotes) is for any staff member
  of the survey's institution, like the survey list; learners and respondents never see it.
- The CSV export holds every answer and the contact address of respondents who opted in, so
  it needs an editor role (issuer or analyst; admins may do anything) and each export writes
  an audit row that records who exported what, with counts only, never respondent data.

External LLMs: everything here runs on this server. Answers are embedded by the configured
`Embedder` (the hashed one or a local sentence model, never a remote service) and clustered,
scored and tested locally, so no respondent text leaves the platform whatever
`Survey.external_llm_allowed` says. A future LLM-written summary of the answers would have to
check that switch first.

Rules only (no HTTP): session first, keyword arguments after, flush and never commit.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from microcred.ask import survey_repository as repo
from microcred.ask import surveys
from microcred.ask.models import Survey
from microcred.ask.survey_analysis import (
    SurveyReport,
    analyse,
    to_csv,
)
from microcred.kit import audit
from microcred.kit.ai.embedder import get_embedder
from microcred.kit.db import utcnow
from microcred.kit.errors import Forbidden
from microcred.kit.principal import Principal
from microcred.kit.settings import Settings

STAFF_KINDS = ("staff", "api_token", "system")


@dataclass(frozen=True, slots=True)
class ReportPage:
    """What the report page and the JSON report show: the analysis plus the survey it is of
    and how many of its responses are seeded demo data (so nobody mistakes them for real)."""

    survey: Survey
    report: SurveyReport
    seeded: int


def _staff_survey(session: Session, *, actor: Principal, survey_id: uuid.UUID) -> Survey:
    # Learners have an institution too: the tenant check alone would let them in.
    if actor.kind not in STAFF_KINDS:
        raise Forbidden("survey reports are for staff")
    return surveys.get_survey(session, actor=actor, survey_id=survey_id)


def report_page(
    session: Session,
    *,
    actor: Principal,
    survey_id: uuid.UUID,
    settings: Settings,
    now: dt.datetime | None = None,
) -> ReportPage:
    """The survey, its report and its number of seeded responses (read only)."""
    survey = _staff_survey(session, actor=actor, survey_id=survey_id)
    responses = repo.responses(session, survey_id=survey.id)
    report = analyse(
        surveys.question_specs(survey.questions),
        surveys.response_records(responses),
        embedder=get_embedder(settings),
        now=now or utcnow(),
    )
    return ReportPage(survey=survey, report=report, seeded=sum(1 for r in responses if r.seeded))


def survey_report(
    session: Session,
    *,
    actor: Principal,
    survey_id: uuid.UUID,
    settings: Settings,
    now: dt.datetime | None = None,
) -> SurveyReport:
    """Every KPI of one survey of the actor's institution (see `survey_analysis.analyse`).

    Raises NotFound for a survey of another institution (as for one that does not exist) and
    Forbidden for anyone but staff. Computed locally: no respondent text leaves the server."""
    return report_page(session, actor=actor, survey_id=survey_id, settings=settings, now=now).report


def survey_csv(
    session: Session, *, actor: Principal, survey_id: uuid.UUID, settings: Settings
) -> str:
    """One CSV row per response (formula-safe cells), with a contact column that is filled
    only for respondents who opted in. Needs an editor role; writes one "survey.export" audit
    row (counts only) in the caller's transaction. Computed locally, like the report."""
    actor.require_role(*surveys.EDITOR_ROLES)
    survey = _staff_survey(session, actor=actor, survey_id=survey_id)
    responses = repo.responses(session, survey_id=survey.id)
    records = surveys.response_records(responses)
    text = to_csv(
        surveys.question_specs(survey.questions),
        records,
        include_contact=True,
        # The same embedder as the report, so the quality columns match the page.
        embedder=get_embedder(settings),
    )
    audit.record(
        session,
        actor=actor,
        action="survey.export",
        subject_type="survey",
        subject_id=survey.id,
        institution_id=survey.institution_id,
        after={
            "format": "csv",
            "responses": len(records),
            "submitted": sum(1 for r in records if r.status == "submitted"),
            "with_contact": sum(1 for r in records if r.contact is not None),
            "seeded": sum(1 for r in responses if r.seeded),
        },
    )
    session.flush()
    return text


def csv_filename(survey_id: uuid.UUID, *, now: dt.datetime | None = None) -> str:
    """A download name safe in a header: the survey id and the date, no title (titles may hold
    any character, and the id is what staff need to find the survey again)."""
    day = (now or utcnow()).date().isoformat()
    return f"survey-{survey_id}-responses-{day}.csv"


__all__ = [
    "ReportPage",
    "csv_filename",
    "report_page",
    "survey_csv",
    "survey_report",
]
