"""The context allow-list: exact bundled bytes, nothing else, for us and for pyld."""

from __future__ import annotations

import hashlib
import json
from importlib import resources

import pytest
from pyld import jsonld

from microcred.kit.jsonld.loader import (
    ContextNotAllowed,
    allowed_context_urls,
    context_bytes,
    load_context,
    pyld_document_loader,
)

# SHA-256 (first 128 bits) of each bundled context file. Signatures cover the RDF these bytes
# define (CREDENTIALS.md, trap 2): a reformatted or "updated" copy must fail here, not in a peer's
# verifier.
PINNED = {
    "clr-v2p0-context-2.0.1.json": "880f1902d4158f2f33ce06af41b90719",
    "credentials-status-v1.jsonld": "fd08cbf28ddd829ab2f1978c48f43ab0",
    "credentials-undefined-terms-v2.jsonld": "82dab514ba44eb18f5d1b0f638c5e140",
    "credentials-v1.jsonld": "00d7dd6d3ad8b920e3e550dd3a3d9090",
    "credentials-v2.jsonld": "8a9f494a89ecc51db093e90e84713e07",
    "data-integrity-v1.jsonld": "b5d829bd09aa7c42abc6efa0c8ed7635",
    "data-integrity-v2.jsonld": "0f77743daf5b4e8fc067fc5ba5b21044",
    "did-v1.jsonld": "62c1054bf404d6dd3a4b26b64f830fd7",
    "ed25519-2020-v1.jsonld": "b9e1ab971fd8bf2c7553e0c4a9438e0b",
    "multikey-v1.jsonld": "c5f3806f8286920573221938917988a1",
    "ob-v2p0-context.json": "3c0c25a0e581c64cbe632197377c4f33",
    "ob-v3p0-context-3.0.0.json": "b077fa134d909d92c1dcd1c153f2af1b",
    "ob-v3p0-context-3.0.1.json": "d582f3564282fb3b709136d28412e78e",
    "ob-v3p0-context-3.0.2.json": "00666ad080ba407687ed1846b7f5e749",
    "ob-v3p0-context-3.0.3.json": "ef2fa9c7846dce233cc166b436390272",
    "ob-v3p0-extensions.json": "146f85aa16effd7ca1da8056eb443f53",
}
INDEX: dict[str, str] = json.loads(
    resources.files("microcred.kit.jsonld").joinpath("contexts", "index.json").read_bytes()
)["contexts"]


def test_the_allow_list_is_the_index_of_pinned_files() -> None:
    assert allowed_context_urls() == frozenset(INDEX)
    assert sorted(INDEX.values()) == sorted(PINNED)


@pytest.mark.parametrize("url", sorted(INDEX))
def test_bundled_bytes_are_the_pinned_bytes(url: str) -> None:
    raw = context_bytes(url)
    assert hashlib.sha256(raw).hexdigest()[:32] == PINNED[INDEX[url]]
    document = load_context(url)
    assert document == json.loads(raw)
    assert "@context" in document


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/evil-context.json",
        "http://www.w3.org/ns/credentials/v2",  # the http twin is a different URL
        "https://www.w3.org/ns/credentials/v2/",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json?x=1",
        "",
    ],
)
def test_anything_else_is_refused(url: str) -> None:
    with pytest.raises(ContextNotAllowed) as caught:
        load_context(url)
    assert caught.value.url == url
    with pytest.raises(ContextNotAllowed):
        context_bytes(url)


def test_load_context_hands_out_copies() -> None:
    url = "https://www.w3.org/ns/credentials/v2"
    document = load_context(url)
    document["@context"]["name"] = "https://evil.example/name"
    assert load_context(url)["@context"]["name"] == "https://schema.org/name"


def test_pyld_loader_returns_remote_documents_for_allowed_urls() -> None:
    url = "https://w3id.org/security/multikey/v1"
    remote = pyld_document_loader(url, {})
    assert remote == {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": load_context(url),
    }


def test_pyld_loader_refuses_the_rest_with_pyld_error() -> None:
    with pytest.raises(jsonld.JsonLdError) as caught:
        pyld_document_loader("https://example.com/ctx.json")
    assert caught.value.code == "loading document failed"
    document = {"@context": "https://example.com/ctx.json", "https://ex/p": "x"}
    with pytest.raises(jsonld.JsonLdError):
        jsonld.expand(document, {"documentLoader": pyld_document_loader})
