"""The survey report page, its CSV download and the JSON report, through HTTP."""

from __future__ import annotations

import csv
import io
import re
import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from microcred.identity import service as identity
from microcred.kit.principal import SYSTEM
from microcred.kit.settings import Settings
from tests import factories
from tests.ask.test_survey_report import small_survey
from tests.assessment.test_console import sign_in
from tests.credentials.test_api import assert_problem


def staff(db: Session, t: factories.Tenant, *roles: str) -> str:
    email = f"staff-{uuid.uuid4().hex[:6]}@example.edu"
    identity.create_staff_member(
        db,
        actor=SYSTEM,
        institution_id=t.id,
        email=email,
        display_name="Staff",
        roles=list(roles),
        password=factories.PASSWORD,
    )
    return email


def test_staff_read_the_report_with_charts_and_tables(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t = factories.tenant(db)
    s = small_survey(db, t)
    analyst = staff(db, t, "analyst")
    db.commit()
    sign_in(client, t, analyst)
    page = client.get(f"/console/surveys/{s.survey.id}/report")
    assert page.status_code == 200, page.text
    assert page.headers["cache-control"] == "private, no-store"
    html = page.text
    assert "Report: Report me" in html
    # KPI tiles: 13 started, 12 submitted, 92% completion.
    assert "<strong>13</strong> responses started" in html
    assert "<strong>12</strong> responses submitted" in html and "<strong>92%</strong>" in html
    # Every chart is an accessible image, and each has a table with its numbers.
    charts = re.findall(r'<svg [^>]*role="img"', html)
    assert len(charts) >= 6  # timeline, completion, quality, and one per question
    # (completion and quality per persona share one table)
    assert html.count("<table") >= len(charts) - 1
    assert 'id="timeline-chart-title"' in html and 'id="q1-chart-title"' in html
    assert "Chi-square test of independence" in html and "Kruskal-Wallis H test" in html
    assert "statistically significant difference between personas" in html
    assert "A lower price and evening classes" in html  # a representative quote
    assert "seeded demo data" not in html  # nothing here is seeded
    assert "no comparison is possible" in html  # nobody saw an AI answer: no A/B
    assert f"/console/surveys/{s.survey.id}/responses.csv" in html
    assert "<script" not in html.split("</header>", 1)[-1] and ' style="' not in html


def test_learners_and_strangers_are_refused(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t = factories.tenant(db)
    other = factories.tenant(db)
    s = small_survey(db, t)
    learner = factories.learner(db, t, password=factories.PASSWORD)
    outsider = staff(db, other, "analyst")
    db.commit()
    url = f"/console/surveys/{s.survey.id}/report"
    anonymous = client.get(url, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/sign-in"
    csv_url = f"/console/surveys/{s.survey.id}/responses.csv"
    assert client.get(csv_url, follow_redirects=False).status_code == 303
    sign_in(client, t, learner.email)
    assert client.get(url).status_code == 403
    assert client.get(csv_url).status_code == 403
    client.cookies.clear()
    sign_in(client, other, outsider)
    assert client.get(url).status_code == 404  # another institution's survey does not exist
    assert client.get(f"/console/surveys/{uuid.uuid4()}/report").status_code == 404
    assert client.get("/console/surveys/not-a-uuid/report").status_code in (404, 422)


def test_csv_download_is_an_attachment(client: TestClient, db: Session, settings: Settings) -> None:
    t = factories.tenant(db)
    s = small_survey(db, t)
    analyst = staff(db, t, "analyst")
    viewer = staff(db, t, "assessor")
    db.commit()
    sign_in(client, t, analyst)
    got = client.get(f"/console/surveys/{s.survey.id}/responses.csv")
    assert got.status_code == 200
    assert got.headers["content-type"] == "text/csv; charset=utf-8"
    disposition = got.headers["content-disposition"]
    assert (
        disposition.startswith("attachment; filename=") and f"survey-{s.survey.id}" in disposition
    )
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert len(rows) == 13 and sum(1 for r in rows if r["contact"]) == 1
    # A staff member without an editor role reads the report but does not export answers.
    client.cookies.clear()
    sign_in(client, t, viewer)
    assert client.get(f"/console/surveys/{s.survey.id}/report").status_code == 200
    assert "responses.csv" not in client.get(f"/console/surveys/{s.survey.id}/report").text
    assert client.get(f"/console/surveys/{s.survey.id}/responses.csv").status_code == 403


def test_json_report_and_csv_for_api_tokens(
    client: TestClient, db: Session, settings: Settings
) -> None:
    t = factories.tenant(db)
    other = factories.tenant(db)
    no_read = factories.tenant(db, scopes=["issue"])
    s = small_survey(db, t)
    db.commit()
    got = client.get(f"/api/v1/surveys/{s.survey.id}/report", headers=t.headers)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["survey"]["id"] == str(s.survey.id) and body["seeded_responses"] == 0
    assert body["totals"]["overall"] == {"started": 13, "submitted": 12, "completion_rate": 12 / 13}
    assert body["questions"][0]["test"]["test"] == "chi-square test of independence"
    assert body["generated_at"].endswith("Z") and body["ab"]["comparable"] is False
    exported = client.get(f"/api/v1/surveys/{s.survey.id}/responses.csv", headers=t.headers)
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "text/csv; charset=utf-8"
    assert exported.headers["content-disposition"].startswith("attachment; filename=")
    assert len(list(csv.DictReader(io.StringIO(exported.text)))) == 13
    assert_problem(client.get(f"/api/v1/surveys/{s.survey.id}/report"), 401, "not-authenticated")
    assert_problem(
        client.get(f"/api/v1/surveys/{s.survey.id}/report", headers=other.headers),
        404,
        "not-found",
    )
    assert_problem(
        client.get(f"/api/v1/surveys/{s.survey.id}/responses.csv", headers=other.headers),
        404,
        "not-found",
    )
    assert_problem(
        client.get(f"/api/v1/surveys/{s.survey.id}/report", headers=no_read.headers),
        403,
        "forbidden",
    )
    assert_problem(
        client.get("/api/v1/surveys/not-a-uuid/report", headers=t.headers), 422, "invalid-input"
    )
