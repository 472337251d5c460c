"""Projects reviewed by an assessor: the brief, submissions, reviews, the credential once every
part is passed, near-duplicate reports, and the rubric's calibration."""

from __future__ import annotations

import datetime as dt
import uuid

import numpy as np
import pytest
from sqlalchemy.orm import Session

from microcred.assessment import irt, projects, service
from microcred.assessment.schemas import ProjectBriefIn, SubmissionIn
from microcred.credentials import service as credentials
from microcred.kit import audit
from microcred.kit.errors import Conflict, Forbidden, InvalidInput, NotFound
from microcred.kit.principal import Principal
from microcred.kit.settings import Settings
from tests import factories
from tests.assessment.test_adaptive_flow import T0, as_learner, setup_bank, take

BRIEF = {
    "title": "Analyse an open dataset",
    "instructions": "State a question, answer it with data, and say what the answer misses.",
    "criteria": [
        {
            "id": "question",
            "name": "Question",
            "levels": [{"label": "Missing"}, {"label": "Partial"}, {"label": "Clear"}],
        },
        {
            "id": "analysis",
            "name": "Analysis",
            "levels": [{"label": "Wrong"}, {"label": "Sound"}, {"label": "Thorough"}],
        },
    ],
    "pass_points": 3,
}
REPORT = (
    "I compared weekday and weekend trips of the city's bike share over one year and found "
    "that weekend trips are forty percent longer, mostly along the river; the data says "
    "nothing about tourists versus residents, which would explain part of it."
)


def brief_for(
    db: Session, t: factories.Tenant, achievement_id: uuid.UUID, **change: object
) -> None:
    service.set_brief(
        db,
        actor=t.admin,
        institution_id=t.id,
        achievement_id=achievement_id,
        data=ProjectBriefIn.model_validate({**BRIEF, **change}),
    )


def submit(
    db: Session, learner: Principal, achievement_id: uuid.UUID, report: str = REPORT
) -> uuid.UUID:
    return service.submit_project(
        db,
        actor=learner,
        achievement_id=achievement_id,
        data=SubmissionIn.model_validate(
            {"title": "Bike trips", "report": report, "links": ["https://example.org/nb"]}
        ),
    ).id


def review(
    db: Session, settings: Settings, t: factories.Tenant, submission_id: uuid.UUID, **levels: int
) -> service.ProjectSubmission:
    return service.review_submission(
        db,
        actor=t.admin,
        settings=settings,
        institution_id=t.id,
        submission_id=submission_id,
        levels=levels,
        feedback="Clear question; say more about the limits.",
    )


def test_a_project_only_achievement_is_awarded_when_the_project_is_accepted(
    db: Session, settings: Settings
) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    brief_for(db, t, achievement.id)
    learner = as_learner(db, t)
    first = submit(db, learner, achievement.id)
    with pytest.raises(Conflict, match="waiting for review"):
        submit(db, learner, achievement.id)
    returned = review(db, settings, t, first, question=1, analysis=1)
    assert returned.state == "returned" and returned.award_id is None
    assert returned.points == 2 and returned.theta is not None
    second = submit(db, learner, achievement.id)
    accepted = review(db, settings, t, second, question=2, analysis=1)
    assert accepted.state == "accepted" and accepted.award_id is not None
    with pytest.raises(Conflict, match="already accepted"):
        submit(db, learner, achievement.id)
    with pytest.raises(Conflict, match="already accepted"):
        review(db, settings, t, second, question=2, analysis=2)
    award = credentials.get_award(db, institution_id=t.id, award_id=accepted.award_id)
    subject = award.credential["credentialSubject"]
    results = {r["resultDescription"].split("#result-")[1]: r["value"] for r in subject["result"]}
    assert results["project-points"] == "3 of 4"
    assert 0 <= float(results["project-scaled-score"]) <= 100
    assert award.credential["evidence"][0]["name"] == "Bike trips"
    assert credentials.verify_document(db, settings=settings, data=award.credential).valid
    actions = [
        e.action
        for e in audit.history(
            db, institution_id=t.id, subject_type="project_submission", subject_id=second
        )
    ]
    assert actions == ["project.submit", "project.accepted"]


