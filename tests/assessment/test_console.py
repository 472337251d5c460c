"""The staff console's assessment pages: the item bank (author, retire, export, import) and the
assessor's review queue (projects and flags), driven through the HTTP forms."""

from __future__ import annotations

import json
import re
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from microcred.assessment import service
from microcred.identity import service as identity
from microcred.kit.principal import SYSTEM
from tests import factories
from tests.assessment.test_adaptive_flow import as_learner, setup_bank
from tests.assessment.test_pages import field
from tests.assessment.test_projects_service import brief_for, submit


def sign_in(client: TestClient, t: factories.Tenant, email: str) -> None:
    form = client.get("/sign-in")
    signed = client.post(
        "/sign-in",
        data={
            "institution": t.institution.slug,
            "email": email,
            "password": factories.PASSWORD,
            "csrf_token": field(form.text, "csrf_token"),
        },
        follow_redirects=False,
    )
    assert signed.status_code == 303


def assessor(db: Session, t: factories.Tenant) -> str:
    email = f"assessor-{uuid.uuid4().hex[:6]}@example.edu"
    identity.create_staff_member(
        db,
        actor=SYSTEM,
        institution_id=t.id,
        email=email,
        display_name="Assessor",
        roles=["assessor"],
        password=factories.PASSWORD,
    )
    return email


def test_staff_author_retire_export_and_import_items(client: TestClient, db: Session) -> None:
    t, achievement_id = setup_bank(db)
    other = factories.achievement(db, t)
    email = assessor(db, t)
    db.commit()
    assert (
        client.get(f"/console/assessments/{achievement_id}", follow_redirects=False).status_code
        == 303
    )
    sign_in(client, t, email)
    page = client.get(f"/console/assessments/{achievement_id}")
    assert page.status_code == 200 and "Items (24 active)" in page.text
    token = field(page.text, "csrf_token")
    added = client.post(
        f"/console/assessments/{achievement_id}/items",
        data={
            "csrf_token": token,
            "kind": "single_choice",
            "skill_url": factories.SQL_SKILL,
            "stem": "Which clause filters groups after aggregation?",
            "choice_text": ["WHERE", "HAVING", "ORDER BY", "", "", ""],
            "correct": ["1"],
            "author_difficulty": "2",
        },
        follow_redirects=False,
    )
    assert added.status_code == 303, added.text
    bank = service.bank_page(db, actor=t.admin, institution_id=t.id, achievement_id=achievement_id)
    new = [it for it in bank.items if it.kind == "single_choice"]
    assert len(new) == 1 and new[0].definition["key"] == ["b"] and new[0].author_difficulty == 2
    assert len(new[0].definition["choices"]) == 3  # empty choice boxes are not choices

    refused = client.post(
        f"/console/assessments/{achievement_id}/items",
        data={
            "csrf_token": token,
            "kind": "numeric",
            "skill_url": factories.PYTHON_SKILL,
            "stem": "What is {x} squared?",
            "formula": "x ** ",
            "variables": "x 1 9 1",
            "tolerance": "0",
        },
    )
    assert refused.status_code == 422
    assert "the formula does not parse" in refused.text or "tolerance" in refused.text
    assert "What is {x} squared?" in refused.text  # what was typed is kept
    assert (
        len(
            service.bank_page(
                db, actor=t.admin, institution_id=t.id, achievement_id=achievement_id
            ).items
        )
        == 25
    )

    retired = client.post(
        f"/console/items/{new[0].id}/retire", data={"csrf_token": token}, follow_redirects=False
    )
    assert retired.status_code == 303
    db.expire_all()
    assert service.get_item(db, institution_id=t.id, item_id=new[0].id).state == "retired"

    exported = client.get(f"/console/assessments/{achievement_id}/items.json")
    assert exported.status_code == 200 and "attachment" in exported.headers["content-disposition"]
    body = exported.json()
    assert body["format"] == "microcred-items/1" and len(body["items"]) == 24

    broken = json.loads(exported.text)
    broken["items"][3]["formula"] = "y + 1"  # undefined variable
    broken["items"][5]["skill_url"] = "http://data.europa.eu/esco/skill/not-aligned"
    refused = client.post(
        f"/console/assessments/{other.id}/import",
        data={"csrf_token": token},
        files={"file": ("bank.json", json.dumps(broken), "application/json")},
    )
    assert refused.status_code == 422
    assert "Item 4:" in refused.text and "Item 6:" in refused.text
    assert (
        service.bank_page(db, actor=t.admin, institution_id=t.id, achievement_id=other.id).items
        == []
    )

    imported = client.post(
        f"/console/assessments/{other.id}/import",
        data={"csrf_token": token},
        files={"file": ("bank.json", exported.text, "application/json")},
        follow_redirects=False,
    )
    assert imported.status_code == 303 and "24+items+imported" in imported.headers["location"]
    copied = service.bank_page(
        db, actor=t.admin, institution_id=t.id, achievement_id=other.id
    ).items
    assert sorted(it.definition["stem"] for it in copied) == sorted(
        i["stem"] for i in body["items"]
    )
    assert not any(it.calibrated for it in copied)  # another bank's scale is not assumed

    not_json = client.post(
        f"/console/assessments/{other.id}/import",
        data={"csrf_token": token},
        files={"file": ("bank.json", b"\x00not json", "application/json")},
    )
    assert not_json.status_code == 422 and "not a microcred-items/1 bank" in not_json.text


