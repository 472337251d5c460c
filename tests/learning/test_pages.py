"""The skills-intelligence pages, driven through their forms as a browser without JavaScript
would: the learner's target job, gap and plan, enrolment, the programme chooser; the staff's
job postings (paste, CSV, review) and the demand and coverage page."""

from __future__ import annotations

import datetime as dt
import re
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from microcred.catalog import framework
from microcred.catalog.models import Achievement
from microcred.catalog.schemas import AlignmentIn
from microcred.kit.principal import SYSTEM
from microcred.kit.settings import Settings
from microcred.learning import service
from microcred.learning.models import Enrolment, JobPosting
from tests import factories
from tests.assessment.test_console import sign_in
from tests.assessment.test_pages import field
from tests.credentials.test_console_pages import signed_in

DATA_ANALYST = "http://data.europa.eu/esco/occupation/d3edb8f8-3a06-47a0-8fb9-9b212c006aa2"
HOSTILE = '<script>alert("x")</script>'
POSTING = (
    "Data Analyst, retail bank\n\n"
    "You apply statistical analysis techniques to customer data, write SQL queries, "
    "clean data and build dashboards that visualise the results for managers."
)


@dataclass
class World:
    t: factories.Tenant
    essential: list[tuple[str, str]]  # (uri, label) of the data analyst's essential skills
    quick: Achievement  # teaches two essential skills, cheap and short
    second: Achievement  # teaches two more
    broad: Achievement  # teaches the same four, long and dear
    unrelated: Achievement  # teaches nothing the job asks for, and is free


def _course(
    db: Session,
    t: factories.Tenant,
    name: str,
    skills: list[str],
    *,
    hours: int,
    cost: int,
    delivery: str = "self-paced",
) -> Achievement:
    achievement = factories.achievement(
        db,
        t,
        name=name,
        hours=Decimal(hours),
        alignments=[AlignmentIn(target_url=uri) for uri in skills],  # type: ignore[arg-type]
    )
    # Set on the row: these columns are the catalog's, whatever its input schema offers.
    achievement.cost = Decimal(cost)
    achievement.currency = "EUR"
    achievement.delivery = delivery
    db.flush()
    return achievement


def world(db: Session) -> World:
    t = factories.tenant(db)
    framework.load_bundled_framework(db, actor=SYSTEM)
    detail = framework.get_occupation(db, uri=DATA_ANALYST)
    essential = [(s.uri, s.label) for s in detail.essential]
    assert len(essential) >= 6, "the bundled subset should give the data analyst skills"
    uris = [uri for uri, _ in essential]
    quick = _course(db, t, "Quick Analysis Basics", uris[:2], hours=10, cost=100)
    second = _course(db, t, "Querying Data", uris[2:4], hours=12, cost=150)
    broad = _course(db, t, "Analytics Bootcamp", uris[:4], hours=80, cost=900, delivery="scheduled")
    unrelated = _course(db, t, "Pottery for Beginners", [factories.PYTHON_SKILL], hours=2, cost=0)
    db.commit()
    return World(t, essential, quick, second, broad, unrelated)


def learner_signed_in(client: TestClient, db: Session, t: factories.Tenant) -> uuid.UUID:
    learner = factories.learner(db, t, password=factories.PASSWORD)
    db.commit()
    sign_in(client, t, learner.email)
    return learner.id


def token(client: TestClient, path: str = "/me/target") -> str:
    return field(client.get(path).text, "csrf_token")


