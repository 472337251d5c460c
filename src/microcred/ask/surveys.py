"""Stakeholder surveys with "Here's what AI says" companion answers: the rules.

Staff build a survey (questions of four kinds, each optionally with a companion answer
composed from the knowledge base and approved by a person), choose the personas that may
answer, and publish an unguessable link. Respondents need no account: they state their persona,
may opt in to leave a contact address, and answer once with the secret token they were given.

Privacy, by construction:
- Nothing identifies a respondent unless they opt in: no IP address, user agent or account is
  stored, and audit rows about responses hold only the response id (actor "anonymous").
- A response token is returned once and only its SHA-256 is stored.
- `purge_expired_responses` deletes responses past the survey's retention period, and
  abandoned (never submitted) ones after `ABANDONED_AFTER`.
- Respondent text is never sent anywhere by this module. `Survey.external_llm_allowed` is the
  switch any future analysis that would send answers to an external LLM must check first; the
  companion answers are composed from the question text and the knowledge base only.

Rules only (no HTTP): functions take the session first and keyword arguments after, flush and
never commit; every staff change writes an audit row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy.orm import Session

from microcred.ask import service as ask_service
from microcred.ask import survey_repository as repo
from microcred.ask.models import Survey, SurveyAnswer, SurveyQuestion, SurveyResponse
from microcred.ask.survey_analysis import AnswerValue, QuestionSpec, ResponseRecord
from microcred.kit import audit
from microcred.kit.db import utcnow
from microcred.kit.errors import Conflict, DomainError, InvalidInput, NotFound
from microcred.kit.principal import Principal
from microcred.kit.settings import Settings

# Who may build and run surveys; admins may do anything within their institution.
EDITOR_ROLES = ("issuer", "analyst")
KINDS = ("free_text", "single_choice", "multiple_choice", "scale")
# The stakeholder groups a survey may ask for. "other" lets someone outside the three answer
# without pretending to be one of them (the grounded-answer personas have no "other").
PERSONAS = ("learner", "educator", "employer", "other")
DISPLAYS = ("before", "after", "none")
# A scale question is answered with a whole number from 1 to SCALE_POINTS; its options are the
# labels of the two ends.
SCALE_POINTS = 5
MIN_OPTIONS, MAX_OPTIONS = 2, 12
MAX_OPTION_CHARS = 200
MAX_PROMPT_CHARS = 1000
MAX_HELP_CHARS = 2000
MAX_TITLE_CHARS = 300
MAX_INTRO_CHARS = 5000
MAX_ANSWER_CHARS = 5000
MAX_COMPANION_CHARS = 5000
MAX_QUESTIONS = 100
MAX_RETENTION_DAYS = 3650
MAX_CONTACT_CHARS = 320
# A response started but never submitted is deleted after this long, whatever the retention.
ABANDONED_AFTER = dt.timedelta(days=7)
ANONYMOUS = "anonymous"
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")


class SurveyClosed(DomainError):
    """The survey no longer takes responses (410: the link was real, the survey is over)."""

    status: ClassVar[int] = 410
    slug: ClassVar[str] = "survey-closed"
    title: ClassVar[str] = "This survey is closed"


class AlreadySubmitted(Conflict):
    slug: ClassVar[str] = "already-submitted"
    title: ClassVar[str] = "This response was already submitted"


# ---------------------------------------------------------------------------------------------
# Staff: surveys


def _editor(actor: Principal) -> uuid.UUID:
    actor.require_role(*EDITOR_ROLES)
    return actor.tenant


def _survey(session: Session, *, actor: Principal, survey_id: uuid.UUID) -> Survey:
    found = repo.survey(session, institution_id=actor.tenant, survey_id=survey_id)
    if found is None:
        raise NotFound("no such survey in this institution")
    return found


def _draft(survey: Survey) -> None:
    if survey.status != "draft":
        raise Conflict(
            f"the survey is {survey.status}; questions and settings change only while it is a "
            "draft, so every respondent answers the same survey"
        )


def _snapshot(survey: Survey) -> dict[str, Any]:
    return {
        "title": survey.title,
        "status": survey.status,
        "personas": list(survey.personas),
        "companion_display": survey.companion_display,
        "ab_test": survey.ab_test,
        "retention_days": survey.retention_days,
        "external_llm_allowed": survey.external_llm_allowed,
    }


def _text(value: str, what: str, *, max_chars: int, required: bool) -> str:
    cleaned = value.strip()
    if required and not cleaned:
        raise InvalidInput(f"the {what} is empty")
    if len(cleaned) > max_chars:
        raise InvalidInput(f"the {what} is longer than {max_chars:,} characters")
    return cleaned


def _personas(personas: Sequence[str]) -> list[str]:
    chosen = [p.strip() for p in personas]
    unknown = sorted({p for p in chosen if p not in PERSONAS})
    if unknown:
        raise InvalidInput(
            f"unknown persona {', '.join(repr(p) for p in unknown)}; choose among "
            f"{', '.join(PERSONAS)}"
        )
    if not chosen:
        raise InvalidInput(f"choose at least one persona among {', '.join(PERSONAS)}")
    # Keep the canonical order so pages list them the same way everywhere.
    return [p for p in PERSONAS if p in chosen]


def _settings_checked(
    *, companion_display: str, ab_test: bool, retention_days: int
) -> tuple[str, bool, int]:
    if companion_display not in DISPLAYS:
        raise InvalidInput(f"companion_display must be one of {', '.join(DISPLAYS)}")
    if ab_test and companion_display == "none":
        raise InvalidInput(
            "an A/B test compares showing the companion answers with not showing them; "
            "choose 'before' or 'after' to run one"
        )
    if isinstance(retention_days, bool) or not 1 <= retention_days <= MAX_RETENTION_DAYS:
        raise InvalidInput(f"retention_days must be between 1 and {MAX_RETENTION_DAYS}")
    return companion_display, ab_test, retention_days


def create_survey(
    session: Session,
    *,
    actor: Principal,
    title: str,
    intro: str = "",
    personas: Sequence[str] = ("learner", "educator", "employer"),
    companion_display: str = "after",
    ab_test: bool = False,
    retention_days: int = 365,
    external_llm_allowed: bool = False,
) -> Survey:
    """A draft survey with an unguessable public slug (published later)."""
    institution_id = _editor(actor)
    display, ab, days = _settings_checked(
        companion_display=companion_display, ab_test=ab_test, retention_days=retention_days
    )
    survey = Survey(
        institution_id=institution_id,
        slug=secrets.token_urlsafe(12),
        title=_text(title, "title", max_chars=MAX_TITLE_CHARS, required=True),
        intro=_text(intro, "introduction", max_chars=MAX_INTRO_CHARS, required=False),
        status="draft",
        personas=_personas(personas),
        companion_display=display,
        ab_test=ab,
        retention_days=days,
        external_llm_allowed=external_llm_allowed,
        created_by=actor.audit_actor,
    )
    session.add(survey)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="survey.created",
        subject_type="survey",
        subject_id=survey.id,
        institution_id=institution_id,
        after=_snapshot(survey),
    )
    return survey


def update_survey(
    session: Session,
    *,
    actor: Principal,
    survey_id: uuid.UUID,
    title: str | None = None,
    intro: str | None = None,
    personas: Sequence[str] | None = None,
    companion_display: str | None = None,
    ab_test: bool | None = None,
    retention_days: int | None = None,
    external_llm_allowed: bool | None = None,
) -> Survey:
    """Change a draft's settings; `None` leaves a setting as it is."""
    institution_id = _editor(actor)
    survey = _survey(session, actor=actor, survey_id=survey_id)
    _draft(survey)
    before = _snapshot(survey)
    display, ab, days = _settings_checked(
        companion_display=survey.companion_display
        if companion_display is None
        else companion_display,
        ab_test=survey.ab_test if ab_test is None else ab_test,
        retention_days=survey.retention_days if retention_days is None else retention_days,
    )
    if title is not None:
        survey.title = _text(title, "title", max_chars=MAX_TITLE_CHARS, required=True)
    if intro is not None:
        survey.intro = _text(intro, "introduction", max_chars=MAX_INTRO_CHARS, required=False)
    if personas is not None:
        survey.personas = _personas(personas)
    survey.companion_display, survey.ab_test, survey.retention_days = display, ab, days
    if external_llm_allowed is not None:
        survey.external_llm_allowed = external_llm_allowed
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="survey.updated",
        subject_type="survey",
        subject_id=survey.id,
        institution_id=institution_id,
        before=before,
        after=_snapshot(survey),
    )
    return survey


