"""Survey pages driven through their forms as a browser without JavaScript would."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from microcred.ask import surveys
from microcred.ask.models import Survey
from microcred.kit.settings import Settings
from tests import factories
from tests.ask.test_surveys import built, offline_companion
from tests.assessment.test_pages import field
from tests.credentials.test_console_pages import signed_in

__all__ = ["offline_companion"]  # the autouse fixture: companions from a stand-in
HTML = {"accept": "text/html"}


def csrf(client: TestClient, url: str) -> str:
    return field(client.get(url, headers=HTML).text, "csrf_token")


def test_console_pages_for_staff_only(client: TestClient, db: Session) -> None:
    t = factories.tenant(db)
    db.commit()
    assert client.get("/console/surveys", follow_redirects=False).status_code == 303
    learner = factories.learner(db, t, password=factories.PASSWORD)
    db.commit()
    signed_in(client, db, t, "issuer")
    page = client.get("/console/surveys", headers=HTML)
    assert page.status_code == 200 and 'aria-current="page">Surveys' in page.text
    token = field(page.text, "csrf_token")
    refused = client.post(
        "/console/surveys",
        data={
            "csrf_token": token,
            "title": "  ",
            "personas": "learner",
            "companion_display": "after",
            "retention_days": "30",
        },
        headers=HTML,
    )
    assert refused.status_code == 422 and "The title is empty" in refused.text
    assert 'value="30"' in refused.text  # the input is kept
    created = client.post(
        "/console/surveys",
        data={
            "csrf_token": token,
            "title": "Our offer",
            "personas": ["learner", "employer"],
            "companion_display": "before",
            "retention_days": "90",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    edit_url = created.headers["location"].split("?")[0]
    survey_id = uuid.UUID(edit_url.rsplit("/", 1)[1])
    bad = client.post(
        edit_url,
        data={
            "csrf_token": token,
            "action": "add",
            "kind": "single_choice",
            "prompt": "Pick",
            "options": "Only one",
        },
        headers=HTML,
    )
    assert bad.status_code == 422 and "2 to 12" in bad.text and "Only one" in bad.text
    added = client.post(
        edit_url,
        data={
            "csrf_token": token,
            "action": "add",
            "kind": "free_text",
            "prompt": "What do you expect?",
            "required": "on",
        },
    )
    assert added.status_code == 200 and "What do you expect?" in added.text
    survey = db.get(Survey, survey_id)
    assert survey is not None
    db.refresh(survey)
    qid = survey.questions[0].id
    q_url = f"{edit_url}/questions/{qid}"
    generated = client.post(q_url, data={"csrf_token": token, "action": "generate"})
    assert "draft: not shown until approved" in generated.text
    refused_publish = client.post(edit_url, data={"csrf_token": token, "action": "publish"})
    assert refused_publish.status_code == 409 and "question 1" in refused_publish.text
    client.post(q_url, data={"csrf_token": token, "action": "approve"})
    published = client.post(edit_url, data={"csrf_token": token, "action": "publish"})
    assert "The survey is published" in published.text and f"/s/{survey.slug}" in published.text
    # Someone without the page's cookie cannot post its forms.
    client.cookies.clear()
    signed_in(client, db, t, "issuer")
    forged = client.post(edit_url, data={"csrf_token": "forged", "action": "close"}, headers=HTML)
    assert forged.status_code == 401
    # A learner is not staff.
    client.cookies.clear()
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
    assert client.get("/console/surveys", headers=HTML).status_code == 403


def start(client: TestClient, survey: Survey, persona: str = "learner") -> str:
    token = csrf(client, f"/s/{survey.slug}")
    page = client.post(f"/s/{survey.slug}", data={"csrf_token": token, "persona": persona})
    assert page.status_code == 200, page.text
    return page.text


def test_a_respondent_answers_end_to_end(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t = factories.tenant(db)
    survey, ids = built(db, t, settings, retention_days=90)
    db.commit()
    intro = client.get(f"/s/{survey.slug}", headers=HTML)
    assert intro.status_code == 200 and "anonymous" in intro.text and "90 days" in intro.text
    assert intro.headers["cache-control"] == "no-store"
    token = field(intro.text, "csrf_token")
    no_persona = client.post(
        f"/s/{survey.slug}",
        data={"csrf_token": token, "contact_opt_in": "on", "contact": "me@example.org"},
    )
    assert no_persona.status_code == 422 and "me@example.org" in no_persona.text
    bad_contact = client.post(
        f"/s/{survey.slug}",
        data={"csrf_token": token, "persona": "learner", "contact_opt_in": "on", "contact": "x"},
    )
    assert bad_contact.status_code == 422 and "not a valid e-mail" in bad_contact.text
    page = start(client, survey)
    response_token = field(page, "token")
    # "after": the companion sits in a <details> below the answer field.
    assert "Here's what AI says (open after answering)" in page
    assert page.index(f'name="q-{ids[0]}"') < page.index("<details")
    assert "What is a micro-credential" in page
    answers = {
        "csrf_token": token,
        "token": response_token,
        f"q-{ids[0]}": "I want data skills",
        f"q-{ids[1]}": "Maybe",
        f"q-{ids[2]}": ["CV", "LinkedIn"],
    }
    refused = client.post(f"/s/{survey.slug}/submit", data=answers, headers=HTML)
    assert refused.status_code == 422
    assert "Choose one of the options given" in refused.text
    assert "An answer is required" in refused.text
    assert "I want data skills" in refused.text and re.search(r'value="CV" checked', refused.text)
    answers[f"q-{ids[1]}"] = "Yes"
    answers[f"q-{ids[3]}"] = "5"
    done = client.post(f"/s/{survey.slug}/submit", data=answers)
    assert done.status_code == 200 and "Thank you" in done.text
    again = client.post(f"/s/{survey.slug}/submit", data=answers, headers=HTML)
    assert again.status_code == 409 and "Already submitted" in again.text
    unknown = client.post(
        f"/s/{survey.slug}/submit", data={**answers, "token": "guess"}, headers=HTML
    )
    assert unknown.status_code == 404
    surveys.close_survey(db, actor=t.admin, survey_id=survey.id)
    db.commit()
    closed = client.get(f"/s/{survey.slug}", headers=HTML)
    assert closed.status_code == 410 and "closed" in closed.text


def test_before_display_and_hidden_arm(
    client: TestClient, db: Session, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    t = factories.tenant(db)
    survey, ids = built(db, t, settings, companion_display="before", ab_test=True)
    db.commit()
    monkeypatch.setattr(surveys, "_draw_arm", lambda: "shown")
    page = start(client, survey)
    assert "Here's what AI says" in page and "<details" not in page
    assert page.index('class="companion"') < page.index(f'name="q-{ids[0]}"')
    monkeypatch.setattr(surveys, "_draw_arm", lambda: "hidden")
    hidden = start(client, survey)
    assert "Here's what AI says" not in hidden and "What is a micro-credential" not in hidden
