"""Achievements' offer (cost, currency, delivery, endorsements) and prerequisites: service rules,
the audit trail, the JSON API and the console form."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from microcred.catalog import service as catalog
from microcred.catalog.schemas import AchievementUpdate
from microcred.kit import audit
from microcred.kit.errors import Conflict, InvalidInput
from tests import factories


def test_offer_fields_are_stored_and_audited_without_a_new_version(db: Session) -> None:
    t = factories.tenant(db)
    a = factories.achievement(
        db,
        t,
        cost=Decimal("120.00"),
        currency="EUR",
        delivery="blended",
        endorsements=["  Digital   Skills Alliance ", "City Chamber"],
    )
    assert (a.cost, a.currency, a.delivery) == (Decimal("120.00"), "EUR", "blended")
    assert a.endorsements == ["Digital Skills Alliance", "City Chamber"]
    catalog.update_achievement(
        db,
        actor=t.admin,
        institution_id=t.id,
        achievement_id=a.id,
        data=AchievementUpdate(cost=Decimal("0"), currency=None, delivery="self-paced"),
    )
    # Not in any credential, so credentials issued under version 1 still describe it.
    assert a.version == 1 and a.cost == 0 and a.currency is None
    events = audit.history(db, institution_id=t.id, subject_type="achievement", subject_id=a.id)
    assert events[-1].before is not None and events[-1].before["cost"] == "120.00"
    assert events[-1].after is not None and events[-1].after["delivery"] == "self-paced"
    catalog.update_achievement(
        db,
        actor=t.admin,
        institution_id=t.id,
        achievement_id=a.id,
        data=AchievementUpdate(name="Renamed"),
    )
    assert a.version == 2


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"cost": Decimal("10")}, "currency: required when the achievement has a cost"),
        ({"currency": "EUR"}, "cost: required with a currency"),
        ({"endorsements": ["ACME", "acme"]}, "endorsements\\[1\\]: 'acme' listed twice"),
    ],
)
def test_offer_rules_the_service_guards(
    db: Session, values: dict[str, object], message: str
) -> None:
    t = factories.tenant(db)
    with pytest.raises(InvalidInput, match=message):
        factories.achievement(db, t, **values)


def test_the_service_guards_even_unvalidated_input(db: Session) -> None:
    """SQLite has no CHECK for these columns; a model built without validation still fails."""
    t = factories.tenant(db)
    a = factories.achievement(db, t)
    for values, message in [
        ({"cost": Decimal("-1"), "currency": "EUR"}, "cost: must be at least 0"),
        ({"cost": Decimal("5"), "currency": "eur"}, "currency: an ISO 4217 code"),
        ({"delivery": "online"}, "delivery: one of self-paced, scheduled, blended"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            catalog.update_achievement(
                db,
                actor=t.admin,
                institution_id=t.id,
                achievement_id=a.id,
                data=AchievementUpdate.model_construct(
                    _fields_set=set(values),
                    **{**dict.fromkeys(AchievementUpdate.model_fields), **values},
                ),
            )
        assert (a.cost, a.currency, a.delivery) == (None, None, None)


def test_prerequisites_are_set_listed_and_audited(db: Session) -> None:
    t = factories.tenant(db)
    basics, sql, analysis = (factories.achievement(db, t) for _ in range(3))
    catalog.set_prerequisites(
        db,
        actor=t.admin,
        institution_id=t.id,
        achievement_id=analysis.id,
        prerequisite_ids=[sql.id, basics.id, sql.id],
    )
    graph = catalog.prerequisites_of(db, institution_id=t.id)
    assert graph == {basics.id: set(), sql.id: set(), analysis.id: {basics.id, sql.id}}
    assert analysis.version == 1
    events = audit.history(
        db, institution_id=t.id, subject_type="achievement", subject_id=analysis.id
    )
    assert events[-1].action == "achievement.prerequisites"
    assert events[-1].after == {"prerequisites": sorted([str(basics.id), str(sql.id)])}
    # The same set again changes nothing and writes no audit row.
    catalog.set_prerequisites(
        db,
        actor=t.admin,
        institution_id=t.id,
        achievement_id=analysis.id,
        prerequisite_ids=[basics.id, sql.id],
    )
    assert len(
        audit.history(db, institution_id=t.id, subject_type="achievement", subject_id=analysis.id)
    ) == len(events)
    created = factories.achievement(db, t, prerequisites=[analysis.id])
    assert catalog.prerequisites_of(db, institution_id=t.id)[created.id] == {analysis.id}


def test_prerequisites_refuse_self_unknown_other_tenants_retired_and_cycles(db: Session) -> None:
    t, other = factories.tenant(db), factories.tenant(db)
    a = factories.achievement(db, t, name="SQL basics")
    b = factories.achievement(db, t, name="Data analysis")
    c = factories.achievement(db, t, name="Machine learning")
    elsewhere = factories.achievement(db, other)

    def need(achievement_id: uuid.UUID, *ids: uuid.UUID) -> None:
        catalog.set_prerequisites(
            db,
            actor=t.admin,
            institution_id=t.id,
            achievement_id=achievement_id,
            prerequisite_ids=ids,
        )

    with pytest.raises(InvalidInput, match="cannot be its own prerequisite"):
        need(a.id, a.id)
    nowhere = uuid.uuid4()
    with pytest.raises(InvalidInput, match=f"not an achievement of this institution: {nowhere}"):
        need(a.id, nowhere)
    with pytest.raises(
        InvalidInput, match=f"not an achievement of this institution: {elsewhere.id}"
    ):
        need(a.id, elsewhere.id)
    need(b.id, a.id)
    need(c.id, b.id)
    with pytest.raises(Conflict) as caught:
        need(a.id, c.id)
    assert caught.value.status == 409
    assert caught.value.detail == (
        "prerequisites: that would make a cycle: "
        "SQL basics → Machine learning → Data analysis → SQL basics (each needs the next)"
    )
    assert catalog.prerequisites_of(db, institution_id=t.id)[a.id] == set()
    catalog.retire_achievement(
        db, actor=t.admin, institution_id=t.id, achievement_id=a.id, reason="superseded"
    )
    need(b.id, a.id)  # an existing edge to a retired achievement stays
    with pytest.raises(Conflict, match="'SQL basics' is retired"):
        need(c.id, b.id, a.id)
    with pytest.raises(Conflict, match="retired achievement cannot change"):
        need(a.id)


# --- the JSON API -----------------------------------------------------------------------------


def test_api_carries_the_new_fields(db: Session, client: TestClient) -> None:
    t = factories.tenant(db)
    first = factories.achievement(db, t)
    body = {
        "slug": "data-analysis",
        "name": "Data analysis",
        "description": "Analyses data.",
        "criteria_narrative": "Passed.",
        "cost": "49.90",
        "currency": "EUR",
        "delivery": "scheduled",
        "endorsements": ["Data Guild"],
        "prerequisites": [str(first.id)],
    }
    created = client.post("/api/v1/achievements", json=body, headers=t.headers)
    assert created.status_code == 201, created.text
    out = created.json()
    assert (out["cost"], out["currency"], out["delivery"]) == ("49.90", "EUR", "scheduled")
    assert out["endorsements"] == ["Data Guild"] and out["prerequisites"] == [str(first.id)]
    fetched = client.get(f"/api/v1/achievements/{out['id']}", headers=t.headers).json()
    assert fetched["prerequisites"] == [str(first.id)]
    listed = client.get("/api/v1/achievements", headers=t.headers).json()["items"]
    assert {a["id"]: a["prerequisites"] for a in listed}[out["id"]] == [str(first.id)]
    patched = client.patch(
        f"/api/v1/achievements/{out['id']}",
        json={"prerequisites": [], "delivery": None},
        headers=t.headers,
    )
    assert patched.status_code == 200
    assert patched.json()["prerequisites"] == [] and patched.json()["delivery"] is None
    put = client.put(
        f"/api/v1/achievements/{first.id}/prerequisites",
        json={"prerequisites": [out["id"]]},
        headers=t.headers,
    )
    assert put.status_code == 200 and put.json()["prerequisites"] == [out["id"]]


def test_api_refuses_bad_offers_and_cycles_as_problem_details(
    db: Session, client: TestClient
) -> None:
    t = factories.tenant(db)
    a = factories.achievement(db, t, name="First")
    b = factories.achievement(db, t, name="Second", prerequisites=[a.id])
    for patch in [
        {"cost": "-1", "currency": "EUR"},
        {"cost": "1.234", "currency": "EUR"},
        {"currency": "euro", "cost": "3"},
        {"delivery": "online"},
        {"endorsements": [""]},
        {"prerequisites": ["not-a-uuid"]},
        {"cost": "10"},
        {"prerequisites": [str(b.id)]},
        {"prerequisites": [str(uuid.uuid4())]},
    ]:
        refused = client.patch(f"/api/v1/achievements/{b.id}", json=patch, headers=t.headers)
        assert refused.status_code == 422, (patch, refused.text)
        assert refused.headers["content-type"].startswith("application/problem+json")
    loop = client.put(
        f"/api/v1/achievements/{a.id}/prerequisites",
        json={"prerequisites": [str(b.id)]},
        headers=t.headers,
    )
    assert loop.status_code == 409
    assert "First → Second → First" in loop.json()["detail"]
    assert loop.headers["content-type"].startswith("application/problem+json")


def test_credentials_do_not_carry_the_offer(db: Session, settings: object) -> None:
    """The OB 3.0 document is unchanged by these catalog-only fields."""
    from microcred.credentials import service as credentials

    t = factories.tenant(db)
    a = factories.achievement(
        db, t, cost=Decimal("10"), currency="EUR", delivery="blended", endorsements=["X Org"]
    )
    report = credentials.bulk_issue(
        db,
        actor=t.admin,
        settings=settings,  # type: ignore[arg-type]
        institution_id=t.id,
        rows=[
            credentials.BulkRow(
                learner_email="offer@example.org",
                achievement=a.slug,
                learner_name="Offer Learner",
                results=(),
            )
        ],
        create_learners=True,
    )
    award_id = report.rows[0].award_id
    assert award_id is not None
    award = credentials.get_award(db, institution_id=t.id, award_id=award_id)
    text = str(award.credential)
    assert "X Org" not in text and "blended" not in text and "EUR" not in text


# --- the console form -------------------------------------------------------------------------


# --- the console form -------------------------------------------------------------------------


def test_console_form_sets_the_offer_and_prerequisites(client: TestClient, db: Session) -> None:
    from tests.assessment.test_pages import field
    from tests.catalog.test_console_pages import achievements_of, form, signed_in

    t = signed_in(client, db)
    basics = factories.achievement(db, t, name="SQL basics")
    db.commit()
    page = client.get("/console/achievements/new")
    assert 'name="prerequisite"' in page.text and "SQL basics" in page.text
    assert '<select id="f-delivery" name="delivery"' in page.text
    token = field(page.text, "csrf_token")
    created = client.post(
        "/console/achievements/new",
        data={
            **form(
                cost="49.9",
                currency="eur",
                delivery="blended",
                endorsements="Data Guild\n\n  City Chamber  \n",
            ),
            "prerequisite": [str(basics.id)],
            "action": "save",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert created.status_code == 303, created.text
    made = next(a for a in achievements_of(db, t) if a.slug == "data-wrangling")
    assert (made.cost, made.currency, made.delivery) == (Decimal("49.90"), "EUR", "blended")
    assert made.endorsements == ["Data Guild", "City Chamber"]
    assert catalog.prerequisites_of(db, institution_id=t.id)[made.id] == {basics.id}

    edit = client.get(f"/console/achievements/{made.id}/edit")
    assert 'value="49.9"' in edit.text and 'value="EUR"' in edit.text
    assert f'value="{basics.id}" checked' in edit.text
    assert '<option value="blended" selected>' in edit.text
    # Unticking the prerequisite and changing the price keeps version 1.
    saved = client.post(
        f"/console/achievements/{made.id}/edit",
        data={
            **form(name=made.name, cost="0", currency="", delivery="", endorsements=""),
            "skill": [a.target_url for a in made.alignments],
            "action": "save",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith("done=saved")
    db.expire_all()
    assert catalog.prerequisites_of(db, institution_id=t.id)[made.id] == set()
    assert (made.version, made.cost, made.currency, made.delivery) == (1, 0, None, None)
    assert made.endorsements == []


def test_console_form_shows_refusals_beside_their_fields(client: TestClient, db: Session) -> None:
    from tests.assessment.test_pages import field
    from tests.catalog.test_console_pages import form, signed_in

    t = signed_in(client, db)
    first = factories.achievement(db, t, name="First step")
    second = factories.achievement(db, t, name="Second step", prerequisites=[first.id])
    db.commit()
    token = field(client.get("/console/achievements/new").text, "csrf_token")
    bad = client.post(
        "/console/achievements/new",
        data={**form(cost="-3", currency="EURO", delivery="online"), "csrf_token": token},
    )
    assert bad.status_code == 422
    assert 'id="f-cost-error"' in bad.text and 'id="f-currency-error"' in bad.text
    assert 'id="f-delivery-error"' in bad.text and "nothing was saved" in bad.text
    no_currency = client.post(
        "/console/achievements/new", data={**form(cost="5"), "csrf_token": token}
    )
    assert no_currency.status_code == 422
    assert "required when the achievement has a cost" in no_currency.text
    assert 'id="f-currency-error"' in no_currency.text
    loop = client.post(
        f"/console/achievements/{first.id}/edit",
        data={
            **form(name="First step"),
            "skill": [a.target_url for a in first.alignments],
            "prerequisite": [str(second.id)],
            "csrf_token": token,
        },
    )
    assert loop.status_code == 409
    assert 'id="f-prerequisites-error"' in loop.text
    assert "First step → Second step → First step" in loop.text
    assert f'value="{second.id}" checked' in loop.text  # as ticked, to fix
    db.expire_all()
    assert catalog.prerequisites_of(db, institution_id=t.id)[first.id] == set()
