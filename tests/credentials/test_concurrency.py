"""Concurrent status changes on one list: both bits must survive (no lost update).

Runs with real, separate connections and commits (not the rolled-back test transaction),
because the property under test is the database's locking between transactions.
"""

from __future__ import annotations

import threading
import uuid

from sqlalchemy import Engine

from microcred.credentials import service as credentials
from microcred.credentials import status_list
from microcred.kit.db import make_sessionmaker, unit_of_work
from microcred.kit.settings import Settings
from tests import factories


def test_concurrent_revocations_on_one_list_both_land(engine: Engine, settings: Settings) -> None:
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as session:
        t = factories.tenant(session)
        achievement = factories.achievement(session, t)
        awards = []
        for _ in range(6):
            learner = factories.learner(session, t)
            award, _ = credentials.issue_award(
                session,
                actor=t.admin,
                settings=settings,
                institution_id=t.id,
                achievement_id=achievement.id,
                learner_id=learner.id,
            )
            awards.append(award.id)
    lists = set()
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(awards))

    def revoke(award_id: uuid.UUID) -> None:
        try:
            barrier.wait()
            with unit_of_work(factory) as session:
                award, changed = credentials.change_status(
                    session,
                    actor=t.admin,
                    settings=settings,
                    institution_id=t.id,
                    award_id=award_id,
                    action="revoke",
                    reason="concurrency test",
                )
                assert changed
                lists.add(award.status_list_id)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=revoke, args=(a,)) for a in awards]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with unit_of_work(factory) as session:
        [list_id] = lists
        row = credentials.public_status_list(session, list_id=list_id)
        published = status_list.Bitstring.decode(
            row.signed_credential["credentialSubject"]["encodedList"]
        )
        indexes = [
            credentials.get_award(session, institution_id=t.id, award_id=a).status_index
            for a in awards
        ]
        assert all(published.get(i) for i in indexes)
        assert published.count() == len(awards)
        assert row.revision == 1 + len(awards)
