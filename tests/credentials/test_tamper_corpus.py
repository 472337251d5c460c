"""Our verifier and Digital Bazaar's agree on every credential of the tamper corpus."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from microcred.credentials import verifier
from microcred.kit.settings import Settings
from tests.credentials import corpus

INTEROP = Path(__file__).parents[1] / "interop"


def run_peer(payload: dict[str, Any]) -> dict[str, Any]:
    if shutil.which("node") is None or not (INTEROP / "node_modules").is_dir():
        pytest.fail("the Node verifier is not installed: run `make interop-deps`")
    done = subprocess.run(
        ["node", str(INTEROP / "verify.mjs")],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def ours(built: corpus.Corpus, case: corpus.Case) -> verifier.Verdict:
    resolver = verifier.OfflineResolver(built.documents)
    return verifier.verify(case.credential, resolver=resolver)


def test_our_verifier_on_the_corpus(db: Session, settings: Settings) -> None:
    built = corpus.build(db, settings)
    for case in built.cases:
        verdict = ours(built, case)
        assert verdict.valid == case.valid, (case.name, verdict.to_dict())
        if not case.valid:
            failed = [c for c in verdict.checks if not c.ok and not c.skipped]
            assert failed, case.name
            assert failed[0].name == case.failing_check, (case.name, verdict.to_dict())
            assert case.reason in failed[0].reason, (case.name, failed[0].reason)


@pytest.mark.interop
def test_digital_bazaar_agrees_on_every_case(db: Session, settings: Settings) -> None:
    built = corpus.build(db, settings)
    peer = run_peer(
        {
            "documents": built.documents,
            "checkStatus": True,
            "credentials": [{"name": c.name, "credential": c.credential} for c in built.cases],
        }
    )
    by_name = {r["name"]: r for r in peer["results"]}
    disagreements = []
    for case in built.cases:
        our_valid = ours(built, case).valid
        peer_valid = by_name[case.name]["verified"]
        if not (our_valid == peer_valid == case.valid):
            disagreements.append(
                (case.name, case.valid, our_valid, peer_valid, by_name[case.name]["errors"])
            )
    assert disagreements == []


@pytest.mark.interop
def test_digital_bazaar_verifies_the_1edtech_test_vector() -> None:
    folder = (
        Path(__file__).parents[1]
        / "data"
        / "credential-contexts"
        / "examples"
        / "test-vector-eddsa-rdfc-2022"
    )
    signed = json.loads((folder / "signed-credential.json").read_text())
    controller = json.loads((folder / "issuer-controller-document.json").read_text())
    peer = run_peer(
        {
            "documents": {controller["id"]: controller},
            "credentials": [{"name": "vector", "credential": signed}],
        }
    )
    assert peer["results"][0]["verified"], peer
    mine = verifier.verify(
        signed, resolver=verifier.OfflineResolver({controller["id"]: controller})
    )
    assert [c.name for c in mine.checks if not c.ok] == [], mine.to_dict()
