from __future__ import annotations

from email import message_from_bytes, policy

from sqlalchemy.orm import Session, sessionmaker

from microcred import tasks
from microcred.credentials import service as credentials
from microcred.kit import jobs
from microcred.kit.jobs import OutboxMessage
from microcred.kit.settings import Settings
from tests import factories

CALLS: list[dict[str, object]] = []


@jobs.job("tests.record")
def record_call(session: Session, settings: Settings, **payload: object) -> None:
    CALLS.append(payload)
    if payload.get("fail"):
        raise RuntimeError("boom")


def test_jobs_run_after_commit_and_never_after_rollback(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    CALLS.clear()
    with session_factory() as session:
        jobs.enqueue(session, "tests.record", n=1)
        session.rollback()  # the business change failed: the job goes with it
    with session_factory() as session:
        jobs.enqueue(session, "tests.record", n=2)
        session.commit()
    assert jobs.run_pending(session_factory, settings) == 1
    assert CALLS == [{"n": 2}]
    assert jobs.run_pending(session_factory, settings) == 0  # done jobs do not run again


def test_failing_jobs_are_retried_later_and_recorded(
    session_factory: sessionmaker[Session], settings: Settings, db: Session
) -> None:
    CALLS.clear()
    with session_factory() as session:
        message = jobs.enqueue(session, "tests.record", fail=True)
        session.commit()
        message_id = message.id
    assert jobs.run_pending(session_factory, settings) == 1
    failed = db.get(OutboxMessage, message_id)
    assert failed is not None
    db.refresh(failed)
    assert failed.state == "pending" and failed.attempts == 1
    assert failed.last_error == "RuntimeError: boom"
    assert jobs.run_pending(session_factory, settings) == 0  # backing off


def test_issuing_mails_the_learner_after_commit(
    session_factory: sessionmaker[Session], settings: Settings, tmp_path: object
) -> None:
    tasks.register_all()
    settings = settings.model_copy(update={"data_dir": tmp_path})
    with session_factory() as session:
        t = factories.tenant(session)
        achievement = factories.achievement(session, t)
        learner = factories.learner(session, t)
        award, _ = credentials.issue_award(
            session,
            actor=t.admin,
            settings=settings,
            institution_id=t.id,
            achievement_id=achievement.id,
            learner_id=learner.id,
        )
        session.commit()
    assert jobs.run_pending(session_factory, settings) >= 1
    mails = list((tmp_path / "mail").glob("*.eml"))  # type: ignore[operator]
    [sent] = [
        message_from_bytes(p.read_bytes(), policy=policy.default)
        for p in mails
        if learner.email in p.read_text()
    ]
    assert f"/me/credentials/{award.id}" in sent.get_content()  # type: ignore[attr-defined]
    assert achievement.name in str(sent["Subject"])
