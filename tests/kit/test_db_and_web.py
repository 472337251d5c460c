from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import DBAPIError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from microcred.app import create_app
from microcred.kit import audit, migrate
from microcred.kit.principal import SYSTEM
from microcred.kit.settings import Settings
from tests import factories


def test_naive_datetimes_are_refused(db: Session) -> None:
    t = factories.tenant(db)
    learner = factories.learner(db, t)
    learner.created_at = dt.datetime(2026, 1, 1)
    with pytest.raises(StatementError, match="naive datetime"):
        db.flush()


def test_audit_log_is_append_only(db: Session) -> None:
    t = factories.tenant(db)
    audit.record(
        db,
        actor=SYSTEM,
        action="test.thing",
        subject_type="thing",
        subject_id=1,
        institution_id=t.id,
    )
    db.flush()
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(text("UPDATE audit_events SET action = 'rewritten'"))
    with pytest.raises(DBAPIError, match="append-only"), db.begin_nested():
        db.execute(text("DELETE FROM audit_events"))


def test_migrations_round_trip_and_match_the_models(engine: Engine) -> None:
    with engine.begin() as connection:
        migrate.check(connection)
        migrate.downgrade(connection, "base")
        assert not inspect(connection).has_table("awards")
        migrate.upgrade(connection)
        assert inspect(connection).has_table("awards")
        migrate.check(connection)


def test_unexpected_errors_are_problems_without_details(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    app = create_app(settings, session_factory=session_factory)  # its own: a route is added

    @app.get("/api/v1/explode")  # type: ignore[attr-defined,misc]
    def explode() -> None:
        raise RuntimeError("secret internals")

    response = TestClient(app, raise_server_exceptions=False).get("/api/v1/explode")  # type: ignore[arg-type]
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "secret" not in response.text


def test_security_headers_and_health(client: TestClient) -> None:
    response = client.get("/api/v1/health")
    assert response.json()["status"] == "ok"
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
