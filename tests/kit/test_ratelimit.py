from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from microcred.app import create_app
from microcred.kit.settings import Settings
from microcred.kit.web.ratelimit import TokenBuckets


def test_bucket_allows_a_burst_then_paces() -> None:
    now = [0.0]
    buckets = TokenBuckets(per_minute=60, burst=3, clock=lambda: now[0])
    assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a") > 0  # burst spent
    assert buckets.take("b") == 0  # other clients are not affected
    now[0] += 1.0  # one token per second comes back
    assert buckets.take("a") == 0


def test_public_endpoints_answer_429_problems(
    settings: Settings, session_factory: sessionmaker[Session]
) -> None:
    limited = settings.model_copy(update={"public_rate_limit_per_minute": 60})
    with TestClient(create_app(limited, session_factory=session_factory)) as client:
        answers = [client.post("/api/v1/verify", content=b"{}").status_code for _ in range(12)]
        assert answers[:10] == [200] * 10 and answers[-1] == 429
        refused = client.post("/api/v1/verify", content=b"{}")
        assert refused.headers["content-type"] == "application/problem+json"
        assert int(refused.headers["retry-after"]) >= 1
        assert client.get("/api/v1/health").status_code == 200  # not a public endpoint