def choose_data_analyst(client: TestClient, **extra: str) -> None:
    page = client.get("/me/target", params={"q": "data analyst"})
    assert page.status_code == 200
    assert f'value="{DATA_ANALYST}"' in page.text
    saved = client.post(
        "/me/target",
        data={
            "csrf_token": field(page.text, "csrf_token"),
            "occupation_uri": DATA_ANALYST,
            "objective": "hours",
            **extra,
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/me/plan"


def svgs(page: str) -> list[ET.Element]:
    return [ET.fromstring(m) for m in re.findall(r"<svg .*?</svg>", page, re.S)]


# --- who may see what -------------------------------------------------------------------------


def test_pages_are_for_their_own_people(client: TestClient, db: Session) -> None:
    t = factories.tenant(db)
    db.commit()
    for path in ("/me/target", "/me/plan", "/me/chooser", "/console/postings", "/console/demand"):
        page = client.get(path, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/sign-in", path
    refused = client.post("/me/enrolments", data={"csrf_token": "x", "achievement_id": "y"})
    assert refused.status_code == 401

    signed_in(client, db, t, "issuer")
    for path in ("/me/target", "/me/plan", "/me/chooser"):
        assert client.get(path, headers={"Accept": "text/html"}).status_code == 404, path
    assert client.get("/console/postings").status_code == 200
    assert client.get("/console/demand").status_code == 200

    client.cookies.clear()
    learner_signed_in(client, db, t)
    for path in ("/console/postings", "/console/demand"):
        assert client.get(path).status_code == 403, path
    # No target yet: the plan sends the learner to choose one.
    plan = client.get("/me/plan", follow_redirects=False)
    assert plan.status_code == 303 and plan.headers["location"] == "/me/target"
    home = client.get("/me/target").text
    assert 'href="/me/target"' in home  # the site navigation's entry


# --- the learner ------------------------------------------------------------------------------


def test_target_by_occupation_gap_plan_and_enrolment(client: TestClient, db: Session) -> None:
    w = world(db)
    learner_id = learner_signed_in(client, db, w.t)
    choose_data_analyst(client)
    page = client.get("/me/plan")
    assert page.status_code == 200, page.text
    text = page.text
    assert "My plan toward data analyst" in text
    assert "The catalog covers" in text and "taught nowhere here" in text.lower()
    steps = dict(re.findall(r"<h3>Step (\d+): ([^<]+)</h3>", text))
    assert set(steps.values()) == {"Quick Analysis Basics", "Querying Data"}
    assert "Analytics Bootcamp" not in steps.values()  # dearer and longer: not chosen
    assert "Proven optimal" in text and "<strong>22</strong> study hours" in text
    assert "<strong>250.00 EUR</strong> in fees" in text
    assert "Essential" in text and "To learn" in text and "Taught nowhere here" in text
    for _, label in w.essential[:4]:
        assert label in text
    first_step = {a.name: a for a in (w.quick, w.second)}[steps["1"]]

    def enrol() -> str:
        answer = client.post(
            "/me/enrolments",
            data={
                "csrf_token": field(text, "csrf_token"),
                "achievement_id": str(first_step.id),
                "source": "plan",
                "back": "/me/plan?objective=hours",
            },
            follow_redirects=False,
        )
        assert answer.status_code == 303
        return answer.headers["location"]

    first = enrol()
    assert urlsplit(first).path == "/me/plan"
    assert parse_qs(urlsplit(first).query) == {"objective": ["hours"], "done": ["enrolled"]}
    assert parse_qs(urlsplit(enrol()).query)["done"] == ["already"]
    db.expire_all()
    count = db.scalar(
        select(func.count()).select_from(Enrolment).where(Enrolment.learner_id == learner_id)
    )
    assert count == 1
    after = client.get(first).text
    assert "You are enrolled." in after
    step_one = after.split('id="step-1"')[1].split('id="step-2"')[0]
    assert "<strong>Enrolled</strong>" in step_one
    assert f'action="/me/enrolments/{first_step.id}/withdraw"' in step_one

    withdrawn = client.post(
        f"/me/enrolments/{first_step.id}/withdraw",
        data={"csrf_token": field(after, "csrf_token"), "back": "/me/plan"},
        follow_redirects=False,
    )
    assert withdrawn.headers["location"] == "/me/plan?done=withdrawn"
    again = client.get("/me/plan").text
    assert "<strong>Enrolled</strong>" not in again.split('id="step-2"')[0]
    # A crafted return address goes nowhere but our own page.
    elsewhere = client.post(
        "/me/enrolments",
        data={
            "csrf_token": field(again, "csrf_token"),
            "achievement_id": str(w.quick.id),
            "back": "https://evil.example/me/plan",
        },
        follow_redirects=False,
    )
    assert elsewhere.headers["location"].startswith("/me/plan?")


def test_target_by_pasted_posting_and_form_errors(client: TestClient, db: Session) -> None:
    w = world(db)
    learner_signed_in(client, db, w.t)
    csrf_token = token(client)

    def post(**data: str) -> tuple[int, str]:
        answer = client.post(
            "/me/target",
            data={"csrf_token": csrf_token, "objective": "hours", **data},
            follow_redirects=False,
        )
        return answer.status_code, answer.text

    status, text = post(title=HOSTILE)
    assert status == 422 and "either an occupation or paste a job posting" in text
    assert HOSTILE not in text and "&lt;script&gt;" in text  # kept, escaped
    status, text = post(occupation_uri=DATA_ANALYST, posting_text=POSTING)
    assert status == 422 and "not both or neither" in text
    assert "apply statistical analysis techniques" in text  # the pasted text is kept
    status, text = post(
        occupation_uri="http://data.europa.eu/esco/occupation/00000000-0000-0000-0000-000000000000"
    )
    assert status == 422 and "not in the skills framework" in text
    status, text = post(posting_text=POSTING, budget="-5")
    assert status == 422 and "between 0 and" in text
    status, text = post(posting_text=POSTING, objective="fastest")
    assert status == 422 and "Choose what the plan should keep lowest" in text

    status, _ = post(posting_text=POSTING, title="Analyst at the bank")
    assert status == 303
    plan = client.get("/me/plan").text
    assert "My plan toward Analyst at the bank" in plan
    assert "Asked for" in plan and "the posting asks for it" in plan
    target = client.get("/me/target").text
    assert "Your target now: <strong>Analyst at the bank</strong>" in target
    assert "clean data and build dashboards" in target  # the saved posting, to edit


def test_infeasible_budget_names_the_binding_constraint(client: TestClient, db: Session) -> None:
    w = world(db)
    learner_signed_in(client, db, w.t)
    choose_data_analyst(client, objective="cost", budget="50")
    page = client.get("/me/plan")
    assert page.status_code == 200
    text = page.text
    assert "No plan fits" in text and "your budget" in text
    assert "Your budget of 50.00 is too small" in text
    link = re.search(r'href="(/me/plan\?[^"]*budget=[^"]*)"', text)
    assert link, "no link that re-plans with the cheapest budget"
    replanned = client.get(link.group(1).replace("&amp;", "&")).text
    assert "Step 1:" in replanned and "No plan fits" not in replanned
    # Re-planning by the address saves nothing: the saved budget still binds.
    assert "No plan fits" in client.get("/me/plan").text
    hours = client.get("/me/plan", params={"objective": "count", "budget": "5000", "hours": "1"})
    assert "your hours" in hours.text and "too few" in hours.text
    bad = client.get("/me/plan", params={"budget": "lots"})
    assert bad.status_code == 422 and "must be a number" in bad.text


def test_chooser_weights_change_the_order(client: TestClient, db: Session) -> None:
    w = world(db)
    learner_signed_in(client, db, w.t)
    choose_data_analyst(client)

    def order(**weights: str) -> list[str]:
        page = client.get("/me/chooser", params=weights)
        assert page.status_code == 200, page.text
        return re.findall(r"<h2>\d+\. ([^<]+?) <small", page.text)

    by_cost = order(relevance="0", recognition="0", cost="10", duration="0", flexibility="0")
    assert by_cost[0] == "Pottery for Beginners"
    by_relevance = order(relevance="10", recognition="0", cost="0", duration="0", flexibility="0")
    assert by_relevance[0] == "Analytics Bootcamp"
    assert by_relevance.index("Pottery for Beginners") == len(by_relevance) - 1
    page = client.get("/me/chooser", params={"relevance": "10", "cost": "0"}).text
    assert "relevance to your target job counts" in page.lower()
    assert '<meter min="0" max="1"' in page and 'value="10"' in page
    refused = client.get("/me/chooser", params={"cost": "eleven"})
    assert refused.status_code == 422 and "must be a number from 0 to 10" in refused.text
    zero = client.get(
        "/me/chooser",
        params=dict.fromkeys(("relevance", "recognition", "cost", "duration", "flexibility"), "0"),
    )
    assert zero.status_code == 422 and "default weights are used" in zero.text


# --- staff: job postings ----------------------------------------------------------------------


def test_paste_a_posting_and_review_its_skills(client: TestClient, db: Session) -> None:
    w = world(db)
    signed_in(client, db, w.t, "issuer")
    listing = client.get("/console/postings", params={"oq": "data analyst"})
    assert listing.status_code == 200 and "No job postings yet" in listing.text
    assert f'value="{DATA_ANALYST}"' in listing.text
    data = {
        "csrf_token": field(listing.text, "csrf_token"),
        "title": f"Analyst {HOSTILE}",
        "posted_on": "2024-03-01",
        "occupation_uri": DATA_ANALYST,
        "location": "Lyon",
        "body": POSTING + "\n" + HOSTILE,
    }
    stored = client.post("/console/postings", data=data, follow_redirects=False)
    assert stored.status_code == 303, stored.text
    path, _, query = stored.headers["location"].partition("?")
    assert query == "done=stored"
    page = client.get(path)
    assert page.status_code == 200
    text = page.text
    assert HOSTILE not in text and "Analyst &lt;script&gt;" in text
    assert "<mark>" in text and "data analyst" in text and "2024-03-01" in text
    again = client.post("/console/postings", data=data, follow_redirects=False)
    assert again.headers["location"] == f"{path}?done=unchanged"

    posting_id = uuid.UUID(path.rsplit("/", 1)[1])
    posting = service.get_posting(db, actor=w.t.admin, posting_id=posting_id)
    assert posting.skills, "the linker read no skill from the posting"
    skill = posting.skills[0]

    def review(action: str, uri: str) -> str:
        answer = client.post(
            f"{path}/skills",
            data={"csrf_token": field(text, "csrf_token"), "skill_uri": uri, "action": action},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        return answer.headers["location"]

    assert review("reject", skill.skill_uri) == f"{path}?done=rejected#skills"
    rejected = client.get(path).text
    assert "(rejected)" in rejected and "Restore" in rejected
    db.expire_all()
    assert service.get_posting(db, actor=w.t.admin, posting_id=posting_id).skills[0].rejected
    review("restore", skill.skill_uri)
    assert "(rejected)" not in client.get(path).text

    search = client.get(path, params={"sq": "statistics"})
    assert search.status_code == 200
    found = re.search(r'name="skill_uri" value="([^"]+)" checked', search.text)
    assert found, "the skill search listed nothing to add"
    review("add", found.group(1))
    db.expire_all()
    added = service.get_posting(db, actor=w.t.admin, posting_id=posting_id)
    assert any(s.skill_uri == found.group(1) and s.origin == "staff" for s in added.skills)

    listed = client.get("/console/postings").text
    assert "Analyst &lt;script&gt;" in listed and "data analyst" in listed and "paste" in listed

    empty = client.post("/console/postings", data={**data, "body": "  "}, follow_redirects=False)
    assert empty.status_code == 422 and "The posting is empty" in empty.text
    future = client.post(
        "/console/postings",
        data={**data, "body": "Another text", "posted_on": "2999-01-01"},
        follow_redirects=False,
    )
    assert future.status_code == 422 and "in the future" in future.text


def test_csv_upload_stores_all_or_lists_every_row_error(client: TestClient, db: Session) -> None:
    w = world(db)
    signed_in(client, db, w.t, "analyst")
    csrf_token = token(client, "/console/postings")

    def upload(content: bytes) -> tuple[int, str, str]:
        answer = client.post(
            "/console/postings/upload",
            data={"csrf_token": csrf_token},
            files={"file": ("postings.csv", content, "text/csv")},
            follow_redirects=False,
        )
        return answer.status_code, answer.headers.get("location", ""), answer.text

    good = (
        "title,description,posted_on,occupation,location\n"
        f'Analyst A,"{POSTING}",2024-01-10,data analyst,Berlin\n'
        'Analyst B,"Write SQL queries and build dashboards.",2024-02-10,,Remote\n'
    ).encode()
    status, location, _ = upload(good)
    assert status == 303 and location == "/console/postings?stored=2&unchanged=0"
    assert "2 stored, 0 already there." in client.get(location).text
    status, location, _ = upload(good)
    assert location == "/console/postings?stored=0&unchanged=2"

    bad = (
        b"title,description,posted_on,occupation\n"
        b"Analyst C,,2024-01-10,\n"
        b"Analyst D,Some text,2999-01-01,\n"
        b"Analyst E,Some text,2024-01-01,astronaut of the sea\n"
    )
    status, _, text = upload(bad)
    assert status == 422 and "3 row(s) of the CSV are invalid" in text
    assert "Row 2:" in text and "Row 3:" in text and "Row 4:" in text
    assert "unknown occupation" in text
    status, _, text = upload(b"title\nOnly a title\n")
    assert status == 422 and "needs the columns title and description" in text
    status, _, text = upload(b"title,description\n\xff\xfe,broken\n")
    assert status == 422 and "UTF-8" in text
    status, _, text = upload(b"")
    assert status == 422 and "Choose a CSV file" in text
    db.expire_all()
    stored = db.scalar(
        select(func.count()).select_from(JobPosting).where(JobPosting.institution_id == w.t.id)
    )
    assert stored == 2


def test_another_institutions_posting_is_not_found(
    client: TestClient, db: Session, settings: Settings
) -> None:
    w = world(db)
    posting = service.ingest_posting(
        db,
        settings=settings,
        actor=w.t.admin,
        item=service.PostingIn("Analyst", POSTING),
        source="api",
    ).posting
    other = factories.tenant(db)
    db.commit()
    signed_in(client, db, other, "issuer")
    page = client.get(f"/console/postings/{posting.id}", headers={"Accept": "text/html"})
    assert page.status_code == 404
    review = client.post(
        f"/console/postings/{posting.id}/skills",
        data={
            "csrf_token": token(client, "/console/postings"),
            "skill_uri": posting.skills[0].skill_uri,
            "action": "reject",
        },
        headers={"Accept": "text/html"},
    )
    assert review.status_code == 404
    assert "Analyst" not in client.get("/console/postings").text.split("<h1>")[1]


# --- staff: demand and coverage ---------------------------------------------------------------


def test_demand_page_draws_the_charts_and_the_coverage_report(
    client: TestClient, db: Session, settings: Settings
) -> None:
    w = world(db)
    today = dt.date(2024, 6, 30)
    texts = [
        POSTING,
        "Data analyst wanted. You write SQL queries and clean data.",
        "Analyst: visualise data in dashboards and apply statistical analysis techniques.",
        "We need someone to build dashboards and present results.",
        "Data analyst: apply statistical analysis techniques and clean data every day.",
        "Data analyst for our public agency: statistics, SQL queries and data quality.",
    ]
    for i, body in enumerate(texts):
        service.ingest_posting(
            db,
            settings=settings,
            actor=w.t.admin,
            item=service.PostingIn(
                f"Analyst {i} {HOSTILE}",
                body,
                dt.date(2024, 1 + i, 15),
                DATA_ANALYST if i % 2 == 0 else None,
            ),
            source="api",
            today=today,
        )
    db.commit()
    signed_in(client, db, w.t, "analyst")
    page = client.get("/console/demand")
    assert page.status_code == 200, page.text
    text = page.text
    coverage = service.coverage_report(db, actor=w.t.admin)
    assert coverage.summary in text
    assert "In demand, taught nowhere here" in text
    for row in coverage.untaught:
        assert row.label in text
    figures = svgs(text)
    assert len(figures) == 4  # coverage, trends, most demanded, postings per month
    for svg in figures:
        assert svg.get("role") == "img" and svg.get("aria-labelledby")
    assert 'id="coverage-chart-title"' in text and 'id="trend-chart-title"' in text
    if coverage.untaught:
        assert "(taught nowhere here)" in text and "url(#coverage-chart-hatch)" in text
    assert "2024-01" in text and "2024-06" in text
    assert f'<option value="{DATA_ANALYST}">data analyst (3)</option>' in text
    assert HOSTILE not in text

    filtered = client.get("/console/demand", params={"occupation": DATA_ANALYST}).text
    assert "Skills demand: data analyst" in filtered and "3 job postings" in filtered
    unknown = client.get("/console/demand", params={"occupation": "http://nowhere"}).text
    assert "6 job postings" in unknown


def test_an_empty_demand_page_says_so(client: TestClient, db: Session) -> None:
    t = factories.tenant(db)
    signed_in(client, db, t, "issuer")
    page = client.get("/console/demand")
    assert page.status_code == 200
    assert "No job postings yet" in page.text and "No data yet" in page.text
    for svg in svgs(page.text):
        assert svg.get("role") == "img"


def test_my_skills_shows_each_estimate_with_its_interval_and_reasons(
    client: TestClient, db: Session
) -> None:
    w = world(db)
    learner_id = learner_signed_in(client, db, w.t)
    empty = client.get("/me/skills")
    assert empty.status_code == 200 and "No evidence yet" in empty.text
    from microcred.learning import service

    service.recognise_prior_learning(
        db,
        actor=w.t.admin,
        learner_id=learner_id,
        skill_uri=w.essential[0][0],
        level=0.9,
        confidence="high",
        evidence="Portfolio of <b>BI</b> dashboards reviewed.",
    )
    db.commit()
    page = client.get("/me/skills")
    assert page.status_code == 200
    assert w.essential[0][1] in page.text
    assert "<meter" in page.text and "mastered" in page.text
    assert "prior learning recognised" in page.text
    assert page.headers["cache-control"] == "private, no-store"
