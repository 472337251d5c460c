from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from microcred.assessment import service
from microcred.assessment.schemas import ItemIn, PolicyIn
from microcred.catalog.schemas import ResultDescriptionIn
from microcred.kit import audit
from microcred.kit.errors import Conflict, InvalidInput
from tests import factories


def numeric_item(achievement_id: object, **overrides: object) -> ItemIn:
    values: dict[str, object] = {
        "achievement_id": achievement_id,
        "skill_url": factories.PYTHON_SKILL,
        "kind": "numeric",
        "stem": "Mean of {x} and {y}?",
        "formula": "(x + y) / 2",
        "variables": [
            {"name": "x", "low": 1, "high": 9, "step": 1},
            {"name": "y", "low": 10, "high": 20, "step": 2},
        ],
        "tolerance": "0.01",
        "author_difficulty": 2,
    }
    values.update(overrides)
    return ItemIn.model_validate(values)


def test_items_start_with_cold_start_parameters_and_revise_as_new_versions(db: Session) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    easy = service.create_item(
        db,
        actor=t.admin,
        institution_id=t.id,
        data=numeric_item(achievement.id, author_difficulty=1),
    )
    hard = service.create_item(
        db,
        actor=t.admin,
        institution_id=t.id,
        data=numeric_item(achievement.id, author_difficulty=5),
    )
    assert easy.b < hard.b and not easy.calibrated
    revised = service.revise_item(
        db,
        actor=t.admin,
        institution_id=t.id,
        item_id=easy.id,
        data=numeric_item(achievement.id, stem="Average of {x}, {y}?"),
    )
    assert revised.family_id == easy.family_id and revised.version == 2
    assert easy.state == "retired"
    with pytest.raises(Conflict):
        service.revise_item(
            db,
            actor=t.admin,
            institution_id=t.id,
            item_id=easy.id,
            data=numeric_item(achievement.id),
        )
    actions = [
        e.action
        for e in audit.history(db, institution_id=t.id, subject_type="item", subject_id=easy.id)
    ]
    assert actions == ["item.create", "item.retire"]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"formula": "1 / (x - x)"}, "cannot be evaluated"),
        ({"tolerance": "0"}, "tolerance greater than zero"),
        (
            {
                "kind": "single_choice",
                "choices": [{"id": "a", "text": "1"}, {"id": "b", "text": "2"}],
            },
            "needs a key",
        ),
        (
            {"skill_url": "http://data.europa.eu/esco/skill/00000000-0000-0000-0000-000000000000"},
            "not one of the achievement's skills",
        ),
    ],
)
def test_malformed_items_are_refused(
    db: Session, overrides: dict[str, object], message: str
) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    with pytest.raises(InvalidInput, match=message):
        service.create_item(
            db, actor=t.admin, institution_id=t.id, data=numeric_item(achievement.id, **overrides)
        )


def test_policy_and_items_over_the_api(client: TestClient, db: Session) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    db.commit()
    path = f"/api/v1/achievements/{achievement.id}/assessment"
    assert client.get(path, headers=t.headers).status_code == 404
    saved = client.put(
        path, json=PolicyIn(max_attempts=2, cut_score=0.5).model_dump(), headers=t.headers
    )
    assert saved.status_code == 200 and saved.json()["max_attempts"] == 2
    bad = client.put(path, json={"min_items": 10, "max_items": 5}, headers=t.headers)
    assert bad.status_code == 422
    body = numeric_item(achievement.id).model_dump(mode="json")
    created = client.post("/api/v1/items", json=body, headers=t.headers)
    assert created.status_code == 201, created.text
    listed = client.get(f"/api/v1/items?achievement_id={achievement.id}", headers=t.headers)
    assert listed.json()["total"] == 1
    refused = client.post("/api/v1/items", json={**body, "tolerance": "0"}, headers=t.headers)
    assert refused.status_code == 422 and "tolerance" in refused.json()["detail"]


def test_a_policy_refuses_results_the_achievement_describes_differently(db: Session) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(
        db,
        t,
        result_descriptions=[
            ResultDescriptionIn(
                key="scaled-score",
                name="Percent",
                result_type="Percent",
                value_min="0",
                value_max="100",
            )
        ],
    )
    with pytest.raises(Conflict, match="describes result 'scaled-score' differently"):
        service.set_policy(
            db, actor=t.admin, institution_id=t.id, achievement_id=achievement.id, data=PolicyIn()
        )
    fine = factories.achievement(db, t)
    service.set_policy(
        db, actor=t.admin, institution_id=t.id, achievement_id=fine.id, data=PolicyIn()
    )
    assert {"scaled-score", "standard-error", "items", "attempt"} <= {
        r.key for r in fine.result_descriptions
    }
