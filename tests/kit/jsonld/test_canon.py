"""RDFC-1.0 canonical N-Quads: the 1EdTech test vector byte for byte, pyld on everything else."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microcred.kit.jsonld import canon
from microcred.kit.jsonld.canon import CanonicalizationError, canonical_nquads, canonicalize
from microcred.kit.jsonld.rdf import Quad, to_rdf
from tests.kit.jsonld.ob_samples import pyld_canonical, random_credential, realistic_credential

EXAMPLES = Path(__file__).parents[2] / "data/credential-contexts/examples"
VECTOR = EXAMPLES / "test-vector-eddsa-rdfc-2022"
SPEC_EXAMPLES = sorted((EXAMPLES / "ob-v3p0-spec").glob("*.json"))


def load(path: Path) -> Any:
    return json.loads(path.read_text())


def test_vector_document_canonical_form_is_byte_identical() -> None:
    document = load(VECTOR / "unsigned-credential.json")
    assert canonical_nquads(document) == (VECTOR / "document-canon.nq").read_text()


def test_vector_proof_options_canonical_form_is_byte_identical() -> None:
    document = load(VECTOR / "unsigned-credential.json")
    options = load(VECTOR / "proof.json")
    del options["proofValue"]
    options["@context"] = document["@context"]
    assert canonical_nquads(options) == (VECTOR / "proof-canon.nq").read_text()


@pytest.mark.parametrize("path", SPEC_EXAMPLES, ids=[p.stem for p in SPEC_EXAMPLES])
def test_spec_examples_agree_with_pyld_in_safe_mode(path: Path) -> None:
    # Every example of the OB 3.0 specification bundled here is valid under safe mode.
    document = load(path)
    assert canonical_nquads(document) == pyld_canonical(document)


@pytest.mark.parametrize("seed", range(60))
def test_generated_credentials_agree_with_pyld(seed: int) -> None:
    document = random_credential(random.Random(seed))
    assert canonical_nquads(document) == pyld_canonical(document)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_any_generated_credential_agrees_with_pyld(seed: int) -> None:
    document = random_credential(random.Random(seed))
    assert canonical_nquads(document) == pyld_canonical(document)


def _colliding_first_degree_hashes(quads: list[Quad]) -> int:
    by_node = canon._quads_by_blank_node(quads)
    hashes = [canon._hash_first_degree(node, mine) for node, mine in by_node.items()]
    return len(hashes) - len(set(hashes))


def test_identical_siblings_take_the_n_degree_path_and_agree_with_pyld() -> None:
    document = realistic_credential(alignments=3, results=2, evidence=2)
    alignments = document["credentialSubject"]["achievement"]["alignment"]
    alignments.extend([dict(alignments[0]), dict(alignments[0])])
    for item in document["evidence"]:
        del item["id"]
    document["evidence"].append(dict(document["evidence"][0]))
    assert _colliding_first_degree_hashes(to_rdf(document)) >= 3
    assert canonical_nquads(document) == pyld_canonical(document)


def test_identical_subtrees_need_recursion_and_agree_with_pyld() -> None:
    ex = "https://example.com/ns#"
    leaf = {f"{ex}v": 1}
    parent = {f"{ex}child": [leaf, leaf], f"{ex}other": {f"{ex}child": leaf}}
    document = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": "urn:uuid:8b1e4f6a-0c2d-4e5f-9a7b-1c2d3e4f5a6b",
        f"{ex}items": [parent, parent, {f"{ex}child": [leaf]}],
    }
    assert _colliding_first_degree_hashes(to_rdf(document)) >= 5
    assert canonical_nquads(document) == pyld_canonical(document)


def test_output_ignores_input_labels_and_order() -> None:
    quads = to_rdf(random_credential(random.Random(7)))
    expected = canonicalize(quads)
    rng = random.Random(1)
    for _ in range(5):
        labels: dict[str, str] = {}

        def relabel(term: str, labels: dict[str, str] = labels) -> str:
            if not term.startswith("_:"):
                return term
            return labels.setdefault(term, f"_:x{rng.randrange(10**9)}n{len(labels)}")

        shuffled = [(relabel(s), p, relabel(o), relabel(g)) for s, p, o, g in quads]
        rng.shuffle(shuffled)
        assert canonicalize(shuffled) == expected


def test_named_graphs_and_plain_datasets() -> None:
    quads = [
        ("<https://ex/s>", "<https://ex/p>", '"b"', ""),
        ("<https://ex/s>", "<https://ex/p>", '"a"', ""),
        ("_:proof", "<https://ex/q>", '"x"', "_:graph"),
        ("<https://ex/s>", "<https://ex/proof>", "_:graph", ""),
    ]
    assert canonicalize(quads[:2]) == (
        '<https://ex/s> <https://ex/p> "a" .\n<https://ex/s> <https://ex/p> "b" .\n'
    )
    lines = canonicalize(quads).splitlines()
    assert '_:c14n1 <https://ex/q> "x" _:c14n0 .' in lines or (
        '_:c14n0 <https://ex/q> "x" _:c14n1 .' in lines
    )
    assert canonicalize([]) == ""


def test_indistinguishable_blank_node_cliques_hit_the_work_limit_quickly() -> None:
    # Seven blank nodes all linked to each other: every permutation looks the same, and the
    # exhaustive search would need millions of steps. A verifier must refuse it, fast.
    nodes = [f"_:n{i}" for i in range(7)]
    clique = [(a, "<https://ex/p>", b, "") for a in nodes for b in nodes if a != b]
    started = time.perf_counter()
    with pytest.raises(CanonicalizationError):
        canonicalize(clique)
    assert time.perf_counter() - started < 5