def list_surveys(session: Session, *, actor: Principal) -> list[Survey]:
    """The institution's surveys, newest first (any staff member may read them)."""
    return list(repo.surveys(session, institution_id=actor.tenant))


def get_survey(session: Session, *, actor: Principal, survey_id: uuid.UUID) -> Survey:
    return _survey(session, actor=actor, survey_id=survey_id)


def response_counts(
    session: Session, *, actor: Principal, survey_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int]]:
    """(started, submitted) per survey of the actor's institution."""
    own = {s.id for s in repo.surveys(session, institution_id=actor.tenant)}
    return repo.response_counts(session, survey_ids=[i for i in survey_ids if i in own])


def publish_survey(session: Session, *, actor: Principal, survey_id: uuid.UUID) -> Survey:
    """Open the public link. Needs a question, and no companion answer left in draft: a
    companion is shown only once a person approved it, so an unreviewed one must be approved
    or withdrawn first rather than silently dropped."""
    institution_id = _editor(actor)
    survey = _survey(session, actor=actor, survey_id=survey_id)
    _draft(survey)
    if not survey.questions:
        raise Conflict("add at least one question before publishing")
    pending = [q for q in survey.questions if q.companion_status == "draft"]
    if pending:
        raise Conflict(
            "approve or withdraw the companion answers still in draft before publishing: "
            + "; ".join(f"question {q.position + 1} ({_short(q.prompt)})" for q in pending),
            questions=[str(q.id) for q in pending],
        )
    survey.status = "published"
    survey.published_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="survey.published",
        subject_type="survey",
        subject_id=survey.id,
        institution_id=institution_id,
        after={**_snapshot(survey), "questions": len(survey.questions)},
    )
    return survey


