"""did:key documents, did:web locations, and multi-key issuer DID documents."""

from __future__ import annotations

import pytest

from microcred.kit.crypto.did import (
    DID_CONTEXT,
    did_document,
    did_key_from_public_key,
    did_key_verification_method_id,
    did_web_from_url,
    did_web_to_url,
    find_verification_method,
    resolve_did_key,
    verification_method_public_key,
)
from microcred.kit.crypto.keys import Ed25519KeyPair
from microcred.kit.jsonld.canon import canonical_nquads

MULTIKEY = "z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"
DID_KEY = f"did:key:{MULTIKEY}"


def test_did_key_from_a_public_key_or_its_multikey() -> None:
    pair = Ed25519KeyPair.generate()
    assert did_key_from_public_key(pair.public_key) == f"did:key:{pair.public_multikey}"
    assert did_key_from_public_key(MULTIKEY) == DID_KEY
    assert did_key_verification_method_id(DID_KEY) == f"{DID_KEY}#{MULTIKEY}"
    with pytest.raises(ValueError, match="public Multikey"):
        did_key_from_public_key("z6Mk-not-a-key")


def test_resolve_did_key_builds_the_one_method_document() -> None:
    method_id = f"{DID_KEY}#{MULTIKEY}"
    document = resolve_did_key(DID_KEY)
    assert document == resolve_did_key(method_id)
    assert document["@context"] == DID_CONTEXT
    assert document["id"] == DID_KEY
    assert document["verificationMethod"] == [
        {
            "id": method_id,
            "type": "Multikey",
            "controller": DID_KEY,
            "publicKeyMultibase": MULTIKEY,
        }
    ]
    for relation in ("assertionMethod", "authentication"):
        assert document[relation] == [method_id]
    assert verification_method_public_key(document, method_id).multikey == MULTIKEY


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("did:web:example.com", "not a did:key"),
        ("did:key:zQ3shokFTS3brHcDQrn82RUDfCZESWL1ZdCEJwekUDPQiYBme", "expected ed01"),
        (f"{DID_KEY}#z6MkotherKey", "must repeat the key"),
    ],
)
def test_resolve_did_key_errors(value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        resolve_did_key(value)


@pytest.mark.parametrize(
    ("did", "url"),
    [
        ("did:web:example.com", "https://example.com/.well-known/did.json"),
        ("did:web:w3c-ccg.github.io:user:alice", "https://w3c-ccg.github.io/user/alice/did.json"),
        ("did:web:example.com%3A3000:user:alice", "https://example.com:3000/user/alice/did.json"),
        (
            "did:web:badges.example.edu:issuers:a%20b",
            "https://badges.example.edu/issuers/a%20b/did.json",
        ),
    ],
)
def test_did_web_and_url_are_inverse(did: str, url: str) -> None:
    # Examples of the did:web method specification, section "Read (Resolve)".
    assert did_web_to_url(did) == url
    assert did_web_from_url(url) == did


@pytest.mark.parametrize(
    ("url", "did"),
    [
        ("https://example.com", "did:web:example.com"),
        ("https://example.com/", "did:web:example.com"),
        ("https://Example.COM/issuers/42", "did:web:example.com:issuers:42"),
        ("https://example.com:8443/.well-known/did.json", "did:web:example.com%3A8443"),
    ],
)
def test_did_web_from_bare_locations(url: str, did: str) -> None:
    assert did_web_from_url(url) == did


@pytest.mark.parametrize(
    ("did", "message"),
    [
        ("did:key:z6Mk", "not a did:web"),
        ("did:web:", "not a valid domain"),
        ("did:web:exa_mple.com", "not a valid domain"),
        ("did:web:-bad.com", "not a valid domain"),
        ("did:web:192.168.0.1", "not an IP address"),
        ("did:web:example.com%3A99999", "not a valid port"),
        ("did:web:example.com%3Ahttp", "not a valid port"),
        ("did:web:example.com::alice", "non-empty"),
        ("did:web:example.com:..", "non-empty"),
        ("did:web:example.com:a/b", "must not contain"),
        ("did:web:example.com#frag", "must not contain"),
        ("did:web:example.com:a%2", "malformed percent-encoding"),
        ("did:web:example.com:a$b", "cannot hold"),
    ],
)
def test_did_web_to_url_rejects_malformed_identifiers(did: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        did_web_to_url(did)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://example.com/did.json", "https only"),
        ("https://example.com/did.json?x=1", "no query"),
        ("https://user@example.com/", "no query"),
        ("https://10.0.0.1/did.json", "not an IP address"),
    ],
)
def test_did_web_from_url_rejects_unusable_urls(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        did_web_from_url(url)


def test_did_document_lists_current_and_retired_keys_for_assertion() -> None:
    did = "did:web:badges.example.edu"
    current, retired = Ed25519KeyPair.generate(), Ed25519KeyPair.generate()
    document = did_document(
        did,
        [("key-2", current.public_multikey), ("key-1", retired.public_multikey)],
        also_known_as=["https://badges.example.edu"],
    )
    assert document["@context"] == DID_CONTEXT
    assert [m["id"] for m in document["verificationMethod"]] == [f"{did}#key-2", f"{did}#key-1"]
    assert all(
        m["controller"] == did and m["type"] == "Multikey" for m in document["verificationMethod"]
    )
    assert document["assertionMethod"] == [f"{did}#key-2", f"{did}#key-1"]
    assert document["authentication"] == [f"{did}#key-2"]
    # A credential signed before the rotation still finds its key.
    assert verification_method_public_key(document, f"{did}#key-1") == retired.public_key
    assert find_verification_method(document, f"{did}#key-2")["publicKeyMultibase"] == (
        current.public_multikey
    )
    # The document is valid JSON-LD under safe mode: every term is defined by its contexts.
    assert "<https://w3id.org/security#assertionMethod>" in canonical_nquads(document)


def test_did_document_input_errors() -> None:
    key = Ed25519KeyPair.generate().public_multikey
    with pytest.raises(ValueError, match="at least one key"):
        did_document("did:web:example.com", [])
    with pytest.raises(ValueError, match="unique"):
        did_document("did:web:example.com", [("k", key), ("k", key)])
    with pytest.raises(ValueError, match="usable fragment"):
        did_document("did:web:example.com", [("a#b", key)])
    with pytest.raises(ValueError, match="public Multikey"):
        did_document("did:web:example.com", [("k", "zNotAKey")])


def test_verification_method_public_key_checks_what_a_verifier_must() -> None:
    did = "did:web:example.com"
    key = Ed25519KeyPair.generate().public_multikey
    document = did_document(did, [("k1", key)])
    with pytest.raises(ValueError, match="not a verification method"):
        verification_method_public_key(document, f"{did}#nope")
    with pytest.raises(ValueError, match="not authorised for capabilityInvocation"):
        verification_method_public_key(document, f"{did}#k1", purpose="capabilityInvocation")
    foreign = {
        **document,
        "verificationMethod": [
            {**document["verificationMethod"][0], "controller": "did:web:evil.example"}
        ],
    }
    with pytest.raises(ValueError, match="not controlled by"):
        verification_method_public_key(foreign, f"{did}#k1")
    legacy = {
        **document,
        "verificationMethod": [
            {**document["verificationMethod"][0], "type": "Ed25519VerificationKey2020"}
        ],
    }
    with pytest.raises(ValueError, match="not a Multikey"):
        verification_method_public_key(legacy, f"{did}#k1")
