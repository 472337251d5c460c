"""Property test of the whole API: whatever a client sends, the answer is never a 5xx.

Schemathesis generates requests from our OpenAPI document (valid and invalid bodies,
parameters and headers); each is sent with a real API token to the app of the test, whose
database is rolled back afterwards.

On PostgreSQL every phase runs, including the coverage phase (every boundary and wrong-type
case the schema defines, a few hundred requests per operation): PostgreSQL is the stricter
database (it refuses an over-long string, a bad UUID cast), so a missing validation shows there.
On SQLite the generated phases run (explicit examples and random fuzzing) without the coverage
phase, which would repeat the same hundreds of requests against the permissive database and
doubled the suite's longest test.
"""

from __future__ import annotations

import base64

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.transport.serialization import serialize_binary
from sqlalchemy.orm import Session, sessionmaker

from microcred.app import create_app
from microcred.kit.settings import Settings
from tests import factories

# Only to read the OpenAPI document: no request reaches this app's (unused) database.
_DOCUMENT_APP = create_app(
    Settings(
        environment="test",
        secret_key="doc-" * 10,
        database_url="sqlite://",
        key_encryption_key=base64.urlsafe_b64encode(b"k" * 32).decode(),
    ),
    session_factory=sessionmaker(),
)
schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", _DOCUMENT_APP)
generated_only = schemathesis.openapi.from_asgi(
    "/api/v1/openapi.json",
    _DOCUMENT_APP,
    config=SchemathesisConfig.from_dict({"phases": {"coverage": {"enabled": False}}}),
)


@schemathesis.serializer("application/pdf")
def _pdf_body(ctx: schemathesis.SerializationContext, value: object) -> bytes:
    # POST /api/v1/verify takes a PDF certificate as raw bytes, like a PNG badge.
    return serialize_binary(value)


@pytest.fixture
def api_token(db: Session) -> str:
    t = factories.tenant(db)
    factories.achievement(db, t)
    factories.learner(db, t)
    db.commit()
    return t.token


def _no_server_error(case: schemathesis.Case, client: TestClient, api_token: str) -> None:
    request = case.as_transport_kwargs(headers={"Authorization": f"Bearer {api_token}"})
    request.pop("base_url", None)
    if isinstance(request.get("data"), bytes | str):
        request["content"] = request.pop("data")  # raw bodies, as httpx wants them named
    client.cookies.clear()
    client.cookies.update(request.pop("cookies", None) or {})
    response = client.request(**request)
    assert response.status_code < 500, (case.method, case.path, response.text[:500])
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json"), (
            case.method,
            case.path,
            response.status_code,
        )


@schema.parametrize()
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
@settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(
    case: schemathesis.Case, client: TestClient, api_token: str
) -> None:
    _no_server_error(case, client, api_token)


@generated_only.parametrize()
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
def test_no_generated_request_gets_a_server_error(
    case: schemathesis.Case, client: TestClient, api_token: str
) -> None:
    _no_server_error(case, client, api_token)