def close_survey(session: Session, *, actor: Principal, survey_id: uuid.UUID) -> Survey:
    """Stop taking responses; the link then says the survey is closed."""
    institution_id = _editor(actor)
    survey = _survey(session, actor=actor, survey_id=survey_id)
    if survey.status != "published":
        raise Conflict(f"only a published survey can be closed; this one is {survey.status}")
    survey.status = "closed"
    survey.closed_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="survey.closed",
        subject_type="survey",
        subject_id=survey.id,
        institution_id=institution_id,
        after={"status": "closed"},
    )
    return survey


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# ---------------------------------------------------------------------------------------------
# Staff: questions


def _options(kind: str, options: Sequence[str]) -> list[str]:
    cleaned = [str(o).strip() for o in options]
    if any(len(o) > MAX_OPTION_CHARS for o in cleaned):
        raise InvalidInput(f"an option is longer than {MAX_OPTION_CHARS} characters")
    if kind == "free_text":
        if any(cleaned):
            raise InvalidInput("a free-text question has no options")
        return []
    if kind == "scale":
        if len(cleaned) != 2 or not all(cleaned):
            raise InvalidInput(
                f"a scale (1 to {SCALE_POINTS}) needs two labels: its low end and its high end"
            )
        return cleaned
    if not all(cleaned):
        raise InvalidInput("an option is empty")
    if len({o.casefold() for o in cleaned}) != len(cleaned):
        raise InvalidInput("the options must differ from each other")
    if not MIN_OPTIONS <= len(cleaned) <= MAX_OPTIONS:
        raise InvalidInput(f"a choice question needs {MIN_OPTIONS} to {MAX_OPTIONS} options")
    return cleaned


def _question_snapshot(q: SurveyQuestion) -> dict[str, Any]:
    return {
        "position": q.position,
        "kind": q.kind,
        "prompt": q.prompt,
        "options": list(q.options),
        "required": q.required,
        "companion_question": q.companion_question,
        "companion_status": q.companion_status,
    }


def _question(
    session: Session, *, actor: Principal, question_id: uuid.UUID, survey_id: uuid.UUID | None
) -> tuple[Survey, SurveyQuestion]:
    found = repo.question(session, institution_id=actor.tenant, question_id=question_id)
    if found is None or (survey_id is not None and found.survey_id != survey_id):
        raise NotFound("no such question in this survey")
    return _survey(session, actor=actor, survey_id=found.survey_id), found


def _companion_question(value: str | None) -> str | None:
    if value is None:
        return None
    return _text(value, "companion question", max_chars=MAX_PROMPT_CHARS, required=False) or None


