from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from microcred.catalog import esco
from microcred.catalog import service as catalog
from microcred.catalog.schemas import AchievementUpdate, AlignmentIn
from microcred.kit import audit
from microcred.kit.errors import Conflict, InvalidInput
from tests import factories


def test_achievement_is_a_micro_credential_aligned_to_esco(db: Session) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    assert achievement.achievement_type == "MicroCredential"
    assert [a.target_name for a in achievement.alignments] == [
        "Python (computer programming)",
        "SQL",
    ]
    assert achievement.alignments[0].target_code == factories.PYTHON_SKILL


def test_update_bumps_the_version_and_audits_before_and_after(db: Session) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    catalog.update_achievement(
        db,
        actor=t.admin,
        institution_id=t.id,
        achievement_id=achievement.id,
        data=AchievementUpdate(
            name="Renamed", alignments=[AlignmentIn(target_url=factories.SQL_SKILL)]
        ),
    )  # type: ignore[arg-type]
    assert achievement.version == 2 and achievement.name == "Renamed"
    assert [a.target_url for a in achievement.alignments] == [factories.SQL_SKILL]
    events = audit.history(
        db, institution_id=t.id, subject_type="achievement", subject_id=achievement.id
    )
    assert events[-1].before is not None and events[-1].before["version"] == 1
    assert events[-1].after is not None and events[-1].after["version"] == 2


def test_bad_alignments_are_refused(db: Session) -> None:
    t = factories.tenant(db)
    with pytest.raises(InvalidInput, match="not an ESCO skill URI"):
        factories.achievement(
            db, t, alignments=[AlignmentIn(target_url="https://example.org/skill/1")]
        )  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="listed twice"):
        factories.achievement(
            db,
            t,
            alignments=[
                AlignmentIn(target_url=factories.SQL_SKILL),  # type: ignore[arg-type]
                AlignmentIn(target_url=factories.SQL_SKILL),
            ],
        )  # type: ignore[arg-type]


def test_retired_achievements_cannot_change(db: Session) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    catalog.retire_achievement(
        db, actor=t.admin, institution_id=t.id, achievement_id=achievement.id, reason="superseded"
    )
    with pytest.raises(Conflict):
        catalog.update_achievement(
            db,
            actor=t.admin,
            institution_id=t.id,
            achievement_id=achievement.id,
            data=AchievementUpdate(name="x"),
        )


def test_esco_search_prefers_prefix_matches() -> None:
    hits = esco.search("sql", limit=5)
    assert hits[0].label == "SQL"
    assert esco.search("   ") == []
