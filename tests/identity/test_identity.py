from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from microcred.identity import service as identity
from microcred.kit import audit
from microcred.kit.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, NotFound
from microcred.kit.principal import Principal
from tests import factories


def test_sign_in_opens_a_session_that_resolves_to_the_account(db: Session) -> None:
    t = factories.tenant(db)
    learner = factories.learner(db, t, password=factories.PASSWORD)
    secret, record = identity.sign_in(
        db,
        institution_slug=t.institution.slug,
        email=learner.email.upper(),
        password=factories.PASSWORD,
        days=1,
    )
    principal = identity.principal_for_session(db, secret=secret)
    assert principal is not None and principal.kind == "learner" and principal.id == learner.id
    assert record.token_hash != secret  # only the hash is stored
    identity.sign_out(db, secret=secret)
    assert identity.principal_for_session(db, secret=secret) is None


def test_wrong_password_and_unknown_accounts_fail_the_same_way(db: Session) -> None:
    t = factories.tenant(db)
    learner = factories.learner(db, t, password=factories.PASSWORD)
    for slug, email in [
        (t.institution.slug, learner.email),
        (t.institution.slug, "x@y.org"),
        ("no-such-place", learner.email),
    ]:
        with pytest.raises(NotAuthenticated, match="e-mail or password is not right"):
            identity.sign_in(
                db, institution_slug=slug, email=email, password="wrong password!", days=1
            )


def test_revoked_learner_cannot_sign_in(db: Session) -> None:
    t = factories.tenant(db)
    learner = factories.learner(db, t, password=factories.PASSWORD)
    identity.revoke_learner(
        db, actor=t.admin, institution_id=t.id, learner_id=learner.id, reason="identity fraud"
    )
    with pytest.raises(NotAuthenticated):
        identity.sign_in(
            db,
            institution_slug=t.institution.slug,
            email=learner.email,
            password=factories.PASSWORD,
            days=1,
        )
    events = audit.history(db, institution_id=t.id, subject_type="learner", subject_id=learner.id)
    assert [e.action for e in events] == ["learner.create", "learner.revoke"]
    assert events[-1].reason == "identity fraud"


def test_api_tokens_are_hashed_scoped_and_revocable(db: Session) -> None:
    t = factories.tenant(db)
    principal = identity.principal_for_api_token(db, secret=t.token)
    assert principal is not None and principal.institution_id == t.id
    assert "issue" in principal.scopes
    [token] = identity.list_api_tokens(db, institution_id=t.id)
    assert token.token_hash != t.token and t.token.startswith(token.prefix)
    identity.revoke_api_token(db, actor=t.admin, institution_id=t.id, token_id=token.id)
    assert identity.principal_for_api_token(db, secret=t.token) is None


def test_tenants_cannot_see_each_others_learners(db: Session) -> None:
    a, b = factories.tenant(db), factories.tenant(db)
    learner = factories.learner(db, a)
    with pytest.raises(NotFound):
        identity.get_learner(db, institution_id=b.id, learner_id=learner.id)


def test_roles_are_enforced(db: Session) -> None:
    t = factories.tenant(db)
    analyst = Principal(kind="staff", id=None, institution_id=t.id, roles=frozenset({"analyst"}))
    with pytest.raises(Forbidden):
        identity.create_learner(
            db, actor=analyst, institution_id=t.id, email="a@b.org", display_name="A"
        )


def test_input_rules(db: Session) -> None:
    t = factories.tenant(db)
    with pytest.raises(InvalidInput):
        identity.create_learner(
            db, actor=t.admin, institution_id=t.id, email="not-an-email", display_name="A"
        )
    factories.learner(db, t, email="dup@example.org")
    with pytest.raises(Conflict):
        factories.learner(db, t, email="DUP@example.org")
    with pytest.raises(InvalidInput):
        identity.create_staff_member(
            db,
            actor=t.admin,
            institution_id=t.id,
            email="s@e.org",
            display_name="S",
            roles=["wizard"],
        )
    with pytest.raises(InvalidInput):
        identity.create_institution(db, actor=t.admin, slug="Bad Slug", name="x")


def test_institution_updates_keep_required_fields(db: Session) -> None:
    t = factories.tenant(db)
    with pytest.raises(InvalidInput, match="needs a name"):
        identity.update_institution(db, actor=t.admin, institution_id=t.id, changes={"name": None})
    with pytest.raises(InvalidInput):
        identity.update_institution(
            db, actor=t.admin, institution_id=t.id, changes={"email": "not-an-email"}
        )
    updated = identity.update_institution(
        db, actor=t.admin, institution_id=t.id, changes={"url": "", "email": "Badges@Example.EDU"}
    )
    assert updated.url is None and updated.email == "badges@example.edu"


def test_staff_record_how_a_learners_identity_was_checked(client: TestClient, db: Session) -> None:
    t = factories.tenant(db)
    other = factories.tenant(db)
    learner = factories.learner(db, t)
    db.commit()
    assert learner.identity_assurance == "self_asserted"
    url = f"/api/v1/learners/{learner.id}/identity-assurance"
    answered = client.put(url, json={"level": "id_document"}, headers=t.headers)
    assert answered.status_code == 200, answered.text
    assert answered.json()["identity_assurance"] == "id_document"
    refused = client.put(url, json={"level": "passport-ish"}, headers=t.headers)
    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert client.put(url, json={"level": "email"}, headers=other.headers).status_code == 404
    history = audit.history(db, institution_id=t.id, subject_type="learner", subject_id=learner.id)
    assert [e.action for e in history][-1] == "learner.identity_assurance"
    with pytest.raises(Forbidden):
        identity.set_identity_assurance(
            db,
            actor=Principal(
                kind="learner",
                id=learner.id,
                institution_id=t.id,
                roles=frozenset(),
                label="L",
            ),
            learner_id=learner.id,
            level="in_person",
        )