def add_question(
    session: Session,
    *,
    actor: Principal,
    survey_id: uuid.UUID,
    kind: str,
    prompt: str,
    help_text: str = "",
    options: Sequence[str] = (),
    required: bool = True,
    companion_question: str | None = None,
) -> SurveyQuestion:
    """Append a question to a draft. `companion_question` is what the knowledge base is asked
    for the companion answer (the prompt itself when none is given)."""
    institution_id = _editor(actor)
    survey = _survey(session, actor=actor, survey_id=survey_id)
    _draft(survey)
    if kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
    if len(survey.questions) >= MAX_QUESTIONS:
        raise InvalidInput(f"a survey has at most {MAX_QUESTIONS} questions")
    question = SurveyQuestion(
        position=len(survey.questions),
        kind=kind,
        prompt=_text(prompt, "question", max_chars=MAX_PROMPT_CHARS, required=True),
        help_text=_text(help_text, "help text", max_chars=MAX_HELP_CHARS, required=False),
        options=_options(kind, options),
        required=required,
        companion_question=_companion_question(companion_question),
        companion_citations=[],
        companion_status="none",
    )
    survey.questions.append(question)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="survey.question_added",
        subject_type="survey_question",
        subject_id=question.id,
        institution_id=institution_id,
        after=_question_snapshot(question),
    )
    return question


def update_question(
    session: Session,
    *,
    actor: Principal,
    question_id: uuid.UUID,
    survey_id: uuid.UUID | None = None,
    kind: str | None = None,
    prompt: str | None = None,
    help_text: str | None = None,
    options: Sequence[str] | None = None,
    required: bool | None = None,
    companion_question: str | None = None,
) -> SurveyQuestion:
    """Change a draft's question; `None` leaves a field as it is. A changed prompt or companion
    question sends an approved or draft companion answer back to "none": it answered another
    question."""
    institution_id = _editor(actor)
    survey, question = _question(session, actor=actor, question_id=question_id, survey_id=survey_id)
    _draft(survey)
    before = _question_snapshot(question)
    new_kind = question.kind if kind is None else kind
    if new_kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}")
    new_options = _options(
        new_kind,
        question.options if options is None and new_kind == question.kind else options or (),
    )
    new_prompt = (
        question.prompt
        if prompt is None
        else _text(prompt, "question", max_chars=MAX_PROMPT_CHARS, required=True)
    )
    new_companion = (
        question.companion_question
        if companion_question is None
        else _companion_question(companion_question)
    )
    asked_changed = (new_companion or new_prompt) != (
        question.companion_question or question.prompt
    )
    question.kind, question.options, question.prompt = new_kind, new_options, new_prompt
    question.companion_question = new_companion
    if help_text is not None:
        question.help_text = _text(help_text, "help text", max_chars=MAX_HELP_CHARS, required=False)
    if required is not None:
        question.required = required
    if asked_changed and question.companion_status != "none":
        _clear_companion(question)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="survey.question_updated",
        subject_type="survey_question",
        subject_id=question.id,
        institution_id=institution_id,
        before=before,
        after=_question_snapshot(question),
    )
    return question


def _renumber(session: Session, ordered: Sequence[SurveyQuestion]) -> None:
    # (survey_id, position) is unique and checked row by row, so move everything out of the
    # way first (negative positions), then into place.
    for index, q in enumerate(ordered):
        q.position = -(index + 1)
    session.flush()
    for index, q in enumerate(ordered):
        q.position = index
    session.flush()


def remove_question(
    session: Session,
    *,
    actor: Principal,
    question_id: uuid.UUID,
    survey_id: uuid.UUID | None = None,
) -> Survey:
    institution_id = _editor(actor)
    survey, question = _question(session, actor=actor, question_id=question_id, survey_id=survey_id)
    _draft(survey)
    before = _question_snapshot(question)
    remaining = [q for q in survey.questions if q.id != question.id]
    survey.questions.remove(question)  # delete-orphan: the row goes at flush
    session.flush()
    _renumber(session, remaining)
    audit.record(
        session,
        actor=actor,
        action="survey.question_removed",
        subject_type="survey_question",
        subject_id=question_id,
        institution_id=institution_id,
        before=before,
    )
    return survey


def move_question(
    session: Session,
    *,
    actor: Principal,
    question_id: uuid.UUID,
    position: int,
    survey_id: uuid.UUID | None = None,
) -> Survey:
    """Move a draft's question to `position` (0-based; clamped to the ends)."""
    institution_id = _editor(actor)
    survey, question = _question(session, actor=actor, question_id=question_id, survey_id=survey_id)
    _draft(survey)
    ordered = [q for q in survey.questions if q.id != question.id]
    target = max(0, min(position, len(ordered)))
    before = question.position
    ordered.insert(target, question)
    _renumber(session, ordered)
    survey.questions.sort(key=lambda q: q.position)
    audit.record(
        session,
        actor=actor,
        action="survey.question_moved",
        subject_type="survey_question",
        subject_id=question.id,
        institution_id=institution_id,
        before={"position": before},
        after={"position": target},
    )
    return survey