def test_with_a_test_and_a_project_the_credential_waits_for_both(
    db: Session, settings: Settings
) -> None:
    t, achievement_id = setup_bank(db)
    brief_for(db, t, achievement_id)
    learner = as_learner(db, t)
    submission = submit(db, learner, achievement_id)
    accepted = review(db, settings, t, submission, question=2, analysis=2)
    assert accepted.state == "accepted" and accepted.award_id is None  # the test is still due
    outcome = take(db, settings, learner, achievement_id, knows=True, start=T0)
    attempt = outcome.attempt
    assert attempt.state == "passed" and attempt.award_id is not None
    award = credentials.get_award(db, institution_id=t.id, award_id=attempt.award_id)
    keys = {
        r["resultDescription"].split("#result-")[1]
        for r in award.credential["credentialSubject"]["result"]
    }
    assert {"scaled-score", "standard-error", "items", "attempt", "project-points"} <= keys
    db.refresh(accepted)
    assert accepted.award_id == attempt.award_id


def test_passing_the_test_first_says_what_is_missing(db: Session, settings: Settings) -> None:
    t, achievement_id = setup_bank(db)
    brief_for(db, t, achievement_id)
    learner = as_learner(db, t)
    attempt = take(db, settings, learner, achievement_id, knows=True, start=T0).attempt
    assert attempt.state == "passed" and attempt.award_id is None
    assert "have the project accepted" in (attempt.decision_reason or "")
    accepted = review(db, settings, t, submit(db, learner, achievement_id), question=2, analysis=1)
    assert accepted.award_id is not None
    db.refresh(attempt)
    assert attempt.award_id == accepted.award_id


def test_a_near_copy_of_another_learners_report_is_flagged_not_judged(
    db: Session, settings: Settings
) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    brief_for(db, t, achievement.id)
    first, second, third = (as_learner(db, t) for _ in range(3))
    original = submit(db, first, achievement.id)
    copy = submit(db, second, achievement.id, REPORT.replace("forty", "about forty"))
    own = submit(
        db,
        third,
        achievement.id,
        "Taxi fares in the open trip records rise sharply after midnight on weekends, but the "
        "records cannot separate surge pricing from longer routes, so the cause stays open.",
    )
    flags, _ = service.review_queue(db, institution_id=t.id, page=service.PageRequest(50, 0))
    assert [(f.kind, f.submission_id) for f in flags] == [("near_duplicate", copy)]
    assert flags[0].evidence["matches"][0]["submission"] == str(original)
    assert own not in {f.submission_id for f in flags}
    # The flag decides nothing: the copy can still be reviewed on its merits.
    assert review(db, settings, t, copy, question=2, analysis=2).state == "accepted"


def test_bad_briefs_submissions_and_reviews_are_refused(db: Session, settings: Settings) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    learner = as_learner(db, t)
    with pytest.raises(NotFound, match="no project"):
        submit(db, learner, achievement.id)
    with pytest.raises(InvalidInput, match="pass mark"):
        brief_for(db, t, achievement.id, pass_points=5)
    brief_for(db, t, achievement.id)
    with pytest.raises(Forbidden):
        service.submit_project(
            db,
            actor=t.admin,
            achievement_id=achievement.id,
            data=SubmissionIn.model_validate({"title": "x", "report": REPORT}),
        )
    submission = submit(db, learner, achievement.id)
    with pytest.raises(InvalidInput, match="missing: analysis"):
        review(db, settings, t, submission, question=1)
    with pytest.raises(InvalidInput, match="between 0 and 2"):
        review(db, settings, t, submission, question=1, analysis=3)
    with pytest.raises(Forbidden):
        service.review_submission(
            db,
            actor=learner,
            settings=settings,
            institution_id=t.id,
            submission_id=submission,
            levels={"question": 2, "analysis": 2},
            feedback="self-review",
        )
    with pytest.raises(NotFound):
        review(db, settings, t, uuid.uuid4(), question=1, analysis=1)
    # Nothing was half-written by the refusals.
    found = service.get_submission(db, institution_id=t.id, submission_id=submission)
    assert found.state == "submitted" and found.levels is None


