"""The staff console's achievement pages, driven through the HTTP forms as a browser without
JavaScript would: create with ESCO skills picked by search, edit (a new version), retire."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from microcred.catalog import service as catalog
from microcred.catalog.models import Achievement
from microcred.identity import service as identity
from microcred.kit import audit
from microcred.kit.pagination import PageRequest
from microcred.kit.principal import SYSTEM
from tests import factories
from tests.assessment.test_console import sign_in
from tests.assessment.test_pages import field

DATA_SKILL = "http://data.europa.eu/esco/skill/ccd0a1d9-afda-43d9-b901-96344886e14d"


def staff(db: Session, t: factories.Tenant, *roles: str) -> str:
    """A staff member with the given roles; returns the e-mail to sign in with."""
    email = f"staff-{uuid.uuid4().hex[:8]}@example.edu"
    identity.create_staff_member(
        db,
        actor=SYSTEM,
        institution_id=t.id,
        email=email,
        display_name="Casey Staff",
        roles=list(roles or ("admin", "issuer")),
        password=factories.PASSWORD,
    )
    return email


def signed_in(client: TestClient, db: Session, *roles: str) -> factories.Tenant:
    t = factories.tenant(db)
    email = staff(db, t, *roles)
    db.commit()
    sign_in(client, t, email)
    return t


def achievements_of(db: Session, t: factories.Tenant) -> list[Achievement]:
    rows, _ = catalog.list_achievements(db, institution_id=t.id, page=PageRequest(100, 0))
    return list(rows)


def form(**values: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "Data wrangling with Python",
        "slug": "data-wrangling",
        "description": "Cleans and reshapes tabular data.",
        "criteria_narrative": "Passed the adaptive test.",
        "criteria_url": "https://example.edu/criteria/data-wrangling",
        "hours": "12.5",
        "validity_months": "24",
        "status_purpose": "suspension",
        "skill_query": "",
    }
    base.update(values)
    return base


def test_the_achievement_pages_render_for_an_admin(client: TestClient, db: Session) -> None:
    t = signed_in(client, db)
    existing = factories.achievement(db, t)
    db.commit()
    listing = client.get("/console/achievements")
    assert listing.status_code == 200
    assert existing.name in listing.text and f"/console/assessments/{existing.id}" in listing.text
    assert '<th scope="col">Skills</th>' in listing.text
    new = client.get("/console/achievements/new")
    assert new.status_code == 200 and 'for="f-name"' in new.text and "No skills chosen" in new.text
    searched = client.get("/console/achievements/new", params={"skill_query": "python"})
    assert searched.status_code == 200 and DATA_SKILL in searched.text
    assert 'role="status"' in searched.text and "match “python”" in searched.text
    edit = client.get(f"/console/achievements/{existing.id}/edit")
    assert edit.status_code == 200
    assert "Version 1." in edit.text and "Save as version 2" in edit.text
    assert edit.text.count('name="skill"') == 2  # the two aligned skills, ticked
    assert "Retire this achievement" in edit.text


def test_create_edit_and_retire_with_esco_skills(client: TestClient, db: Session) -> None:
    t = signed_in(client, db)
    token = field(client.get("/console/achievements/new").text, "csrf_token")

    # Searching is a submit button of the same form: everything typed comes back, and the
    # ticked skill stays ticked while the next search shows other matches.
    searched = client.post(
        "/console/achievements/new",
        data={**form(skill_query="python"), "action": "search", "csrf_token": token},
    )
    assert searched.status_code == 200
    assert 'value="Data wrangling with Python"' in searched.text
    assert "Cleans and reshapes tabular data." in searched.text
    assert f'value="{DATA_SKILL}"' in searched.text
    again = client.post(
        "/console/achievements/new",
        data={
            **form(skill_query="SQL"),
            "skill": [DATA_SKILL],
            "action": "search",
            "csrf_token": token,
        },
    )
    assert again.status_code == 200 and "Chosen skills (1)" in again.text
    assert f'value="{factories.SQL_SKILL}"' in again.text
    assert achievements_of(db, t) == []  # searching writes nothing
    enter = client.post(
        "/console/achievements/new", data={**form(), "action": "search", "csrf_token": token}
    )
    assert enter.status_code == 200 and "Nothing was saved" in enter.text
    assert achievements_of(db, t) == []

    refused = client.post(
        "/console/achievements/new",
        data={
            **form(name="", hours="lots", slug="Bad Slug"),
            "skill": [DATA_SKILL],
            "csrf_token": token,
        },
    )
    assert refused.status_code == 422
    assert 'id="f-name-error"' in refused.text and 'aria-describedby="f-name-error"' in refused.text
    assert 'id="f-hours-error"' in refused.text and 'id="f-slug-error"' in refused.text
    assert 'value="lots"' in refused.text and "Chosen skills (1)" in refused.text
    assert 'role="alert"' in refused.text
    assert achievements_of(db, t) == []

    created = client.post(
        "/console/achievements/new",
        data={**form(), "skill": [DATA_SKILL, factories.SQL_SKILL], "csrf_token": token},
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    [made] = achievements_of(db, t)
    assert created.headers["location"] == f"/console/achievements/{made.id}/edit?done=created"
    achievement = catalog.get_achievement(db, institution_id=t.id, achievement_id=made.id)
    assert achievement.version == 1 and achievement.status_purpose == "suspension"
    assert [a.target_url for a in achievement.alignments] == [DATA_SKILL, factories.SQL_SKILL]
    assert achievement.alignments[0].target_name  # the ESCO label
    assert str(achievement.hours) in ("12.5", "12.50") and achievement.validity_months == 24

    duplicate = client.post(
        "/console/achievements/new",
        data={**form(), "skill": [DATA_SKILL], "csrf_token": token},
    )
    assert duplicate.status_code == 409 and 'id="f-slug-error"' in duplicate.text

    # Editing makes version 2; the slug posted is ignored (it is fixed once created).
    edit_url = f"/console/achievements/{achievement.id}/edit"
    saved = client.post(
        edit_url,
        data={
            **form(description="Cleans, reshapes and joins tabular data.", slug="other"),
            "skill": [DATA_SKILL],
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith("done=saved")
    db.expire_all()
    achievement = catalog.get_achievement(db, institution_id=t.id, achievement_id=achievement.id)
    assert achievement.version == 2 and achievement.slug == "data-wrangling"
    assert achievement.description == "Cleans, reshapes and joins tabular data."
    assert [a.target_url for a in achievement.alignments] == [DATA_SKILL]
    page = client.get(saved.headers["location"])
    assert "Saved. This is version 2." in page.text and "Save as version 3" in page.text

    unchanged = client.post(
        edit_url,
        data={
            **form(description="Cleans, reshapes and joins tabular data.", hours="12.50"),
            "skill": [DATA_SKILL],
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert unchanged.headers["location"].endswith("done=unchanged")
    db.expire_all()
    assert (
        catalog.get_achievement(db, institution_id=t.id, achievement_id=achievement.id).version == 2
    )

    bad_edit = client.post(
        edit_url, data={**form(criteria_url="not a url"), "skill": [], "csrf_token": token}
    )
    assert bad_edit.status_code == 422 and 'id="f-criteria_url-error"' in bad_edit.text

    # A skill outside ESCO is refused by the service after it started changing the
    # achievement; nothing of that change may stay (the request still commits).
    foreign = client.post(
        edit_url,
        data={
            **form(name="Renamed"),
            "skill": [DATA_SKILL, "https://example.org/skills/juggling"],
            "csrf_token": token,
        },
    )
    assert foreign.status_code == 422 and 'id="f-skills-error"' in foreign.text
    assert "not an ESCO skill URI" in foreign.text and 'value="Renamed"' in foreign.text
    db.expire_all()
    achievement = catalog.get_achievement(db, institution_id=t.id, achievement_id=achievement.id)
    assert achievement.version == 2 and achievement.name == "Data wrangling with Python"
    assert [a.target_url for a in achievement.alignments] == [DATA_SKILL]

    unconfirmed = client.post(
        f"/console/achievements/{achievement.id}/retire",
        data={"reason": "Replaced by the 2027 programme", "csrf_token": token},
    )
    assert unconfirmed.status_code == 422 and "Tick the box" in unconfirmed.text
    retired = client.post(
        f"/console/achievements/{achievement.id}/retire",
        data={"reason": "Replaced by the 2027 programme", "confirm": "yes", "csrf_token": token},
        follow_redirects=False,
    )
    assert retired.status_code == 303
    db.expire_all()
    achievement = catalog.get_achievement(db, institution_id=t.id, achievement_id=achievement.id)
    assert achievement.status == "retired"
    history = audit.history(
        db, institution_id=t.id, subject_type="achievement", subject_id=achievement.id
    )
    assert [e.action for e in history] == [
        "achievement.create",
        "achievement.update",
        "achievement.retire",
    ]
    assert history[-1].reason == "Replaced by the 2027 programme"
    assert "cannot change or be awarded again" in client.get(edit_url).text


def test_missing_csrf_is_refused_and_writes_nothing(client: TestClient, db: Session) -> None:
    t = signed_in(client, db)
    existing = factories.achievement(db, t)
    db.commit()
    client.get("/console/achievements/new")  # the CSRF cookie is set, the token not sent
    assert client.post("/console/achievements/new", data=form()).status_code == 401
    assert (
        client.post(
            f"/console/achievements/{existing.id}/retire",
            data={"reason": "no token", "confirm": "yes", "csrf_token": "forged"},
        ).status_code
        == 401
    )
    db.expire_all()
    assert [a.slug for a in achievements_of(db, t)] == [existing.slug]
    assert existing.status == "active"


@pytest.mark.parametrize(
    "path", ["/console/achievements", "/console/achievements/new", "/console/achievements/{a}/edit"]
)
def test_learners_and_visitors_are_refused(client: TestClient, db: Session, path: str) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    learner = factories.learner(db, t, password=factories.PASSWORD)
    db.commit()
    url = path.format(a=achievement.id)
    anonymous = client.get(url, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/sign-in"
    sign_in(client, t, learner.email)
    assert client.get(url).status_code == 403


def test_staff_without_the_issuer_role_only_read(client: TestClient, db: Session) -> None:
    t = signed_in(client, db, "analyst")
    achievement = factories.achievement(db, t)
    db.commit()
    listing = client.get("/console/achievements")
    assert listing.status_code == 200 and achievement.name in listing.text
    assert "/console/achievements/new" not in listing.text
    assert client.get("/console/achievements/new").status_code == 403
    assert client.get(f"/console/achievements/{achievement.id}/edit").status_code == 403


def test_another_institutions_achievement_is_not_found(client: TestClient, db: Session) -> None:
    signed_in(client, db)
    other = factories.tenant(db)
    theirs = factories.achievement(db, other)
    db.commit()
    token = field(client.get("/console/achievements/new").text, "csrf_token")
    assert client.get(f"/console/achievements/{theirs.id}/edit").status_code == 404
    assert (
        client.post(
            f"/console/achievements/{theirs.id}/edit",
            data={**form(name="Taken over"), "csrf_token": token},
        ).status_code
        == 404
    )
    assert (
        client.post(
            f"/console/achievements/{theirs.id}/retire",
            data={"reason": "not ours", "confirm": "yes", "csrf_token": token},
        ).status_code
        == 404
    )
    assert theirs.name not in client.get("/console/achievements").text
    db.expire_all()
    assert theirs.status == "active" and theirs.version == 1 and theirs.name != "Taken over"


def test_the_form_suggests_skills_from_the_description_and_searches_the_imported_framework(
    client: TestClient, db: Session
) -> None:
    from microcred.catalog import framework

    t = signed_in(client, db)
    framework.load_bundled_framework(db, actor=SYSTEM)
    achievement = factories.achievement(
        db,
        t,
        description="Learners apply statistical analysis techniques to survey data.",
        alignments=[],
    )
    db.commit()
    page = client.get(f"/console/achievements/{achievement.id}/edit")
    assert page.status_code == 200
    assert "Suggested from the description" in page.text
    assert "apply statistical analysis techniques" in page.text
    # The search reaches the whole imported framework, not only the digital-skills list.
    found = client.get(
        f"/console/achievements/{achievement.id}/edit", params={"skill_query": "perform backups"}
    )
    assert "cf3e976d-2c3e-495c-a874-f9e8a66d3b48" in found.text