# ---------------------------------------------------------------------------------------------
# Staff: companion answers


@dataclass(frozen=True, slots=True)
class Composed:
    """What the grounded-answer service gave for a companion question."""

    text: str
    citations: list[dict[str, Any]]
    model: str
    abstained: bool


def _compose_companion(
    session: Session, *, institution_id: uuid.UUID, question: str, settings: Settings
) -> Composed:
    """Ask the knowledge base, as nobody in particular (persona "unspecified"): the companion
    is shown to every persona alike, so it must not lean toward one.

    The only seam between surveys and the grounded-answer service: only the question text
    (written by staff) is sent, never a respondent's words."""
    answer = ask_service.ask(
        session,
        institution_id=institution_id,
        question=question,
        persona="unspecified",
        settings=settings,
    )
    citations = [dict(c) for c in answer.citations]
    return Composed(
        text=str(answer.text),
        citations=citations,
        model=str(answer.model),
        abstained=bool(answer.abstained),
    )


def _short_citations(citations: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """What respondents see of a citation: its number, a short source title and the link."""
    out = []
    for index, c in enumerate(citations, start=1):
        title = str(c.get("title") or c.get("source_key") or "Source")
        url = c.get("url")
        out.append(
            {
                "number": int(c.get("number") or index),
                "title": _short(title, 120),
                "url": str(url) if url else None,
                "quote": str(c.get("quote") or "")[:1000],
            }
        )
    return out


def _clear_companion(question: SurveyQuestion) -> None:
    question.companion_text = None
    question.companion_citations = []
    question.companion_model = None
    question.companion_status = "none"
    question.companion_approved_by = None
    question.companion_approved_at = None


def _companion_audit(
    session: Session,
    *,
    actor: Principal,
    action: str,
    question: SurveyQuestion,
    institution_id: uuid.UUID,
    before: dict[str, Any] | None = None,
) -> None:
    audit.record(
        session,
        actor=actor,
        action=action,
        subject_type="survey_question",
        subject_id=question.id,
        institution_id=institution_id,
        before=before,
        after={
            "companion_status": question.companion_status,
            "companion_model": question.companion_model,
            "companion_text": question.companion_text,
            "citations": len(question.companion_citations),
        },
    )


def _companion_before(question: SurveyQuestion) -> dict[str, Any]:
    return {
        "companion_status": question.companion_status,
        "companion_model": question.companion_model,
        "companion_text": question.companion_text,
    }


def generate_companion(
    session: Session,
    *,
    actor: Principal,
    question_id: uuid.UUID,
    settings: Settings,
    survey_id: uuid.UUID | None = None,
) -> SurveyQuestion:
    """Compose the companion answer from the knowledge base and keep it as a draft for review.

    When the sources do not support an answer, the abstention is kept with status "none" (so
    nothing is shown to respondents) and its text tells staff why."""
    institution_id = _editor(actor)
    survey, question = _question(session, actor=actor, question_id=question_id, survey_id=survey_id)
    _draft(survey)
    before = _companion_before(question)
    composed = _compose_companion(
        session,
        institution_id=institution_id,
        question=question.companion_question or question.prompt,
        settings=settings,
    )
    question.companion_text = composed.text[:MAX_COMPANION_CHARS]
    question.companion_citations = _short_citations(composed.citations)
    question.companion_model = composed.model[:120]
    question.companion_status = "none" if composed.abstained else "draft"
    question.companion_approved_by = None
    question.companion_approved_at = None
    session.flush()
    _companion_audit(
        session,
        actor=actor,
        action="survey.companion_generated",
        question=question,
        institution_id=institution_id,
        before=before,
    )
    return question


def edit_companion(
    session: Session,
    *,
    actor: Principal,
    question_id: uuid.UUID,
    text: str,
    survey_id: uuid.UUID | None = None,
) -> SurveyQuestion:
    """A person corrects the companion text: it becomes a draft again (to be approved), marked
    as written by staff. The citations stay; the editor is responsible for keeping them true."""
    institution_id = _editor(actor)
    survey, question = _question(session, actor=actor, question_id=question_id, survey_id=survey_id)
    _draft(survey)
    before = _companion_before(question)
    question.companion_text = _text(
        text, "companion answer", max_chars=MAX_COMPANION_CHARS, required=True
    )
    question.companion_model = "staff"
    question.companion_status = "draft"
    question.companion_approved_by = None
    question.companion_approved_at = None
    session.flush()
    _companion_audit(
        session,
        actor=actor,
        action="survey.companion_edited",
        question=question,
        institution_id=institution_id,
        before=before,
    )
    return question


def approve_companion(
    session: Session,
    *,
    actor: Principal,
    question_id: uuid.UUID,
    survey_id: uuid.UUID | None = None,
) -> SurveyQuestion:
    """A person vouches for the companion answer: only approved ones reach respondents."""
    institution_id = _editor(actor)
    survey, question = _question(session, actor=actor, question_id=question_id, survey_id=survey_id)
    _draft(survey)
    if question.companion_status != "draft" or not question.companion_text:
        raise Conflict(
            "there is no companion answer in draft to approve; generate or write one first"
        )
    before = _companion_before(question)
    question.companion_status = "approved"
    question.companion_approved_by = actor.audit_actor
    question.companion_approved_at = utcnow()
    session.flush()
    _companion_audit(
        session,
        actor=actor,
        action="survey.companion_approved",
        question=question,
        institution_id=institution_id,
        before=before,
    )
    return question


def withdraw_companion(
    session: Session,
    *,
    actor: Principal,
    question_id: uuid.UUID,
    survey_id: uuid.UUID | None = None,
) -> SurveyQuestion:
    """Remove the companion answer. Allowed on a published survey too, as a safety valve for an
    answer found wrong after publishing (the audit row dates the change for the analysis)."""
    institution_id = _editor(actor)
    _, question = _question(session, actor=actor, question_id=question_id, survey_id=survey_id)
    before = _companion_before(question)
    _clear_companion(question)
    session.flush()
    _companion_audit(
        session,
        actor=actor,
        action="survey.companion_withdrawn",
        question=question,
        institution_id=institution_id,
        before=before,
    )
    return question


# ---------------------------------------------------------------------------------------------
# Respondents (public, no account)


def _anonymous_event(
    session: Session, *, survey: Survey, action: str, response_id: uuid.UUID, after: dict[str, Any]
) -> None:
    # Never the respondent's text or contact: only what the survey owner needs to count.
    session.add(
        audit.AuditEvent(
            institution_id=survey.institution_id,
            actor=ANONYMOUS,
            action=action,
            subject_type="survey_response",
            subject_id=str(response_id),
            after=after,
        )
    )


def get_public_survey(session: Session, *, slug: str) -> Survey:
    """A published survey by its link; a draft is as unknown as a wrong link."""
    survey = repo.survey_by_slug(session, slug=slug[:40])
    if survey is None or survey.status == "draft":
        raise NotFound("there is no survey at this link; check that it was copied whole")
    if survey.status == "closed":
        raise SurveyClosed(f"the survey “{survey.title}” is closed and takes no more responses")
    return survey


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _draw_arm() -> str:
    """Half the respondents of an A/B survey see no companion answers (unpredictably)."""
    return secrets.choice(("shown", "hidden"))


def _contact(contact_opt_in: bool, contact: str | None) -> str | None:
    if not contact_opt_in:
        return None  # not asked for, not kept, even when the form carried one
    address = (contact or "").strip()
    if not address:
        raise InvalidInput("give an e-mail address to be contacted, or do not opt in")
    if len(address) > MAX_CONTACT_CHARS or not _EMAIL.match(address):
        raise InvalidInput("the contact address is not a valid e-mail address")
    return address


def start_response(
    session: Session,
    *,
    slug: str,
    persona: str,
    contact_opt_in: bool = False,
    contact: str | None = None,
) -> tuple[SurveyResponse, str]:
    """Start an anonymous response and return it with its secret token (shown once).

    The A/B arm and what this respondent is shown (before, after or none) are recorded, since
    seeing the companion answer can sway the answers."""
    survey = get_public_survey(session, slug=slug)
    if persona not in survey.personas:
        raise InvalidInput(
            f"persona {_short(persona, 40)!r} is not one this survey asks; choose one of "
            f"{', '.join(survey.personas)}",
            allowed=list(survey.personas),
        )
    address = _contact(contact_opt_in, contact)
    if survey.companion_display == "none":
        arm = "hidden"  # nobody sees a companion answer: every respondent is in the hidden arm
    elif survey.ab_test:
        arm = _draw_arm()
    else:
        arm = "shown"
    token = secrets.token_urlsafe(24)
    response = SurveyResponse(
        survey_id=survey.id,
        token_hash=token_hash(token),
        persona=persona,
        arm=arm,
        companion_display=survey.companion_display if arm == "shown" else "none",
        status="started",
        contact_opt_in=address is not None,
        contact=address,
    )
    session.add(response)
    session.flush()
    _anonymous_event(
        session,
        survey=survey,
        action="survey.response_started",
        response_id=response.id,
        after={"persona": persona, "arm": arm, "companion_display": response.companion_display},
    )
    return response, token


def response_for_token(session: Session, *, slug: str, token: str) -> tuple[Survey, SurveyResponse]:
    """The survey and the response a token belongs to (to show the questions again)."""
    survey = get_public_survey(session, slug=slug)
    response = (
        repo.response_by_token_hash(session, survey_id=survey.id, token_hash=token_hash(token))
        if 0 < len(token) <= 200
        else None
    )
    if response is None:
        raise NotFound("this response is unknown; start the survey again from its link")
    return survey, response


def companions_for(survey: Survey, response: SurveyResponse) -> dict[uuid.UUID, SurveyQuestion]:
    """The questions whose approved companion answer this respondent sees (none in arm
    "hidden" or when the survey shows none)."""
    if response.companion_display == "none":
        return {}
    return {q.id: q for q in survey.questions if q.companion_status == "approved"}


@dataclass(frozen=True, slots=True)
class _Checked:
    text: str | None
    choices: list[str]
    number: int | None


def _blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip()) or raw == []