def test_the_rubric_is_calibrated_from_reviews_once_there_are_enough(db: Session) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    limits = {"id": "limits", "name": "Limits", "levels": [{"label": "No"}, {"label": "Yes"}]}
    three = [*BRIEF["criteria"], limits]  # type: ignore[misc]
    brief_for(db, t, achievement.id, criteria=three)
    brief = service.get_brief(db, institution_id=t.id, achievement_id=achievement.id)
    rubric = projects.ProjectRubric.from_dict({**brief.rubric, "pass_points": 3})
    rng = np.random.default_rng(7)
    true_a, true_thresholds = [1.8, 1.2, 1.0], [[-0.8, 0.6], [-0.2, 1.4], [0.3]]
    theta = rng.normal(size=260)
    for person, ability in enumerate(theta):
        learner = factories.learner(db, t)
        submission = service.ProjectSubmission(
            institution_id=t.id,
            achievement_id=achievement.id,
            learner_id=learner.id,
            number=1,
            state="accepted",
            title=f"p{person}",
            report=REPORT,
            links=[],
            levels={
                c.id: int(
                    rng.choice(
                        len(c.levels),
                        p=irt.grm_probabilities(np.array([ability]), true_a[j], true_thresholds[j])[
                            0
                        ],
                    )
                )
                for j, c in enumerate(rubric.criteria)
            },
        )
        db.add(submission)
    db.flush()
    assert not service.calibrate_rubric(
        db, actor=t.admin, institution_id=t.id, achievement_id=achievement.id, min_reviews=300
    )
    assert service.calibrate_rubric(
        db, actor=t.admin, institution_id=t.id, achievement_id=achievement.id
    )
    db.refresh(brief)
    assert brief.calibrated
    fitted = projects.ProjectRubric.from_dict({**brief.rubric, "pass_points": 3})
    assert fitted.criteria[0].a == pytest.approx(1.8, abs=0.6)
    assert fitted.criteria[1].thresholds == pytest.approx((-0.2, 1.4), abs=0.45)
    # Rewording keeps the calibration; changing the levels resets it to the cold start.
    brief_for(db, t, achievement.id, criteria=three, title="Analyse an open dataset (2027)")
    db.refresh(brief)
    assert brief.calibrated
    changed = {**BRIEF["criteria"][1], "levels": [{"label": "Wrong"}, {"label": "Right"}]}  # type: ignore[dict-item]
    brief_for(db, t, achievement.id, criteria=[BRIEF["criteria"][0], changed], pass_points=2)  # type: ignore[index]
    db.refresh(brief)
    assert not brief.calibrated
    assert brief.rubric["criteria"][1]["thresholds"] == [0.0]
    with pytest.raises(InvalidInput, match="at least 3 items"):  # two criteria cannot fix a scale
        service.calibrate_rubric(
            db, actor=t.admin, institution_id=t.id, achievement_id=achievement.id
        )


def test_learners_see_their_project_page(db: Session, settings: Settings) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    brief_for(db, t, achievement.id)
    learner = as_learner(db, t)
    page = service.project_page(db, actor=learner, achievement_id=achievement.id)
    assert page.may_submit and not page.has_test and page.rubric.total == 4
    submit(db, learner, achievement.id)
    page = service.project_page(db, actor=learner, achievement_id=achievement.id)
    assert not page.may_submit and "waiting" in page.reason
    assert dt.datetime.now(dt.UTC) - page.submissions[0].submitted_at < dt.timedelta(minutes=5)
