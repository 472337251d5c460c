"""The learner's test in pages: sign in, start, one item per page, result and credential."""

from __future__ import annotations

import re
import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from microcred.assessment import items, service
from tests import factories
from tests.assessment.test_adaptive_flow import setup_bank


def field(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]+)"', html)
    assert match, f"no {name} in the page"
    return match.group(1)


def test_a_learner_takes_the_test_in_pages(client: TestClient, db: Session) -> None:
    t, achievement_id = setup_bank(db)
    learner = factories.learner(db, t, password=factories.PASSWORD)
    db.commit()
    assert client.get(f"/assessments/{achievement_id}", follow_redirects=False).status_code == 303
    form = client.get("/sign-in")
    client.post(
        "/sign-in",
        data={
            "institution": t.institution.slug,
            "email": learner.email,
            "password": factories.PASSWORD,
            "csrf_token": field(form.text, "csrf_token"),
        },
    )
    overview = client.get(f"/assessments/{achievement_id}")
    assert "Attempts used: 0 of 2" in overview.text
    started = client.post(
        f"/assessments/{achievement_id}/start",
        data={"csrf_token": field(overview.text, "csrf_token")},
        follow_redirects=False,
    )
    assert started.status_code == 303
    page_url = started.headers["location"]
    attempt_id = uuid.UUID(page_url.rsplit("/", 1)[1])
    for _ in range(20):
        page = client.get(page_url)
        if "Question" not in page.text:
            break
        item_id = field(page.text, "item_id")
        attempt = service.repo.attempt(db, institution_id=t.id, attempt_id=attempt_id)
        assert attempt is not None
        db.refresh(attempt)
        item = service.get_item(db, institution_id=t.id, item_id=uuid.UUID(item_id))
        shown = items.instantiate(
            service.loaded(item), seed=items.instance_seed(attempt.seed, item_id)
        )
        assert shown.stem in page.text  # the learner's own numbers
        value = items.Formula.parse(item.definition["formula"]).evaluate(
            {k: float(v) for k, v in shown.values.items()}
        )
        stale = client.post(
            f"{page_url}/answer",
            data={
                "csrf_token": field(page.text, "csrf_token"),
                "item_id": item_id,
                "version": int(field(page.text, "version")) + 5,
                "answer": str(value),
            },
        )
        assert stale.status_code == 409 and "out of date" in stale.text
        answered = client.post(
            f"{page_url}/answer",
            data={
                "csrf_token": field(page.text, "csrf_token"),
                "item_id": item_id,
                "version": field(page.text, "version"),
                "answer": str(value),
            },
            follow_redirects=False,
        )
        assert answered.status_code == 303
    result = client.get(page_url)
    assert "Passed." in result.text and "By skill" in result.text
    assert "Your credential" in result.text
    assert "Python (computer programming)" in result.text
