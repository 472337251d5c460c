"""Survey rules: building a survey, companion answers, anonymous responses, retention."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from microcred.ask import surveys
from microcred.ask.models import Survey, SurveyAnswer, SurveyResponse
from microcred.identity import service as identity
from microcred.kit.audit import AuditEvent
from microcred.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from microcred.kit.principal import SYSTEM, Principal
from microcred.kit.settings import Settings
from tests import factories

COMPANION = surveys.Composed(
    text="A micro-credential certifies a small, assessed unit of learning [1].",
    citations=[{"number": 1, "title": "What is a micro-credential", "url": "/ask/what"}],
    model="extractive",
    abstained=False,
)


@pytest.fixture(autouse=True)
def offline_companion(monkeypatch: pytest.MonkeyPatch) -> None:
    """Companion answers from a stand-in: these tests are about the survey rules."""

    def compose(session: Session, **kwargs: Any) -> surveys.Composed:
        if "unanswerable" in kwargs["question"]:
            return surveys.Composed("The sources do not cover this.", [], "extractive", True)
        return COMPANION

    monkeypatch.setattr(surveys, "_compose_companion", compose)


def built(
    db: Session, t: factories.Tenant, settings: Settings, **kwargs: Any
) -> tuple[Survey, list[uuid.UUID]]:
    """A published survey with one question of each kind and an approved companion."""
    survey = surveys.create_survey(db, actor=t.admin, title="Micro-credentials", **kwargs)
    free = surveys.add_question(
        db, actor=t.admin, survey_id=survey.id, kind="free_text", prompt="What would you learn?"
    )
    single = surveys.add_question(
        db,
        actor=t.admin,
        survey_id=survey.id,
        kind="single_choice",
        prompt="Would you pay?",
        options=["Yes", "No"],
    )
    multi = surveys.add_question(
        db,
        actor=t.admin,
        survey_id=survey.id,
        kind="multiple_choice",
        prompt="Where would you share it?",
        options=["LinkedIn", "CV", "E-mail"],
        required=False,
    )
    scale = surveys.add_question(
        db,
        actor=t.admin,
        survey_id=survey.id,
        kind="scale",
        prompt="How useful are they?",
        options=["Useless", "Very useful"],
    )
    surveys.generate_companion(db, actor=t.admin, question_id=free.id, settings=settings)
    surveys.approve_companion(db, actor=t.admin, question_id=free.id)
    surveys.publish_survey(db, actor=t.admin, survey_id=survey.id)
    return survey, [free.id, single.id, multi.id, scale.id]


def good_answers(ids: list[uuid.UUID]) -> dict[uuid.UUID, object]:
    return {ids[0]: "Data skills", ids[1]: "Yes", ids[2]: ["CV", "LinkedIn"], ids[3]: "4"}


def test_a_survey_is_built_published_answered_once(db: Session, settings: Settings) -> None:
    t = factories.tenant(db)
    survey, ids = built(db, t, settings)
    assert survey.status == "published" and len(survey.slug) >= 16
    response, token = surveys.start_response(db, slug=survey.slug, persona="learner")
    assert response.token_hash == surveys.token_hash(token) and token not in response.token_hash
    assert (response.arm, response.companion_display) == ("shown", "after")
    assert set(surveys.companions_for(survey, response)) == {ids[0]}
    done = surveys.submit_response(db, slug=survey.slug, token=token, answers=good_answers(ids))
    assert done.status == "submitted" and done.submitted_at is not None
    stored = {a.question_id: a for a in done.answers}
    assert stored[ids[0]].text == "Data skills"
    assert stored[ids[2]].choices == ["LinkedIn", "CV"]  # in the question's order
    assert stored[ids[3]].number == 4
    with pytest.raises(surveys.AlreadySubmitted) as again:
        surveys.submit_response(db, slug=survey.slug, token=token, answers={ids[1]: "No"})
    assert again.value.status == 409
    assert db.scalar(select(SurveyAnswer.choices).where(SurveyAnswer.question_id == ids[1])) == [
        "Yes"
    ]
    # Respondent audit rows carry neither text nor contact, and the actor is anonymous.
    events = db.scalars(select(AuditEvent).where(AuditEvent.subject_id == str(response.id))).all()
    assert {e.actor for e in events} == {"anonymous"}
    assert "Data skills" not in repr([e.after for e in events])


def test_answers_are_checked_all_or_nothing(db: Session, settings: Settings) -> None:
    t = factories.tenant(db)
    survey, ids = built(db, t, settings)
    _, token = surveys.start_response(db, slug=survey.slug, persona="employer")
    bad = {ids[0]: "x" * 5001, ids[1]: "Maybe", ids[2]: ["CV", "CV"], ids[3]: 9, uuid.uuid4(): "?"}
    with pytest.raises(InvalidInput) as refused:
        surveys.submit_response(db, slug=survey.slug, token=token, answers=bad)
    assert len(refused.value.errors) == 5
    missing = {ids[0]: "  ", ids[2]: [], ids[3]: True}
    with pytest.raises(InvalidInput) as refused:
        surveys.submit_response(db, slug=survey.slug, token=token, answers=missing)
    details = {e["question_id"]: e["detail"] for e in refused.value.errors}
    assert details[str(ids[0])] == "an answer is required" and str(ids[2]) not in details
    assert "1 to 5" in details[str(ids[3])]
    assert db.scalar(select(func.count()).select_from(SurveyAnswer)) == 0
    with pytest.raises(NotFound):
        surveys.submit_response(db, slug=survey.slug, token="not-a-token", answers={})
    optional_skipped = {ids[0]: "ok", ids[1]: "No", ids[3]: 1}
    done = surveys.submit_response(db, slug=survey.slug, token=token, answers=optional_skipped)
    assert len(done.answers) == 3


def test_personas_contact_and_closed_surveys(db: Session, settings: Settings) -> None:
    t = factories.tenant(db)
    survey, _ = built(db, t, settings, personas=["learner", "employer"])
    with pytest.raises(InvalidInput) as unknown:
        surveys.start_response(db, slug=survey.slug, persona="educator")
    assert "learner, employer" in unknown.value.detail
    with pytest.raises(InvalidInput):
        surveys.start_response(
            db, slug=survey.slug, persona="learner", contact_opt_in=True, contact="nope"
        )
    ignored, _ = surveys.start_response(
        db, slug=survey.slug, persona="learner", contact="a@example.org"
    )
    assert ignored.contact is None and not ignored.contact_opt_in
    kept, _ = surveys.start_response(
        db, slug=survey.slug, persona="learner", contact_opt_in=True, contact="a@example.org"
    )
    assert kept.contact == "a@example.org" and kept.contact_opt_in
    surveys.close_survey(db, actor=t.admin, survey_id=survey.id)
    with pytest.raises(surveys.SurveyClosed) as closed:
        surveys.get_public_survey(db, slug=survey.slug)
    assert closed.value.status == 410 and "closed" in closed.value.detail
    draft = surveys.create_survey(db, actor=t.admin, title="Not yet")
    with pytest.raises(NotFound):
        surveys.start_response(db, slug=draft.slug, persona="learner")


def test_ab_arm_is_drawn_and_recorded(
    db: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = factories.tenant(db)
    survey, _ids = built(db, t, settings, ab_test=True, companion_display="before")
    monkeypatch.setattr(surveys, "_draw_arm", lambda: "hidden")
    hidden, _ = surveys.start_response(db, slug=survey.slug, persona="learner")
    assert (hidden.arm, hidden.companion_display) == ("hidden", "none")
    assert surveys.companions_for(survey, hidden) == {}
    monkeypatch.setattr(surveys, "_draw_arm", lambda: "shown")
    shown, _ = surveys.start_response(db, slug=survey.slug, persona="learner")
    assert (shown.arm, shown.companion_display) == ("shown", "before")
    monkeypatch.undo()
    arms = {surveys._draw_arm() for _ in range(64)}
    assert arms == {"shown", "hidden"}
    with pytest.raises(InvalidInput):
        surveys.create_survey(
            db, actor=t.admin, title="A/B of nothing", ab_test=True, companion_display="none"
        )


def test_question_rules_and_ordering(db: Session, settings: Settings) -> None:
    t = factories.tenant(db)
    survey = surveys.create_survey(db, actor=t.admin, title="Rules")
    add = {"actor": t.admin, "survey_id": survey.id}
    for kind, options, prompt in [
        ("single_choice", ["Only one"], "Q"),
        ("single_choice", ["A", "a"], "Q"),
        ("multiple_choice", ["A", ""], "Q"),
        ("multiple_choice", [str(i) for i in range(13)], "Q"),
        ("scale", ["Low"], "Q"),
        ("free_text", ["A"], "Q"),
        ("free_text", [], " "),
        ("free_text", [], "x" * 1001),
        ("essay", [], "Q"),
    ]:
        with pytest.raises(InvalidInput):
            surveys.add_question(db, kind=kind, options=options, prompt=prompt, **add)  # type: ignore[arg-type]
    a, b, c = (
        surveys.add_question(db, kind="free_text", prompt=p, **add)  # type: ignore[arg-type]
        for p in ("A", "B", "C")
    )
    surveys.move_question(db, actor=t.admin, question_id=c.id, position=0)
    assert [q.prompt for q in survey.questions] == ["C", "A", "B"]
    surveys.remove_question(db, actor=t.admin, question_id=a.id)
    db.expire_all()
    assert [(q.prompt, q.position) for q in survey.questions] == [("C", 0), ("B", 1)]
    with pytest.raises(NotFound):
        surveys.update_question(
            db, actor=t.admin, question_id=b.id, survey_id=uuid.uuid4(), prompt="B2"
        )
    updated = surveys.update_question(db, actor=t.admin, question_id=b.id, prompt="B2")
    assert updated.prompt == "B2"


def test_companions_need_approval_before_publishing(db: Session, settings: Settings) -> None:
    t = factories.tenant(db)
    survey = surveys.create_survey(db, actor=t.admin, title="Companions")
    with pytest.raises(Conflict, match="at least one question"):
        surveys.publish_survey(db, actor=t.admin, survey_id=survey.id)
    q = surveys.add_question(
        db, actor=t.admin, survey_id=survey.id, kind="free_text", prompt="Who owns it?"
    )
    none = surveys.add_question(
        db,
        actor=t.admin,
        survey_id=survey.id,
        kind="free_text",
        prompt="Something",
        companion_question="unanswerable thing",
    )
    surveys.generate_companion(db, actor=t.admin, question_id=q.id, settings=settings)
    abstained = surveys.generate_companion(
        db, actor=t.admin, question_id=none.id, settings=settings
    )
    assert abstained.companion_status == "none" and "do not cover" in (
        abstained.companion_text or ""
    )
    assert q.companion_status == "draft" and q.companion_citations[0]["title"]
    with pytest.raises(Conflict, match="question 1"):
        surveys.publish_survey(db, actor=t.admin, survey_id=survey.id)
    edited = surveys.edit_companion(db, actor=t.admin, question_id=q.id, text="You do.")
    assert (edited.companion_model, edited.companion_status) == ("staff", "draft")
    surveys.approve_companion(db, actor=t.admin, question_id=q.id)
    assert q.companion_status == "approved" and q.companion_approved_by
    surveys.publish_survey(db, actor=t.admin, survey_id=survey.id)
    with pytest.raises(Conflict):
        surveys.add_question(db, actor=t.admin, survey_id=survey.id, kind="free_text", prompt="L")
    surveys.withdraw_companion(db, actor=t.admin, question_id=q.id)
    assert q.companion_status == "none" and q.companion_text is None
    actions = set(db.scalars(select(AuditEvent.action).where(AuditEvent.institution_id == t.id)))
    assert {"survey.created", "survey.companion_approved", "survey.published"} <= actions


def test_staff_see_only_their_institution_and_need_a_role(db: Session) -> None:
    t, other = factories.tenant(db), factories.tenant(db)
    survey = surveys.create_survey(db, actor=t.admin, title="Ours")
    assert [s.id for s in surveys.list_surveys(db, actor=t.admin)] == [survey.id]
    assert surveys.list_surveys(db, actor=other.admin) == []
    with pytest.raises(NotFound):
        surveys.get_survey(db, actor=other.admin, survey_id=survey.id)
    member = identity.create_staff_member(
        db,
        actor=SYSTEM,
        institution_id=t.id,
        email=f"assessor-{uuid.uuid4().hex[:6]}@example.edu",
        display_name="Assessor",
        roles=["assessor"],
        password=factories.PASSWORD,
    )
    assessor = Principal(
        kind="staff", id=member.id, institution_id=t.id, roles=frozenset(member.roles)
    )
    with pytest.raises(Forbidden):
        surveys.create_survey(db, actor=assessor, title="Not mine to make")
    assert surveys.get_survey(db, actor=assessor, survey_id=survey.id).title == "Ours"


def test_purge_deletes_expired_and_abandoned_responses(db: Session, settings: Settings) -> None:
    t = factories.tenant(db)
    survey, ids = built(db, t, settings, retention_days=30)
    now = dt.datetime.now(dt.UTC)

    def response(days_ago: float, submit: bool) -> uuid.UUID:
        r, token = surveys.start_response(db, slug=survey.slug, persona="learner")
        if submit:
            surveys.submit_response(db, slug=survey.slug, token=token, answers=good_answers(ids))
        r.started_at = now - dt.timedelta(days=days_ago)
        db.flush()
        return r.id

    old = response(31, True)
    abandoned = response(8, False)
    fresh_started = response(2, False)
    kept = response(29, True)
    assert surveys.purge_expired_responses(db, now=now) == 2
    db.expire_all()
    left = set(db.scalars(select(SurveyResponse.id).where(SurveyResponse.survey_id == survey.id)))
    assert left == {fresh_started, kept} and not left & {old, abandoned}
    assert (
        db.scalar(
            select(func.count()).select_from(SurveyAnswer).where(SurveyAnswer.response_id == old)
        )
        == 0
    )
    summary = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "survey.responses_purged", AuditEvent.subject_id == str(survey.id)
        )
    ).one()
    assert summary.after == {"deleted": 2, "retention_days": 30}
    assert surveys.purge_expired_responses(db, now=now) == 0


def test_survey_records_feed_the_analysis(db: Session, settings: Settings) -> None:
    t = factories.tenant(db)
    survey, ids = built(db, t, settings)
    _, anonymous = surveys.start_response(db, slug=survey.slug, persona="learner")
    surveys.submit_response(db, slug=survey.slug, token=anonymous, answers=good_answers(ids))
    surveys.start_response(
        db, slug=survey.slug, persona="employer", contact_opt_in=True, contact="e@example.org"
    )
    questions, records = surveys.survey_records(db, actor=t.admin, survey_id=survey.id)
    assert [q.id for q in questions] == [str(i) for i in ids]
    assert questions[0].companion_text == COMPANION.text and questions[1].companion_text is None
    assert questions[3].options == ("Useless", "Very useful")
    by_persona = {r.persona: r for r in records}
    assert by_persona["learner"].contact is None and by_persona["employer"].contact
    learner = by_persona["learner"]
    assert learner.status == "submitted" and learner.answers[str(ids[2])].choices == (
        "LinkedIn",
        "CV",
    )
    assert learner.answers[str(ids[3])].number == 4
    with pytest.raises(NotFound):
        surveys.survey_records(db, actor=factories.tenant(db).admin, survey_id=survey.id)
