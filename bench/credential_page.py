"""The public credential page: server time of `GET /credentials/{id}` with 10,000 awards.

Target (issue: "fast and cacheable"): p95 server time under 50 ms on SQLite with 10,000
awards in the database, and a page under 100 KB. The awards are bulk-issued through the real
service by a did:web institution (its DID document and status list come from the database
on every view, the costlier case), made public, and served by the real app in-process.

"Server time" is measured by an ASGI wrapper around the app, from the request reaching the
app to the last body byte leaving it; the client-observed time (TestClient, same process) is
reported beside it.
"""

from __future__ import annotations

import base64
import os
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import insert, select

from bench.credentials import SKILLS
from microcred.app import create_app
from microcred.catalog import service as catalog
from microcred.catalog.schemas import AchievementIn, AlignmentIn, ResultDescriptionIn
from microcred.credentials import service as credentials
from microcred.credentials import verifier
from microcred.credentials.models import Award, CredentialRecord
from microcred.identity import service as identity
from microcred.kit import migrate
from microcred.kit.db import make_engine, make_sessionmaker, unit_of_work
from microcred.kit.principal import SYSTEM, Principal
from microcred.kit.settings import Settings

AWARDS = 10_000
SAMPLE = 2_000
TARGET_P95_MS = 50.0
TARGET_BYTES = 100 * 1024
BASE_URL = "https://bench.microcred.test"
HTML = {"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
VC = {"Accept": "application/vc+ld+json"}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class ServerTimer:
    """Wraps the app; records seconds from the request to the end of the response body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.samples: list[float] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()

        async def timed_send(message: Message) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.samples.append(time.perf_counter() - start)

        await self.app(scope, receive, timed_send)


def settings_for(path: Path) -> Settings:
    return Settings(
        environment="test",
        database_url=f"sqlite:///{path}",
        secret_key="bench-" + "x" * 30,
        key_encryption_key=base64.urlsafe_b64encode(os.urandom(32)).decode(),
        base_url=BASE_URL,
        jobs_inline=False,
        verifier_fetch_remote=False,
        # One client asks thousands of times a minute; the per-client limit would answer 429.
        public_rate_limit_per_minute=0,
    )


def seed(settings: Settings, count: int) -> list[uuid.UUID]:
    """Migrate, then bulk-issue `count` public awards of one did:web institution."""
    engine = make_engine(settings)
    with engine.begin() as connection:
        migrate.upgrade(connection)
    factory = make_sessionmaker(engine)
    with unit_of_work(factory) as session:
        institution = identity.create_institution(
            session,
            actor=SYSTEM,
            slug="page-u",
            name="Page Bench University",
            did_method="web",
            url="https://bench.example",
        )
        admin = Principal(
            kind="system",
            id=None,
            institution_id=institution.id,
            roles=frozenset({"admin", "issuer"}),
        )
        catalog.create_achievement(
            session,
            actor=admin,
            institution_id=institution.id,
            data=AchievementIn(
                slug="data-analysis",
                name="Data Analysis with Python and SQL",
                description="Cleans, queries and analyses tabular data; communicates findings.",
                criteria_narrative="Passed an adaptive assessment and a reviewed project.",
                hours=Decimal("24"),
                alignments=[AlignmentIn(target_url=u) for u in SKILLS],  # type: ignore[arg-type]
                result_descriptions=[
                    ResultDescriptionIn(
                        key="score",
                        name="Scaled score",
                        result_type="ScaledScore",
                        value_min="0",
                        value_max="100",
                    )
                ],
            ),
        )
        report = credentials.bulk_issue(
            session,
            actor=admin,
            settings=settings,
            institution_id=institution.id,
            rows=[
                credentials.BulkRow(
                    learner_email=f"l{i}@bench.example",
                    achievement="data-analysis",
                    learner_name=f"Learner {i}",
                    results=(credentials.ResultIn("score", str(40 + i % 60)),),
                    evidence=(
                        credentials.EvidenceIn(name="Project", url=f"https://bench.example/p/{i}"),
                    ),
                )
                for i in range(count)
            ],
            create_learners=True,
        )
        assert report.issued == count, (report.issued, report.errors)
        award_ids = list(session.scalars(select(Award.id)))
        sample = session.get(Award, award_ids[0])
        assert sample is not None
        verdict = credentials.verify_document(session, settings=settings, data=sample.credential)
        assert verdict.valid, verdict.to_dict()
        # The learners' choice to share: the public page only shows public records.
        for start in range(0, len(award_ids), 5_000):
            session.execute(
                insert(CredentialRecord),
                [{"award_id": a, "public": True} for a in award_ids[start : start + 5_000]],
            )
    engine.dispose()
    return award_ids


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50/p95/p99 in milliseconds (nearest-rank) and requests per second of server time."""
    ordered = sorted(samples)

    def rank(p: float) -> float:
        return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered)) - 1))] * 1000

    total = sum(ordered)
    return {
        "p50": rank(50),
        "p95": rank(95),
        "p99": rank(99),
        "mean": statistics.fmean(ordered) * 1000,
        "per_second": len(ordered) / total if total else float("inf"),
    }