def _check_answer(question: SurveyQuestion, raw: object) -> _Checked:
    """One answer against its question; raises ValueError with a message for the respondent."""
    if question.kind == "free_text":
        if not isinstance(raw, str):
            raise ValueError("write the answer as text")
        text = raw.strip()
        if len(text) > MAX_ANSWER_CHARS:
            raise ValueError(
                f"the answer is {len(text):,} characters long; at most {MAX_ANSWER_CHARS:,}"
            )
        return _Checked(text, [], None)
    if question.kind == "single_choice":
        values = raw if isinstance(raw, list) and len(raw) == 1 else [raw]
        if not isinstance(values[0], str) or values[0] not in question.options:
            raise ValueError("choose one of the options given")
        return _Checked(None, [values[0]], None)
    if question.kind == "multiple_choice":
        values = raw if isinstance(raw, list) else [raw]
        if not all(isinstance(v, str) and v in question.options for v in values):
            raise ValueError("choose among the options given")
        if len(set(values)) != len(values):
            raise ValueError("an option was chosen twice")
        chosen = set(values)
        return _Checked(None, [o for o in question.options if o in chosen], None)
    # scale
    number: int | None = None
    if isinstance(raw, int) and not isinstance(raw, bool):
        number = raw
    elif isinstance(raw, str) and raw.strip().isdigit() and len(raw.strip()) < 4:
        number = int(raw.strip())
    if number is None or not 1 <= number <= SCALE_POINTS:
        raise ValueError(f"choose a whole number from 1 to {SCALE_POINTS}")
    return _Checked(None, [], number)


