"""The learning API under /api/v1: postings, demand, linking, and acting for a learner."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from microcred.catalog import framework
from microcred.kit.principal import SYSTEM
from tests import factories
from tests.credentials.test_api import assert_problem
from tests.learning.test_service import BI, CLEANSING, POSTING, STAT_TECHNIQUES, course


def setup(db: Session) -> tuple[factories.Tenant, dict[str, Any]]:
    t = factories.tenant(db)
    framework.load_bundled_framework(db, actor=SYSTEM)
    ids = {
        "stats": course(
            db, t, "Statistics", [STAT_TECHNIQUES], hours=Decimal(20), cost=Decimal(100)
        ),
        "clean": course(db, t, "Cleaning", [CLEANSING], hours=Decimal(10), cost=Decimal(100)),
        "bi": course(db, t, "BI", [BI], hours=Decimal(10), cost=Decimal(100)),
    }
    learner = factories.learner(db, t)
    db.commit()
    return t, {"learner": str(learner.id), **{k: str(v) for k, v in ids.items()}}


def test_postings_are_created_once_listed_and_reviewed(client: TestClient, db: Session) -> None:
    t, _ = setup(db)
    body = {"title": "Data Analyst", "description": POSTING, "posted_on": "2026-05-01"}
    first = client.post("/api/v1/postings", json=body, headers=t.headers)
    assert first.status_code == 201, first.text
    again = client.post("/api/v1/postings", json=body, headers=t.headers)
    assert again.status_code == 200 and again.json()["created"] is False
    posting = first.json()["posting"]
    assert {s["skill_uri"] for s in posting["skills"]} >= {STAT_TECHNIQUES, CLEANSING, BI}
    listed = client.get("/api/v1/postings", headers=t.headers).json()
    assert listed["total"] == 1
    reviewed = client.post(
        f"/api/v1/postings/{posting['id']}/skills",
        json={"skill_uri": BI, "rejected": True, "reason": "not for this role"},
        headers=t.headers,
    )
    assert reviewed.status_code == 200 and reviewed.json()["rejected"] is True
    coverage = client.get("/api/v1/demand/coverage", headers=t.headers).json()
    assert BI not in {r["uri"] for r in coverage["untaught"] + coverage["taught"]}
    trends = client.get("/api/v1/demand/trends", headers=t.headers).json()
    assert trends["total_postings"] == 1 and trends["note"]


def test_bad_postings_get_problem_details(client: TestClient, db: Session) -> None:
    t, _ = setup(db)
    assert_problem(
        client.post("/api/v1/postings", json={"description": "   "}, headers=t.headers),
        422,
        "invalid-input",
    )
    assert_problem(
        client.post("/api/v1/postings", json={"description": "x" * 100_001}, headers=t.headers),
        413,
        "payload-too-large",
    )
    assert_problem(
        client.post(
            "/api/v1/postings/upload",
            files={"file": ("p.csv", b"title,description\nA,\n", "text/csv")},
            headers=t.headers,
        ),
        422,
        "invalid-input",
    )
    # Found by the API fuzz: a lone carriage return used to stop the csv module (a 500).
    assert_problem(
        client.post(
            "/api/v1/postings/upload",
            files={"file": ("p.csv", b'title,description\n"A",x\ry"\n', "text/csv")},
            headers=t.headers,
        ),
        422,
        "invalid-input",
    )
    assert client.get("/api/v1/postings").status_code == 401


def test_a_csv_upload_stores_every_row(client: TestClient, db: Session) -> None:
    t, _ = setup(db)
    data = f'title,description,posted_on\nA,"{POSTING}",2026-05-01\nB,"Use SQL daily.",2026-06-01\n'
    response = client.post(
        "/api/v1/postings/upload",
        files={"file": ("p.csv", data.encode(), "text/csv")},
        headers=t.headers,
    )
    assert response.status_code == 200, response.text
    assert response.json()["created"] == 2


def test_skill_linking_suggests_alignments(client: TestClient, db: Session) -> None:
    t, _ = setup(db)
    response = client.post(
        "/api/v1/skills/link",
        json={"text": "Learners apply statistical analysis techniques to real data."},
        headers=t.headers,
    )
    assert response.status_code == 200
    assert response.json()["skills"][0]["uri"] == STAT_TECHNIQUES


def test_an_lms_sets_a_target_reads_the_plan_and_enrols(client: TestClient, db: Session) -> None:
    t, ids = setup(db)
    base = f"/api/v1/learners/{ids['learner']}"
    target = client.put(f"{base}/target", json={"posting_text": POSTING}, headers=t.headers)
    assert target.status_code == 200, target.text
    gap = client.get(f"{base}/gap", headers=t.headers).json()
    assert gap["summary"] and any(s["uri"] == BI for s in gap["skills"])
    plan = client.get(f"{base}/plan", headers=t.headers)
    assert plan.status_code == 200, plan.text
    steps = plan.json()["steps"]
    assert {s["achievement_id"] for s in steps} == {ids["stats"], ids["clean"], ids["bi"]}
    assert plan.json()["optimal"] is True
    first = client.post(
        f"{base}/enrolments",
        json={"achievement_id": steps[0]["achievement_id"], "source": "plan"},
        headers=t.headers,
    )
    assert first.status_code == 201
    again = client.post(
        f"{base}/enrolments",
        json={"achievement_id": steps[0]["achievement_id"], "source": "plan"},
        headers=t.headers,
    )
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert client.get(f"{base}/plan", headers=t.headers).json()["steps"][0]["enrolled"]
    nudge = client.get(f"{base}/next", headers=t.headers).json()
    assert nudge["achievement_id"] != steps[0]["achievement_id"]
    chooser = client.get(f"{base}/chooser?relevance=5&cost=1", headers=t.headers).json()
    assert abs(sum(chooser["weights"].values()) - 1) < 1e-9
    assert len(chooser["choices"]) == 3


def test_an_infeasible_budget_is_a_problem_with_the_relaxations(
    client: TestClient, db: Session
) -> None:
    t, ids = setup(db)
    base = f"/api/v1/learners/{ids['learner']}"
    client.put(f"{base}/target", json={"posting_text": POSTING}, headers=t.headers)
    body = assert_problem(
        client.get(f"{base}/plan?budget=150", headers=t.headers), 422, "invalid-input"
    )
    assert body["binds"] == ["budget"] and body["min_budget"] == 300
    assert_problem(client.put(f"{base}/target", json={}, headers=t.headers), 422, "invalid-input")
    other = factories.tenant(db)
    db.commit()
    assert_problem(client.get(f"{base}/gap", headers=other.headers), 404, "not-found")


def test_assessors_recognise_prior_learning_and_override(client: TestClient, db: Session) -> None:
    t, ids = setup(db)
    base = f"/api/v1/learners/{ids['learner']}"
    recognised = client.post(
        f"{base}/prior-learning",
        json={"skill_uri": BI, "level": 0.9, "confidence": "high", "evidence": "portfolio"},
        headers=t.headers,
    )
    assert recognised.status_code == 200, recognised.text
    assert recognised.json()["source"] == "prior_learning"
    overridden = client.put(
        f"{base}/mastery",
        json={"skill_uri": BI, "probability": 0.2, "reason": "interview showed gaps"},
        headers=t.headers,
    )
    assert overridden.json()["overridden_by"]
    mastery = client.get(f"{base}/mastery", headers=t.headers).json()
    assert [m["probability"] for m in mastery if m["skill_uri"] == BI] == [0.2]
    assert_problem(
        client.post(
            f"{base}/prior-learning",
            json={"skill_uri": BI, "level": 1.5, "evidence": "x"},
            headers=t.headers,
        ),
        422,
        "invalid-input",
    )


def test_an_external_course_catalogue_is_mapped_to_the_framework(
    client: TestClient, db: Session
) -> None:
    t, _ = setup(db)
    courses = [
        {"key": "c1", "text": "Statistics: apply statistical analysis techniques"},
        {"key": "c2", "text": "Data cleansing and data quality"},
    ]
    response = client.post("/api/v1/skills/map", json={"courses": courses}, headers=t.headers)
    assert response.status_code == 200, response.text
    mapped = {c["key"]: [s["uri"] for s in c["skills"]] for c in response.json()["courses"]}
    assert mapped["c1"][0] == STAT_TECHNIQUES
    assert CLEANSING in mapped["c2"][:3]
    assert_problem(
        client.post(
            "/api/v1/skills/map",
            json={"courses": [{"key": "a", "text": "x"}, {"key": "a", "text": "y"}]},
            headers=t.headers,
        ),
        422,
        "invalid-input",
    )
