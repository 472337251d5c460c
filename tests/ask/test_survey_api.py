"""The survey API under /api/v1: staff build and run a survey; the public answers it."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microcred.app import create_app
from microcred.kit.settings import Settings
from tests import factories
from tests.ask.test_surveys import offline_companion
from tests.credentials.test_api import assert_problem

__all__ = ["offline_companion"]  # the autouse fixture: companions from a stand-in


def published(client: TestClient, t: factories.Tenant, **settings: Any) -> dict[str, Any]:
    """A published survey with a free-text question (approved companion) and a choice."""
    body = {"title": "Micro-credentials and you", "personas": ["learner", "employer"], **settings}
    created = client.post("/api/v1/surveys", json=body, headers=t.headers)
    assert created.status_code == 201, created.text
    sid = created.json()["id"]
    free = client.post(
        f"/api/v1/surveys/{sid}/questions",
        json={"kind": "free_text", "prompt": "What would you learn?"},
        headers=t.headers,
    ).json()
    choice = client.post(
        f"/api/v1/surveys/{sid}/questions",
        json={"kind": "single_choice", "prompt": "Would you pay?", "options": ["Yes", "No"]},
        headers=t.headers,
    ).json()
    base = f"/api/v1/surveys/{sid}/questions/{free['id']}/companion"
    assert client.post(base, headers=t.headers).json()["companion_status"] == "draft"
    edited = client.put(base, json={"text": "Short, assessed units [1]."}, headers=t.headers)
    assert edited.json()["companion_model"] == "staff"
    assert client.post(base + "/approve", headers=t.headers).status_code == 200
    out = client.post(f"/api/v1/surveys/{sid}/publish", headers=t.headers)
    assert out.status_code == 200, out.text
    survey: dict[str, Any] = out.json()
    assert survey["public_url"].endswith("/s/" + survey["slug"])
    return {**survey, "free": free["id"], "choice": choice["id"]}


def test_staff_build_and_the_public_answers(client: TestClient, db: Session) -> None:
    t = factories.tenant(db)
    db.commit()
    s = published(client, t)
    public = client.get(f"/api/v1/public/surveys/{s['slug']}")
    assert public.status_code == 200
    assert public.json()["retention_days"] == 365 and "anonymous" in public.json()["anonymity"]
    assert all(q["companion"] is None for q in public.json()["questions"])  # not yet started
    started = client.post(
        f"/api/v1/public/surveys/{s['slug']}/responses", json={"persona": "employer"}
    )
    assert started.status_code == 201 and started.headers["cache-control"] == "no-store"
    body = started.json()
    assert (body["arm"], body["companion_display"]) == ("shown", "after")
    companion = body["questions"][0]["companion"]
    assert companion["heading"] == "Here's what AI says" and companion["citations"]
    answers = {s["free"]: "Verification", s["choice"]: "No"}
    submit = f"/api/v1/public/surveys/{s['slug']}/responses/submit"
    done = client.post(submit, json={"token": body["token"], "answers": answers})
    assert done.status_code == 200 and done.json()["answers"] == 2
    again = assert_problem(
        client.post(submit, json={"token": body["token"], "answers": answers}),
        409,
        "already-submitted",
    )
    assert "already" in again["detail"]
    listed = client.get("/api/v1/surveys", headers=t.headers).json()
    assert listed[0]["started"] == 1 and listed[0]["submitted"] == 1
    assert client.get(f"/api/v1/surveys/{s['id']}", headers=t.headers).status_code == 200


def test_bad_input_gets_problem_details(client: TestClient, db: Session) -> None:
    t = factories.tenant(db)
    other = factories.tenant(db)
    db.commit()
    assert_problem(client.post("/api/v1/surveys", json={}, headers=t.headers), 422, "invalid-input")
    assert_problem(
        client.post(
            "/api/v1/surveys", json={"title": "x", "retention_days": "a year"}, headers=t.headers
        ),
        422,
        "invalid-input",
    )
    assert_problem(
        client.post(
            "/api/v1/surveys",
            content=b"{not json",
            headers={**t.headers, "content-type": "application/json"},
        ),
        422,
        "invalid-input",
    )
    assert_problem(
        client.get("/api/v1/surveys/not-a-uuid", headers=t.headers), 422, "invalid-input"
    )
    assert_problem(client.post("/api/v1/surveys", json={"title": "x"}), 401, "not-authenticated")
    s = published(client, t)
    assert_problem(
        client.get(f"/api/v1/surveys/{s['id']}", headers=other.headers), 404, "not-found"
    )
    assert_problem(
        client.post(
            f"/api/v1/surveys/{s['id']}/questions",
            json={"kind": "free_text", "prompt": "Late"},
            headers=t.headers,
        ),
        409,
        "conflict",
    )
    base = f"/api/v1/public/surveys/{s['slug']}/responses"
    unknown = assert_problem(client.post(base, json={"persona": "alien"}), 422, "invalid-input")
    assert (
        unknown["allowed"] == ["learner", "employer"] and "learner, employer" in unknown["detail"]
    )
    assert_problem(client.post(base, json={"persona": 3}), 422, "invalid-input")
    assert_problem(client.post(base, json={}), 422, "invalid-input")
    token = client.post(base, json={"persona": "learner"}).json()["token"]
    huge = {s["free"]: "x" * 6000, s["choice"]: "Yes"}
    refused = assert_problem(
        client.post(base + "/submit", json={"token": token, "answers": huge}), 422, "invalid-input"
    )
    assert refused["errors"][0]["question_id"] == s["free"]
    wrong = {s["free"]: ["a"], s["choice"]: 1.5}
    assert_problem(
        client.post(base + "/submit", json={"token": token, "answers": wrong}), 422, "invalid-input"
    )
    assert_problem(
        client.post(base + "/submit", json={"token": token, "answers": {"nope": "x"}}),
        422,
        "invalid-input",
    )
    assert_problem(
        client.post(base + "/submit", json={"token": "guess", "answers": {}}), 404, "not-found"
    )
    # A draft is unknown to the public; a closed survey says it is closed.
    draft = client.post("/api/v1/surveys", json={"title": "Draft"}, headers=t.headers).json()
    assert_problem(client.get(f"/api/v1/public/surveys/{draft['slug']}"), 404, "not-found")
    assert client.post(f"/api/v1/surveys/{s['id']}/close", headers=t.headers).status_code == 200
    closed = assert_problem(client.get(f"/api/v1/public/surveys/{s['slug']}"), 410, "survey-closed")
    assert "closed" in closed["detail"]
    assert_problem(
        client.post(base + "/submit", json={"token": token, "answers": {}}), 410, "survey-closed"
    )


def test_publishing_refuses_draft_companions(client: TestClient, db: Session) -> None:
    t = factories.tenant(db)
    db.commit()
    sid = client.post("/api/v1/surveys", json={"title": "S"}, headers=t.headers).json()["id"]
    assert_problem(
        client.post(f"/api/v1/surveys/{sid}/publish", headers=t.headers), 409, "conflict"
    )
    q = client.post(
        f"/api/v1/surveys/{sid}/questions",
        json={"kind": "scale", "prompt": "Useful?", "options": ["No", "Very"]},
        headers=t.headers,
    ).json()
    client.post(f"/api/v1/surveys/{sid}/questions/{q['id']}/companion", headers=t.headers)
    refused = assert_problem(
        client.post(f"/api/v1/surveys/{sid}/publish", headers=t.headers), 409, "conflict"
    )
    assert refused["questions"] == [q["id"]] and "question 1" in refused["detail"]
    patched = client.patch(
        f"/api/v1/surveys/{sid}/questions/{q['id']}",
        json={"prompt": "How useful?"},
        headers=t.headers,
    )
    assert patched.json()["companion_status"] == "none"  # it answered another question
    assert (
        client.patch(
            f"/api/v1/surveys/{sid}", json={"retention_days": 30}, headers=t.headers
        ).json()["retention_days"]
        == 30
    )
    assert (
        client.delete(f"/api/v1/surveys/{sid}/questions/{q['id']}", headers=t.headers).status_code
        == 204
    )


def test_public_routes_are_rate_limited(
    client: TestClient,
    db: Session,
    settings: Settings,
    session_factory: sessionmaker[Session],
) -> None:
    t = factories.tenant(db)
    db.commit()
    s = published(client, t)
    # The shared per-client limiter (kit.web.ratelimit) guards survey links like other public
    # routes; an app with a limit of one request a minute shows it.
    strict = create_app(
        settings.model_copy(update={"public_rate_limit_per_minute": 1}),
        session_factory=session_factory,
    )
    with TestClient(strict) as limited_client:
        codes = [
            limited_client.get(f"/api/v1/public/surveys/{s['slug']}").status_code for _ in range(12)
        ]
        assert codes[0] == 200 and codes[-1] == 429
        limited = limited_client.get(f"/s/{s['slug']}")
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