def check_answers(
    survey: Survey, answers: Mapping[uuid.UUID, object]
) -> tuple[dict[uuid.UUID, _Checked], list[dict[str, Any]]]:
    """Every answer checked against its question: (the valid ones, an error per bad one)."""
    by_id = {q.id: q for q in survey.questions}
    errors: list[dict[str, Any]] = []
    checked: dict[uuid.UUID, _Checked] = {}
    for key in answers:
        if key not in by_id:
            errors.append(
                {
                    "question_id": str(key),
                    "pointer": f"/answers/{key}",
                    "detail": "no such question in this survey",
                }
            )
    for q in survey.questions:
        raw = answers.get(q.id)
        pointer = f"/answers/{q.id}"
        if _blank(raw):
            if q.required:
                errors.append(
                    {
                        "question_id": str(q.id),
                        "pointer": pointer,
                        "detail": "an answer is required",
                    }
                )
            continue
        try:
            checked[q.id] = _check_answer(q, raw)
        except ValueError as exc:
            errors.append({"question_id": str(q.id), "pointer": pointer, "detail": str(exc)})
    return checked, errors


def submit_response(
    session: Session, *, slug: str, token: str, answers: Mapping[uuid.UUID, object]
) -> SurveyResponse:
    """Store every answer of a started response, all or nothing, exactly once.

    Raw values: text for free text, the option for a single choice, a list of options for a
    multiple choice, a whole number (or its digits) for a scale; None or "" for no answer."""
    survey, response = response_for_token(session, slug=slug, token=token)
    if response.status == "submitted":
        raise AlreadySubmitted("these answers were already submitted; nothing was changed")
    checked, errors = check_answers(survey, answers)
    if errors:
        raise InvalidInput(
            f"{len(errors)} answer{'' if len(errors) == 1 else 's'} need attention; nothing was "
            "saved",
            errors=errors,
        )
    if not repo.mark_submitted(session, response_id=response.id, at=utcnow()):
        raise AlreadySubmitted("these answers were already submitted; nothing was changed")
    for question_id, value in checked.items():
        session.add(
            SurveyAnswer(
                response_id=response.id,
                question_id=question_id,
                text=value.text,
                choices=value.choices,
                number=value.number,
            )
        )
    session.flush()
    session.refresh(response)
    _anonymous_event(
        session,
        survey=survey,
        action="survey.response_submitted",
        response_id=response.id,
        after={"answers": len(checked)},
    )
    return response


