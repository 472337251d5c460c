"""The eddsa-rdfc-2022 cryptosuite: the 1EdTech test vector, round trips, and every refusal."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from microcred.credentials.proofs import (
    CRYPTOSUITE,
    PROOF_TYPE,
    ProofCheck,
    ProofError,
    extract_proof,
    hash_data,
    sign,
    verification_method_of,
    verify,
)
from microcred.kit.crypto.did import verification_method_public_key
from microcred.kit.crypto.keys import Ed25519KeyPair
from microcred.kit.jsonld.errors import SafeModeViolation
from tests.kit.jsonld.ob_samples import VERIFICATION_METHOD, realistic_credential

VECTOR = Path(__file__).parents[1] / "data/credential-contexts/examples/test-vector-eddsa-rdfc-2022"
# OB 3.0 implementation guide, "Linked Data Proof Test Vector" (1EdTech/openbadges-specification,
# ob_v3p0/impl/linked-data-proof-ob.md): the private key that produced signed-credential.json.
VECTOR_SEED = bytes.fromhex("6241a409e6707bb640a0140a8a32bc3d193c33a661747284d6adfa4ed4180be4")
CREATED = "2026-03-01T09:30:00Z"


def load(name: str) -> Any:
    return json.loads((VECTOR / name).read_text())


@pytest.fixture(scope="module")
def key_pair() -> Ed25519KeyPair:
    return Ed25519KeyPair.generate()


@pytest.fixture(scope="module")
def signed(key_pair: Ed25519KeyPair) -> dict[str, Any]:
    document = realistic_credential(alignments=3, results=3, evidence=2)
    return sign(
        document, key_pair=key_pair, verification_method=VERIFICATION_METHOD, created=CREATED
    )


# --- the 1EdTech test vector -----------------------------------------------------------------


def test_resigning_the_vector_reproduces_its_proof_value_exactly() -> None:
    expected = load("signed-credential.json")
    proof = expected["proof"]
    result = sign(
        load("unsigned-credential.json"),
        key_pair=Ed25519KeyPair.from_seed(VECTOR_SEED),
        verification_method=proof["verificationMethod"],
        created=proof["created"],
    )
    assert result["proof"]["proofValue"] == proof["proofValue"]
    assert result == expected


def test_the_vector_verifies_with_the_key_of_its_controller_document() -> None:
    signed_vector = load("signed-credential.json")
    method = verification_method_of(signed_vector)
    public_key = verification_method_public_key(load("issuer-controller-document.json"), method)
    check = verify(signed_vector, public_key=public_key)
    assert check == ProofCheck(
        ok=True,
        reason="the proof is valid",
        verification_method=method,
        proof_purpose="assertionMethod",
        created="2010-01-01T19:23:24Z",
        cryptosuite=CRYPTOSUITE,
        proof_type=PROOF_TYPE,
    )


def test_hash_data_is_proof_options_hash_then_document_hash() -> None:
    document = load("unsigned-credential.json")
    options = {k: v for k, v in load("proof.json").items() if k != "proofValue"}
    data = hash_data(document, {"@context": document["@context"], **options})
    assert data == (
        hashlib.sha256((VECTOR / "proof-canon.nq").read_bytes()).digest()
        + hashlib.sha256((VECTOR / "document-canon.nq").read_bytes()).digest()
    )


# --- signing ---------------------------------------------------------------------------------


def test_sign_adds_one_data_integrity_proof(
    signed: dict[str, Any], key_pair: Ed25519KeyPair
) -> None:
    proof = signed["proof"]
    assert set(proof) == {
        "type",
        "cryptosuite",
        "created",
        "verificationMethod",
        "proofPurpose",
        "proofValue",
    }
    assert proof["type"] == "DataIntegrityProof" and proof["cryptosuite"] == "eddsa-rdfc-2022"
    assert proof["proofValue"].startswith("z")
    assert verify(signed, public_key=key_pair.public_key).ok


def test_sign_does_not_change_its_input(key_pair: Ed25519KeyPair) -> None:
    document = realistic_credential(alignments=1, results=1, evidence=0)
    before = copy.deepcopy(document)
    sign(document, key_pair=key_pair, verification_method=VERIFICATION_METHOD, created=CREATED)
    assert document == before


@pytest.mark.parametrize(
    ("created", "written"),
    [
        (datetime(2026, 3, 1, 9, 30, 0, 123456, tzinfo=UTC), "2026-03-01T09:30:00Z"),
        (datetime(2026, 3, 1, 11, 30, tzinfo=timezone(timedelta(hours=2))), "2026-03-01T09:30:00Z"),
        ("2026-03-01T09:30:00+02:00", "2026-03-01T09:30:00+02:00"),
    ],
)
def test_created_is_an_xml_schema_datetime(
    created: datetime | str, written: str, key_pair: Ed25519KeyPair
) -> None:
    document = realistic_credential(alignments=0, results=1, evidence=0)
    result = sign(
        document, key_pair=key_pair, verification_method=VERIFICATION_METHOD, created=created
    )
    assert result["proof"]["created"] == written
    assert verify(result, public_key=key_pair.public_key).ok


def test_sign_refuses_what_it_cannot_sign_faithfully(
    signed: dict[str, Any], key_pair: Ed25519KeyPair
) -> None:
    document = realistic_credential(alignments=0, results=1, evidence=0)
    with pytest.raises(ValueError, match="time-zone aware"):
        sign(document, key_pair=key_pair, verification_method="x", created=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="time zone"):
        sign(document, key_pair=key_pair, verification_method="x", created="2026-01-01T00:00:00")
    with pytest.raises(ValueError, match="already has a proof"):
        sign(signed, key_pair=key_pair, verification_method=VERIFICATION_METHOD, created=CREATED)
    with pytest.raises(ValueError, match="no @context"):
        sign({"id": "urn:x"}, key_pair=key_pair, verification_method="x", created=CREATED)
    document["credentialSubject"]["grade"] = "A+"
    with pytest.raises(SafeModeViolation, match=r"credentialSubject\.grade"):
        sign(document, key_pair=key_pair, verification_method=VERIFICATION_METHOD, created=CREATED)


# --- verification: refusals ------------------------------------------------------------------


def _failed(document: Any, key_pair: Ed25519KeyPair, **kwargs: Any) -> ProofCheck:
    check = verify(document, public_key=key_pair.public_key, **kwargs)
    assert not check.ok
    return check


def test_missing_proof(signed: dict[str, Any], key_pair: Ed25519KeyPair) -> None:
    document = {k: v for k, v in signed.items() if k != "proof"}
    assert _failed(document, key_pair).reason == "the credential has no proof"


def test_several_proofs_are_named_as_such(signed: dict[str, Any], key_pair: Ed25519KeyPair) -> None:
    document = {**signed, "proof": [signed["proof"], signed["proof"]]}
    assert "2 proofs" in _failed(document, key_pair).reason


def test_a_one_element_proof_array_is_read(
    signed: dict[str, Any], key_pair: Ed25519KeyPair
) -> None:
    assert verify({**signed, "proof": [signed["proof"]]}, public_key=key_pair.public_key).ok


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("type", "Ed25519Signature2020", "proof type is 'Ed25519Signature2020'"),
        ("cryptosuite", "eddsa-2022", "cryptosuite is 'eddsa-2022'"),
        ("cryptosuite", None, "cryptosuite is None"),
        ("proofPurpose", "authentication", "proof purpose is 'authentication'"),
        ("verificationMethod", 42, "no verificationMethod"),
        ("proofValue", None, "no proofValue"),
        ("proofValue", "uAAAA", "expected base58btc"),
        ("proofValue", "z0OIl", "proofValue is malformed"),
        ("proofValue", "z2NEpo7TZRRrLZSi2U", "holds 12 bytes"),
    ],
)
def test_proof_fields_are_checked(
    signed: dict[str, Any], key_pair: Ed25519KeyPair, field: str, value: Any, reason: str
) -> None:
    proof = {**signed["proof"], field: value}
    if value is None:
        del proof[field]
    check = _failed({**signed, "proof": proof}, key_pair)
    assert reason in check.reason
    assert check.safe_mode_error is None


def test_data_added_after_signing_is_a_safe_mode_failure(
    signed: dict[str, Any], key_pair: Ed25519KeyPair
) -> None:
    forged = copy.deepcopy(signed)
    forged["credentialSubject"]["grade"] = "A+"
    check = _failed(forged, key_pair)
    assert check.safe_mode_error is not None
    assert "credentialSubject.grade" in check.safe_mode_error
    assert check.reason == check.safe_mode_error


def _unknown_context(document: dict[str, Any]) -> None:
    document["@context"].append("https://evil.example/ctx.json")


def _redefined_name(document: dict[str, Any]) -> None:
    document["@context"].append({"name": "https://evil.example/name"})


def _undefined_type(document: dict[str, Any]) -> None:
    document["credentialSubject"]["type"].append("Transcript")


def _undefined_proof_field(document: dict[str, Any]) -> None:
    document["proof"]["challenge2"] = "x"


def _index_map(document: dict[str, Any]) -> None:
    document["@context"].append({"m": {"@id": "https://example.com/m", "@container": "@index"}})
    document["m"] = {"a": "x"}


def _invalid_value(document: dict[str, Any]) -> None:
    document["name"] = {"@value": 1, "@language": "en"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (_unknown_context, "credential uses a context this verifier does not accept"),
        (_redefined_name, "credential redefines a protected term"),
        (_undefined_type, "'Transcript' is not defined"),
        (_undefined_proof_field, "proof holds data its contexts do not define"),
        (_index_map, "JSON-LD this verifier does not support"),
        (_invalid_value, "credential is not valid JSON-LD"),
    ],
)
def test_documents_that_cannot_be_canonicalized_are_refused(
    signed: dict[str, Any], key_pair: Ed25519KeyPair, change: Any, reason: str
) -> None:
    forged = copy.deepcopy(signed)
    change(forged)
    check = _failed(forged, key_pair)
    assert reason in check.reason
    assert check.safe_mode_error == check.reason


def test_an_undefined_proof_field_is_located_in_the_proof(
    signed: dict[str, Any], key_pair: Ed25519KeyPair
) -> None:
    forged = copy.deepcopy(signed)
    _undefined_proof_field(forged)
    assert "at proof.challenge2" in _failed(forged, key_pair).reason


def test_wrong_key(signed: dict[str, Any], key_pair: Ed25519KeyPair) -> None:
    check = verify(signed, public_key=Ed25519KeyPair.generate().public_key)
    assert not check.ok and "signature does not match" in check.reason


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _leaves(item, (*path, index))
    else:
        yield path


def _tampered(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if value.startswith("did:") or "://" in value or value.startswith("urn:"):
        return value + "x"
    return value + " (edited)"


def test_tampering_any_signed_field_fails(signed: dict[str, Any], key_pair: Ed25519KeyPair) -> None:
    paths = [p for p in _leaves(signed) if p[0] != "@context" and p != ("proof", "proofValue")]
    assert len(paths) > 60
    for path in paths:
        forged = copy.deepcopy(signed)
        *parents, last = path
        target = forged
        for step in parents:
            target = target[step]
        target[last] = _tampered(target[last])
        check = verify(forged, public_key=key_pair.public_key)
        assert not check.ok, path


def test_a_proof_context_must_prefix_the_document_context(
    signed: dict[str, Any], key_pair: Ed25519KeyPair
) -> None:
    good = {**signed, "proof": {**signed["proof"], "@context": signed["@context"][:1]}}
    # Valid prefix, but the proof options were signed without it: same canonical form here.
    assert verify(good, public_key=key_pair.public_key).ok
    bad = {**signed, "proof": {**signed["proof"], "@context": ["https://www.w3.org/ns/did/v1"]}}
    assert "not a prefix" in _failed(bad, key_pair).reason


def test_helpers_read_the_proof_without_verifying(signed: dict[str, Any]) -> None:
    assert extract_proof(signed) is signed["proof"]
    assert verification_method_of(signed) == VERIFICATION_METHOD
    for bad, message in [
        ([], "not a JSON object"),
        ({}, "no proof"),
        ({"proof": "z..."}, "not a JSON object"),
        ({"proof": [{}, {}]}, "2 proofs"),
        ({"proof": {"type": PROOF_TYPE}}, "no verificationMethod"),
    ]:
        with pytest.raises(ProofError, match=message):
            verification_method_of(bad)  # type: ignore[arg-type]  # a client can send anything


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["id", "type", "name", "@context", "@value", "@list", "@id", "x", "ex:y"]
            )
            | st.text(max_size=5),
            children,
            max_size=4,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(garbage=JSON, where=st.sampled_from(["credentialSubject", "proof", "@context", "name"]))
def test_verify_never_raises_for_client_data(
    signed: dict[str, Any], key_pair: Ed25519KeyPair, garbage: Any, where: str
) -> None:
    forged = copy.deepcopy(signed)
    forged[where] = garbage
    check = verify(forged, public_key=key_pair.public_key)
    assert isinstance(check, ProofCheck) and not check.ok
