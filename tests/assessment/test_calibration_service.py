from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy.orm import Session, sessionmaker

from microcred import tasks
from microcred.assessment import irt, service
from microcred.kit import audit, jobs
from microcred.kit.errors import InvalidInput
from microcred.kit.settings import Settings
from tests.assessment.test_adaptive_flow import setup_bank


def test_a_bank_is_calibrated_from_responses_and_anchors_keep_the_scale(db: Session) -> None:
    t, achievement_id = setup_bank(db)
    bank = list(service.repo.active_items(db, achievement_id=achievement_id))
    rng = np.random.default_rng(11)
    true_a = rng.uniform(0.8, 2.0, len(bank))
    true_b = rng.normal(0, 1, len(bank))
    theta = rng.normal(0, 1, 1500)
    matrix = (rng.random((1500, len(bank))) < irt.p_correct(theta, true_a, true_b)).astype(float)
    matrix[rng.random(matrix.shape) < 0.3] = np.nan  # not everyone saw every item
    ids = [it.id for it in bank]
    report = service.calibrate_bank(
        db,
        actor=t.admin,
        institution_id=t.id,
        achievement_id=achievement_id,
        responses=matrix,
        item_ids=ids,
    )
    assert report.calibrated == len(bank) and report.converged and report.anchors == 0
    estimated_b = np.array([it.b for it in bank])
    assert np.corrcoef(estimated_b, true_b)[0, 1] > 0.95
    assert all(it.calibrated for it in bank)
    # A second round keeps every calibrated item as an anchor: nothing new to estimate.
    with pytest.raises(InvalidInput, match="no uncalibrated item"):
        service.calibrate_bank(
            db,
            actor=t.admin,
            institution_id=t.id,
            achievement_id=achievement_id,
            responses=matrix,
            item_ids=ids,
        )
    [event] = [
        e
        for e in audit.history(
            db, institution_id=t.id, subject_type="achievement", subject_id=achievement_id
        )
        if e.action == "item_bank.calibrate"
    ]
    assert event.after is not None and event.after["calibrated"] == len(bank)


def test_too_few_responses_keep_provisional_parameters(db: Session) -> None:
    t, achievement_id = setup_bank(db)
    with pytest.raises(InvalidInput, match="no uncalibrated item has 200 responses"):
        service.calibrate_bank(
            db, actor=t.admin, institution_id=t.id, achievement_id=achievement_id
        )
    bank = list(service.repo.active_items(db, achievement_id=achievement_id))
    with pytest.raises(InvalidInput, match="one response column per item"):
        service.calibrate_bank(
            db,
            actor=t.admin,
            institution_id=t.id,
            achievement_id=achievement_id,
            responses=np.ones((5, 2)),
            item_ids=[bank[0].id],
        )


def test_the_calibration_job_is_queued_and_waits_for_enough_responses(
    session_factory: sessionmaker[Session], settings: Settings
) -> None:
    tasks.register_all()
    with session_factory() as session:
        t, achievement_id = setup_bank(session)
        service.request_calibration(
            session, actor=t.admin, institution_id=t.id, achievement_id=achievement_id
        )
        session.commit()
    assert jobs.run_pending(session_factory, settings) >= 1
    with session_factory() as session:
        bank = service.repo.active_items(session, achievement_id=achievement_id)
        assert not any(it.calibrated for it in bank)
