from __future__ import annotations

import json
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from microcred.credentials import baking, records
from microcred.kit.principal import Principal
from tests import factories

PROBLEM = "application/problem+json"


def assert_problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"].endswith("/" + slug)
    assert body["title"] and body["detail"]
    return body


def setup_issue(db: Session) -> tuple[factories.Tenant, dict[str, str]]:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    learner = factories.learner(db, t)
    db.commit()
    return t, {"achievement_id": str(achievement.id), "learner_id": str(learner.id)}


def share_publicly(db: Session, award: dict[str, Any], institution_id: uuid.UUID) -> None:
    """What the learner does on their record page: public pages are the learner's choice."""
    learner = Principal(
        kind="learner",
        id=uuid.UUID(award["learner_id"]),
        institution_id=institution_id,
        roles=frozenset(),
        label="learner",
    )
    records.set_visibility(
        db,
        actor=learner,
        award_id=uuid.UUID(award["id"]),
        public=True,
        show_results=True,
        show_evidence=True,
        show_activity=True,
    )
    db.commit()


def test_issue_fetch_and_negotiate(client: TestClient, db: Session) -> None:
    t, body = setup_issue(db)
    response = client.post(
        "/api/v1/awards",
        json={**body, "results": [{"key": "score", "value": "77"}]},
        headers=t.headers,
    )
    assert response.status_code == 201, response.text
    award = response.json()
    credential_url = award["credential"]["id"]
    assert response.headers["location"] == credential_url
    path = credential_url.removeprefix("https://microcred.test")
    assert client.get(path, headers={"Accept": "application/vc+ld+json"}).status_code == 404
    share_publicly(db, award, t.id)
    as_json = client.get(path, headers={"Accept": "application/vc+ld+json"})
    assert as_json.headers["content-type"].startswith("application/vc+ld+json")
    assert as_json.json() == award["credential"]
    assert client.get(path, headers={"Accept": "application/json"}).json()["id"] == credential_url
    page = client.get(path, headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html") and "VALID" in page.text
    status_url = award["credential"]["credentialStatus"]["statusListCredential"]
    status = client.get(status_url.removeprefix("https://microcred.test"))
    assert status.status_code == 200 and status.json()["type"][1] == "BitstringStatusListCredential"
    etag = status.headers["etag"]
    assert (
        client.get(
            status_url.removeprefix("https://microcred.test"), headers={"If-None-Match": etag}
        ).status_code
        == 304
    )
    listed = client.get("/api/v1/awards", headers=t.headers).json()
    assert listed["total"] == 1 and listed["next_offset"] is None


def test_idempotent_retry_returns_the_first_award(client: TestClient, db: Session) -> None:
    t, body = setup_issue(db)
    headers = {**t.headers, "Idempotency-Key": "retry-me"}
    first = client.post("/api/v1/awards", json=body, headers=headers)
    second = client.post("/api/v1/awards", json=body, headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]


def test_bad_input_gets_problem_details(client: TestClient, db: Session) -> None:
    t, body = setup_issue(db)
    assert_problem(
        client.post(
            "/api/v1/awards",
            content=b"{not json",
            headers={**t.headers, "content-type": "application/json"},
        ),
        422,
        "invalid-input",
    )
    wrong = assert_problem(
        client.post("/api/v1/awards", json={**body, "learner_id": 42}, headers=t.headers),
        422,
        "invalid-input",
    )
    assert wrong["errors"][0]["pointer"] == "/learner_id"
    assert_problem(
        client.post("/api/v1/awards", json={**body, "colour": "red"}, headers=t.headers),
        422,
        "invalid-input",
    )
    unknown = {**body, "achievement_id": "00000000-0000-4000-8000-000000000000"}
    assert_problem(client.post("/api/v1/awards", json=unknown, headers=t.headers), 404, "not-found")
    assert client.post("/api/v1/awards", json=body, headers=t.headers).status_code == 201
    assert_problem(client.post("/api/v1/awards", json=body, headers=t.headers), 409, "conflict")
    assert_problem(client.post("/api/v1/awards", json=body), 401, "not-authenticated")
    assert_problem(
        client.post("/api/v1/awards", json=body, headers={"Authorization": "Bearer mct_forged"}),
        401,
        "not-authenticated",
    )
    assert_problem(client.get("/api/v1/awards/not-a-uuid", headers=t.headers), 422, "invalid-input")
    assert_problem(client.get("/api/v1/nowhere"), 404, "not-found")
    assert_problem(
        client.post("/api/v1/verify", content=b"x" * 6_000_000), 413, "payload-too-large"
    )


def test_read_only_token_cannot_issue(client: TestClient, db: Session) -> None:
    t = factories.tenant(db, scopes=["read"])
    achievement, learner = factories.achievement(db, t), factories.learner(db, t)
    db.commit()
    response = client.post(
        "/api/v1/awards",
        json={"achievement_id": str(achievement.id), "learner_id": str(learner.id)},
        headers=t.headers,
    )
    assert_problem(response, 403, "forbidden")


def test_bulk_csv_reports_each_row_before_writing(client: TestClient, db: Session) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    learner = factories.learner(db, t)
    db.commit()
    csv_text = (
        "learner_email,learner_name,achievement,result:score\n"
        f"{learner.email},,{achievement.slug},91\n"
        f"new.person@example.org,New Person,{achievement.slug},65\n"
        f"bad-email,X,{achievement.slug},70\n"
    )
    headers = {**t.headers, "content-type": "text/csv"}
    refused = client.post(
        "/api/v1/awards/bulk?create_learners=true", content=csv_text, headers=headers
    )
    report = assert_problem(refused, 422, "bulk-rejected")
    assert report["written"] is False and report["errors"] == 1
    assert report["rows"][2]["status"] == "error" and "e-mail" in report["rows"][2]["error"]
    assert client.get("/api/v1/awards", headers=t.headers).json()["total"] == 0
    accepted = client.post(
        "/api/v1/awards/bulk?create_learners=true&mode=per_row", content=csv_text, headers=headers
    )
    assert accepted.status_code == 200 and accepted.json()["issued"] == 2
    assert client.get("/api/v1/awards", headers=t.headers).json()["total"] == 2
    bad_header = client.post(
        "/api/v1/awards/bulk", content="email,badge\na@b.org,x\n", headers=headers
    )
    assert_problem(bad_header, 422, "invalid-input")
    assert "missing columns" in bad_header.json()["detail"]
    as_json = client.post(
        "/api/v1/awards/bulk",
        json={"rows": [{"learner_email": learner.email, "achievement": "nope"}]},
        headers=t.headers,
    )
    assert as_json.status_code == 422 and as_json.json()["rows"][0]["status"] == "error"
    assert_problem(
        client.post(
            "/api/v1/awards/bulk",
            content=b"<xml/>",
            headers={**t.headers, "content-type": "application/xml"},
        ),
        415,
        "unsupported-media-type",
    )


def test_revoke_via_api_and_verify_endpoint(client: TestClient, db: Session) -> None:
    t, body = setup_issue(db)
    award = client.post("/api/v1/awards", json=body, headers=t.headers).json()
    credential = award["credential"]
    valid = client.post("/api/v1/verify", json=credential).json()
    assert valid["verdict"] == "VALID", valid
    png = baking.bake_png(baking.default_badge_png(size=64, label="x"), json.dumps(credential))
    baked = client.post("/api/v1/verify", content=png, headers={"content-type": "image/png"})
    assert baked.json()["verdict"] == "VALID" and baked.json()["format"] == "png"
    share_publicly(db, award, t.id)
    served = client.get(credential["id"].removeprefix("https://microcred.test") + "/badge.svg")
    assert client.post("/api/v1/verify", content=served.content).json()["format"] == "svg"
    revoked = client.post(
        f"/api/v1/awards/{award['id']}/revoke", json={"reason": "cheating"}, headers=t.headers
    )
    assert revoked.json()["state"] == "revoked"
    verdict = client.post("/api/v1/verify", json=credential).json()
    assert verdict["verdict"] == "INVALID" and "revoked" in verdict["reason"]
    history = client.get(f"/api/v1/awards/{award['id']}/history", headers=t.headers).json()
    assert [h["action"] for h in history] == ["award.issue", "record.visibility", "award.revoke"]
    assert history[2]["reason"] == "cheating"
    tampered = json.loads(json.dumps(credential))
    tampered["name"] = "Something else"
    assert client.post("/api/v1/verify", json=tampered).json()["verdict"] == "INVALID"
    garbage = client.post("/api/v1/verify", content=b"hello").json()
    assert garbage["verdict"] == "INVALID" and garbage["checks"][0]["name"] == "format"


def test_did_document_and_openapi(client: TestClient, db: Session) -> None:
    t = factories.tenant(db, did_method="web")
    achievement, learner = factories.achievement(db, t), factories.learner(db, t)
    db.commit()
    award = client.post(
        "/api/v1/awards",
        json={"achievement_id": str(achievement.id), "learner_id": str(learner.id)},
        headers=t.headers,
    ).json()
    did = award["credential"]["issuer"]["id"]
    assert did == f"did:web:microcred.test:institutions:{t.institution.slug}"
    document = client.get(f"/institutions/{t.institution.slug}/did.json").json()
    assert document["id"] == did
    assert award["credential"]["proof"]["verificationMethod"] in document["assertionMethod"]
    rotated = client.post("/api/v1/keys/rotate", headers=t.headers)
    assert rotated.status_code == 201
    document = client.get(f"/institutions/{t.institution.slug}/did.json").json()
    assert len(document["verificationMethod"]) == 2
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/awards/bulk" in schema["paths"] and "/api/v1/verify" in schema["paths"]
    public = client.get(f"/achievements/{achievement.id}").json()
    assert public["achievementType"] == "MicroCredential"


def test_sign_in_page_sets_a_session_cookie(client: TestClient, db: Session) -> None:
    t = factories.tenant(db)
    learner = factories.learner(db, t, password=factories.PASSWORD)
    db.commit()
    form = client.get("/sign-in")
    token = form.cookies.get("microcred_csrf") or client.cookies.get("microcred_csrf")
    assert token and "content-security-policy" in form.headers
    refused = client.post(
        "/sign-in",
        data={
            "institution": t.institution.slug,
            "email": learner.email,
            "password": "wrong-pass",
            "csrf_token": token,
        },
    )
    assert refused.status_code == 401
    ok = client.post(
        "/sign-in",
        data={
            "institution": t.institution.slug,
            "email": learner.email,
            "password": factories.PASSWORD,
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303 and "microcred_session" in ok.cookies
    home = client.get("/")
    assert learner.display_name in home.text
    forged = client.post("/sign-out", data={"csrf_token": "forged"})
    assert forged.status_code == 401


def test_nul_characters_are_refused_alike_on_both_databases(
    client: TestClient, db: Session
) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    db.commit()
    body = assert_problem(
        client.post(
            "/api/v1/learners",
            json={"email": "a@example.org", "display_name": "Ada\u0000"},
            headers=t.headers,
        ),
        422,
        "invalid-input",
    )
    assert "NUL" in body["detail"]
    csv_text = f"learner_email,learner_name,achievement\nx@example.org,Ze\x00d,{achievement.slug}\n"
    report = client.post(
        "/api/v1/awards/bulk?create_learners=true",
        content=csv_text,
        headers={**t.headers, "content-type": "text/csv"},
    ).json()
    assert report["rows"][0]["error"] == "a cell contains control characters"
    assert client.get("/sign-in").status_code == 200