def run_pass(
    client: TestClient, timer: ServerTimer, ids: list[uuid.UUID], headers: dict[str, str]
) -> tuple[dict[str, float], dict[str, float], list[int]]:
    """One request per id: (server-time stats, client-time stats, body sizes)."""
    timer.samples.clear()
    client_times: list[float] = []
    sizes: list[int] = []
    for award_id in ids:
        start = time.perf_counter()
        response = client.get(f"/credentials/{award_id}", headers=headers)
        client_times.append(time.perf_counter() - start)
        assert response.status_code == 200, (response.status_code, response.text[:300])
        sizes.append(len(response.content))
    assert len(timer.samples) == len(ids)
    return percentiles(timer.samples), percentiles(client_times), sizes


def measure(count: int = AWARDS, sample: int = SAMPLE) -> dict[str, Any]:
    path = Path("/tmp") / f"microcred-pages-{uuid.uuid4().hex}.sqlite"
    settings = settings_for(path)
    try:
        print(f"seeding {count:,} public awards into SQLite ...", flush=True)
        start = time.perf_counter()
        award_ids = seed(settings, count)
        seed_seconds = time.perf_counter() - start
        engine = make_engine(settings)
        app = create_app(settings, session_factory=make_sessionmaker(engine))
        timer = ServerTimer(app)
        picked = random.Random(7).sample(award_ids, min(sample, len(award_ids)))
        warmup = [a for a in award_ids if a not in set(picked)][:20]
        results: dict[str, Any] = {"count": count, "sample": len(picked), "seed_s": seed_seconds}
        with TestClient(timer, base_url=BASE_URL) as client:
            # Templates compiled and contexts loaded, on awards outside the sample.
            run_pass(client, timer, warmup, HTML)
            # No verdict is cached per credential (see service.verify_document); the one cache
            # on this path is the verified status list, emptied so "cold" pays for it again.
            verifier._LIST_VERDICTS.clear()
            print(f"{len(picked):,} pages, first view of each ...", flush=True)
            results["cold"] = run_pass(client, timer, picked, HTML)
            print(f"{len(picked):,} pages, second view of each ...", flush=True)
            results["warm"] = run_pass(client, timer, picked, HTML)
            print(f"{len(picked):,} credentials as JSON-LD ...", flush=True)
            results["json"] = run_pass(client, timer, picked, VC)
        engine.dispose()
        return results
    finally:
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)


def section(*, count: int = AWARDS, sample: int = SAMPLE) -> list[str]:
    """The public credential page section of docs/benchmarks.md (Markdown lines)."""
    results = measure(count, sample)

    def status(ok: bool) -> str:
        return "**met**" if ok else "**not met**"

    def row(label: str, key: str, *, page: bool) -> str:
        server, client, sizes = results[key]
        size = f"{statistics.fmean(sizes):,.0f} B (max {max(sizes):,})"
        verdict = status(server["p95"] < TARGET_P95_MS and (not page or max(sizes) < TARGET_BYTES))
        return (
            f"| {label} | {server['p50']:.1f} | {server['p95']:.1f} | {server['p99']:.1f} | "
            f"{server['per_second']:,.0f}/s | {client['p95']:.1f} | {size} | {verdict} |"
        )

    return [
        "## Public credential page",
        "",
        f"Data: {results['count']:,} awards of one did:web institution bulk-issued into SQLite "
        f"({results['seed_s']:.0f} s to seed) and made public; `GET /credentials/{{id}}` for "
        f"{results['sample']:,} random awards through the real app in-process. Server time is "
        "from the request reaching the app to its last body byte; the client column adds the "
        "in-process test client. The HTML page verifies the credential on every view, with "
        "nothing cached per credential (signature, issuer key from the DID document, validity, "
        "status list read fresh, issuer's register) and logs the view; cold is the first view "
        "of each credential in a warmed-up process with the status-list cache emptied, warm the "
        "second.",
        "",
        "| request | p50 ms | p95 ms | p99 ms | server req/s | client p95 ms | size | "
        f"target: p95 < {TARGET_P95_MS:.0f} ms, page < {TARGET_BYTES // 1024} KB |",
        "|---|---|---|---|---|---|---|---|",
        row("HTML page, first view of each (cold)", "cold", page=True),
        row("HTML page, second view of each (warm)", "warm", page=True),
        row("JSON-LD (`Accept: application/vc+ld+json`)", "json", page=False),
        "",
    ]