def test_the_import_api_refuses_a_bank_with_any_bad_item(client: TestClient, db: Session) -> None:
    t, achievement_id = setup_bank(db)
    other = factories.achievement(db, t)
    db.commit()
    export = f"/api/v1/achievements/{achievement_id}/items/export"
    body = client.get(export, headers=t.headers).json()
    body["items"][0]["tolerance"] = "0"
    refused = client.post(
        f"/api/v1/achievements/{other.id}/items/import",
        headers=t.headers,
        json={"items": body["items"]},
    )
    assert refused.status_code == 422
    problem = refused.json()
    assert problem["errors"] == [
        {
            "index": 0,
            "detail": "the item cannot be used: a numeric item needs a tolerance greater than zero",
        }
    ]
    body["items"][0]["tolerance"] = "0.001"
    created = client.post(
        f"/api/v1/achievements/{other.id}/items/import",
        headers=t.headers,
        json={"items": body["items"], "keep_calibration": False},
    )
    assert created.status_code == 201 and len(created.json()) == 24


def test_assessors_review_projects_in_the_console(client: TestClient, db: Session) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    brief_for(db, t, achievement.id)
    learner = as_learner(db, t)
    submission_id = submit(db, learner, achievement.id)
    email = assessor(db, t)
    db.commit()
    sign_in(client, t, email)
    queue = client.get("/console/review")
    assert (
        queue.status_code == 200
        and "Bike trips" in queue.text
        and "Projects waiting (1)" in queue.text
    )
    token = field(queue.text, "csrf_token")
    incomplete = client.post(
        f"/console/submissions/{submission_id}/review",
        data={"csrf_token": token, "level_question": "2", "feedback": "Good."},
    )
    assert incomplete.status_code == 422 and "missing: analysis" in incomplete.text
    done = client.post(
        f"/console/submissions/{submission_id}/review",
        data={
            "csrf_token": token,
            "level_question": "2",
            "level_analysis": "1",
            "feedback": "Good.",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and "Project+accepted" in done.headers["location"]
    found = service.get_submission(db, institution_id=t.id, submission_id=submission_id)
    db.refresh(found)
    assert found.state == "accepted" and found.award_id is not None
    assert "No project is waiting" in client.get("/console/review").text


@pytest.mark.parametrize("path", ["/console/review", "/console/assessments/{a}"])
def test_learners_cannot_open_the_console(client: TestClient, db: Session, path: str) -> None:
    t, achievement_id = setup_bank(db)
    learner = factories.learner(db, t, password=factories.PASSWORD)
    db.commit()
    sign_in(client, t, learner.email)
    assert client.get(path.format(a=achievement_id)).status_code == 403


def test_a_learner_submits_a_project_in_the_page(client: TestClient, db: Session) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    brief_for(db, t, achievement.id)
    learner = factories.learner(db, t, password=factories.PASSWORD)
    db.commit()
    sign_in(client, t, learner.email)
    page = client.get(f"/assessments/{achievement.id}/project")
    assert page.status_code == 200 and "Analyse an open dataset" in page.text
    token = field(page.text, "csrf_token")
    short = client.post(
        f"/assessments/{achievement.id}/project",
        data={"csrf_token": token, "title": "Mine", "report": "too short", "links": "not a url"},
    )
    assert short.status_code == 422 and "too short" in short.text  # kept in the form
    assert re.search(r"report: String should have at least 20 characters", short.text)
    sent = client.post(
        f"/assessments/{achievement.id}/project",
        data={
            "csrf_token": token,
            "title": "Mine",
            "report": "A long enough report about what I analysed and why it matters.",
            "links": "https://example.org/notebook\n",
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303
    after = client.get(f"/assessments/{achievement.id}/project")
    assert "waiting for review" in after.text and "Submit for review" not in after.text
