"""The ask API and pages: the public question box, achievement scope, staff sources and the
answer log, with problem details for everything a client can get wrong."""

from __future__ import annotations

import re
import uuid
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from microcred.ask import service
from microcred.kit.settings import Settings
from tests import factories
from tests.assessment.test_console import sign_in
from tests.assessment.test_pages import field
from tests.credentials.test_api import assert_problem
from tests.credentials.test_console_pages import signed_in

POLICY = b"# Refunds\n\nLearners who cancel within 14 days of enrolling get a full refund.\n"


def kb(db: Session, settings: Settings) -> tuple[factories.Tenant, uuid.UUID]:
    t = factories.tenant(db)
    course = factories.achievement(db, t, name="Data Cleaning", cost=Decimal("120"), currency="EUR")
    service.ensure_knowledge_base(db, actor=t.admin, institution_id=t.id, settings=settings)
    service.index_pending(db, institution_id=t.id, settings=settings)
    db.commit()
    return t, course.id


def test_the_public_api_answers_with_citations(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t, course = kb(db, settings)
    body = {"question": "How much does Data Cleaning cost?", "institution": t.institution.slug}
    answer = client.post("/api/v1/ask", json={**body, "persona": "learner"})
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert not data["abstained"] and "120.00 EUR" in data["text"]
    assert data["citations"][0]["quote"] and data["model"] == "extractive"
    scoped = client.post(
        "/api/v1/ask", json={"question": "How much does it cost?", "achievement_id": str(course)}
    )
    assert scoped.status_code == 200 and scoped.json()["scope_title"] == "Data Cleaning"


def test_bad_questions_get_problem_details(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t, _ = kb(db, settings)
    slug = t.institution.slug
    for body in (
        {},
        {"question": "", "institution": slug},
        {"question": "x" * 2001, "institution": slug},
        {"question": "What?", "persona": "ceo", "institution": slug},
        {"question": "What?", "institution": slug, "extra": 1},
        {"question": 42, "institution": slug},
        {"question": "What?", "achievement_id": "not-a-uuid"},
    ):
        assert_problem(client.post("/api/v1/ask", json=body), 422, "invalid-input")
    unknown = client.post(
        "/api/v1/ask", json={"question": "What?", "achievement_id": str(uuid.uuid4())}
    )
    assert unknown.status_code == 422
    missing = client.post("/api/v1/ask", json={"question": "What?", "institution": "nobody"})
    assert missing.status_code == 404
    garbage = client.post(
        "/api/v1/ask", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert garbage.status_code == 422


def test_staff_manage_sources_and_review_answers_over_the_api(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t, _ = kb(db, settings)
    listed = client.get("/api/v1/knowledge/sources", headers=t.headers)
    assert listed.status_code == 200 and {s["kind"] for s in listed.json()} == {
        "starter",
        "catalogue",
    }
    uploaded = client.post(
        "/api/v1/knowledge/sources",
        files={"file": ("refunds.md", POLICY, "text/markdown")},
        headers=t.headers,
    )
    assert uploaded.status_code == 202 and uploaded.json()["state"] == "pending"
    refused = client.post(
        "/api/v1/knowledge/sources",
        files={"file": ("tool.exe", b"MZ\x90", "application/x-msdownload")},
        headers=t.headers,
    )
    assert refused.status_code == 415
    source_id = uploaded.json()["id"]
    assert (
        client.post(f"/api/v1/knowledge/sources/{source_id}/reindex", headers=t.headers).status_code
        == 202
    )
    removed = client.patch(
        f"/api/v1/knowledge/sources/{source_id}", json={"active": False}, headers=t.headers
    )
    assert removed.status_code == 200 and removed.json()["active"] is False
    assert (
        client.get(f"/api/v1/knowledge/sources/{uuid.uuid4()}", headers=t.headers).status_code
        == 404
    )
    asked = client.post(
        "/api/v1/ask", json={"question": "Who owns a badge?", "institution": t.institution.slug}
    ).json()
    log = client.get("/api/v1/ask/answers", headers=t.headers).json()
    assert log["total"] == 1 and log["items"][0]["id"] == asked["id"]
    pinned = client.patch(
        f"/api/v1/ask/answers/{asked['id']}",
        json={"pinned": True, "note": "checked"},
        headers=t.headers,
    )
    assert pinned.status_code == 200 and pinned.json()["pinned"] is True
    assert (
        client.patch(f"/api/v1/ask/answers/{asked['id']}", json={}, headers=t.headers).status_code
        == 422
    )
    assert client.get("/api/v1/ask/answers").status_code == 401


def test_the_ask_page_answers_links_citations_and_abstains(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t, course = kb(db, settings)
    slug = t.institution.slug
    empty = client.get(f"/ask?institution={slug}")
    assert empty.status_code == 200 and "Common questions" in empty.text
    page = client.get(
        "/ask", params={"q": "How much does Data Cleaning cost?", "institution": slug}
    )
    assert page.status_code == 200
    assert "120.00 EUR" in page.text and 'href="#cite-1"' in page.text
    assert 'id="cite-1"' in page.text and "Why this answer?" in page.text
    off = client.get("/ask", params={"q": "What is the capital of Peru?", "institution": slug})
    assert "No grounded answer" in off.text
    scoped = client.get("/ask", params={"q": "How long does it take?", "achievement": str(course)})
    assert "Answers about <strong>Data Cleaning</strong>" in scoped.text
    bad = client.get("/ask", params={"q": "Hi?", "persona": "ceo", "institution": slug})
    assert bad.status_code == 422 and "Choose who is asking" in bad.text
    broken = client.get("/ask", params={"q": "Hi?", "achievement": "nope"})
    assert broken.status_code == 422


def test_staff_upload_documents_and_pin_answers_in_the_console(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t, _ = kb(db, settings)
    assert client.get("/console/knowledge", follow_redirects=False).status_code == 303
    signed_in(client, db, t, "issuer")
    page = client.get("/console/knowledge")
    assert page.status_code == 200 and "Knowledge base" in page.text
    token = field(page.text, "csrf_token")
    uploaded = client.post(
        "/console/knowledge",
        data={"csrf_token": token, "title": "Refund policy"},
        files={"file": ("refunds.md", POLICY, "text/markdown")},
        follow_redirects=False,
    )
    assert uploaded.status_code == 303
    listed = client.get("/console/knowledge")
    assert "Refund policy" in listed.text and "waiting" in listed.text
    refused = client.post(
        "/console/knowledge",
        data={"csrf_token": token},
        files={"file": ("scan.pdf", b"%PDF-1.4 broken", "application/pdf")},
    )
    assert refused.status_code == 422 and "Nothing was stored" in refused.text
    asked = client.get("/ask", params={"q": "Who owns a micro-credential?"})
    answer_id = re.findall(r"/console/answers/([0-9a-f-]{36})", client.get("/console/answers").text)
    assert asked.status_code == 200 and answer_id
    detail = client.get(f"/console/answers/{answer_id[0]}")
    assert detail.status_code == 200 and "Save review" in detail.text
    saved = client.post(
        f"/console/answers/{answer_id[0]}",
        data={
            "csrf_token": field(detail.text, "csrf_token"),
            "text": "The learner owns it. [1]",
            "pinned": "yes",
            "note": "shorter",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    again = client.get("/ask", params={"q": "who owns a micro-credential"})
    assert "The learner owns it." in again.text and "corrected by a person" in again.text


def test_learners_cannot_open_the_knowledge_console(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t, _ = kb(db, settings)
    learner = factories.learner(db, t, password=factories.PASSWORD)
    db.commit()
    sign_in(client, t, learner.email)
    assert client.get("/console/knowledge").status_code == 403
    assert client.get("/console/answers").status_code == 403


def test_achievement_pages_carry_the_scoped_ask_box(
    client: TestClient, db: Session, settings: Settings
) -> None:
    _, course = kb(db, settings)
    page = client.get(f"/achievements/{course}", headers={"accept": "text/html"})
    assert page.status_code == 200 and "Questions about Data Cleaning?" in page.text
    assert f'name="achievement" value="{course}"' in page.text
    assert "120.00 EUR" in page.text
    document = client.get(f"/achievements/{course}")
    assert document.headers["content-type"].startswith("application/json")
    assert document.json()["name"] == "Data Cleaning"