# ---------------------------------------------------------------------------------------------
# Privacy: retention


def purge_expired_responses(session: Session, *, now: dt.datetime | None = None) -> int:
    """Delete every survey's responses started longer ago than its retention period, and
    responses never submitted after `ABANDONED_AFTER`; one audit row per survey that lost any.
    Returns how many responses were deleted. Safe to run twice."""
    now = now or utcnow()
    total = 0
    for survey in repo.all_surveys(session):
        deleted = repo.delete_expired_responses(
            session,
            survey_id=survey.id,
            retention_cutoff=now - dt.timedelta(days=survey.retention_days),
            abandoned_cutoff=now - ABANDONED_AFTER,
        )
        if deleted:
            total += deleted
            session.add(
                audit.AuditEvent(
                    institution_id=survey.institution_id,
                    actor="system",
                    action="survey.responses_purged",
                    subject_type="survey",
                    subject_id=str(survey.id),
                    after={"deleted": deleted, "retention_days": survey.retention_days},
                    reason="retention period over, or started and never submitted",
                )
            )
    session.flush()
    return total


# ---------------------------------------------------------------------------------------------
# Analysis input


# The analysis names the persona of someone outside the three groups "unspecified" (the
# grounded-answer vocabulary); surveys call the same choice "other". One mapping, here.
ANALYSIS_PERSONA = {"other": "unspecified"}


def question_specs(questions: Sequence[SurveyQuestion]) -> list[QuestionSpec]:
    """The analysis's view of the questions. Only an approved companion was ever shown, so
    only its text counts when an answer is checked for being a copy of it."""
    return [
        QuestionSpec(
            id=str(q.id),
            kind=q.kind,
            prompt=q.prompt,
            options=tuple(str(o) for o in q.options),
            companion_text=q.companion_text if q.companion_status == "approved" else None,
        )
        for q in questions
    ]


def response_records(responses: Sequence[SurveyResponse]) -> list[ResponseRecord]:
    """The analysis's view of the responses. The contact is carried only for respondents who
    opted in (the rules store none otherwise; this keeps the export safe even if one were)."""
    return [
        ResponseRecord(
            id=str(r.id),
            persona=ANALYSIS_PERSONA.get(r.persona, r.persona),
            arm=r.arm,
            companion_display=r.companion_display,
            status=r.status,
            started_at=r.started_at,
            submitted_at=r.submitted_at,
            answers={
                str(a.question_id): AnswerValue(
                    text=a.text, choices=tuple(str(c) for c in a.choices), number=a.number
                )
                for a in r.answers
            },
            contact=r.contact if r.contact_opt_in else None,
        )
        for r in responses
    ]


def survey_records(
    session: Session, *, actor: Principal, survey_id: uuid.UUID
) -> tuple[list[QuestionSpec], list[ResponseRecord]]:
    """A survey's questions and responses as the plain records `survey_analysis` reads.

    The companion text is given only where it was approved (what respondents could see); the
    contact only for responses whose respondent opted in."""
    survey = _survey(session, actor=actor, survey_id=survey_id)
    return question_specs(survey.questions), response_records(
        repo.responses(session, survey_id=survey.id)
    )
