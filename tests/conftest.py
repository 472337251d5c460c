"""Fixtures: every database test runs on SQLite and on PostgreSQL, in a rolled-back transaction,
on a schema built by the migrations (never `create_all`)."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from microcred.app import create_app
from microcred.kit import migrate
from microcred.kit.db import make_engine
from microcred.kit.settings import Settings

PG_ADMIN_URL = os.environ.get(
    "MICROCRED_TEST_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgresql"]


def make_settings(database_url: str, **overrides: object) -> Settings:
    # The semantic model is exercised by the `ml` tests; everything else links skills
    # with the dependency-free embedder so the suite stays fast and deterministic.
    overrides.setdefault("embedder", "hashed")
    return Settings(
        environment="test",
        database_url=database_url,
        secret_key=secrets.token_urlsafe(32),
        key_encryption_key=base64.urlsafe_b64encode(os.urandom(32)).decode(),
        base_url="https://microcred.test",
        jobs_inline=False,
        verifier_fetch_remote=False,
        **overrides,  # type: ignore[arg-type]
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("backend") == "postgresql":
            item.add_marker(pytest.mark.pg)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database per backend and test worker, migrated to head once."""
    if backend == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "microcred.sqlite"
        yield f"sqlite:///{path}"
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"microcred_test_{worker}_{os.getpid()}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(make_settings(database_url))
    with engine.begin() as connection:
        migrate.upgrade(connection)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """The outer transaction every test runs in and that is always rolled back."""
    with engine.connect() as connection:
        outer = connection.begin()
        yield connection
        if outer.is_active:
            outer.rollback()


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    # Commits inside the code under test only release savepoints of the outer transaction.
    return sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )


@pytest.fixture
def db(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    session = session_factory()
    yield session
    session.close()


# Building the app costs about 0.15 s (FastAPI analyses every route's dependencies), paid by
# hundreds of tests: they share one app per database and install their own settings and
# session factory on it (the app reads both from `app.state` on every request). Its public
# rate limit is off, since the buckets would outlive a test; tests of the limiter, or of other
# settings the middleware reads at start-up, build an app of their own.
_SHARED_APPS: dict[str, FastAPI] = {}


def shared_app(settings: Settings, session_factory: sessionmaker[Session]) -> FastAPI:
    app = _SHARED_APPS.get(settings.database_url)
    if app is None:
        app = create_app(
            settings.model_copy(update={"public_rate_limit_per_minute": 0}),
            session_factory=sessionmaker(),
        )
        _SHARED_APPS[settings.database_url] = app
    app.state.settings = settings
    app.state.sessionmaker = session_factory
    return app


@pytest.fixture
def client(settings: Settings, session_factory: sessionmaker[Session]) -> Iterator[TestClient]:
    with TestClient(
        shared_app(settings, session_factory), base_url="https://microcred.test"
    ) as client:
        yield client
