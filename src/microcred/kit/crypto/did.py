"""Decentralized identifiers for issuers: `did:key` (tests, demo) and `did:web` (institutions).

Pure functions: nothing here performs HTTP. `did:web` resolution is split into
`did_web_to_url` (where the document lives) and the caller's own fetch, so the network policy
stays with the caller; `did:key` needs no network at all.

DID documents list every key an issuer ever signed with. Rotation adds a method and keeps the
retired ones in `assertionMethod`, so credentials signed before the rotation keep verifying
(CREDENTIALS.md, "Issuer identity").
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from microcred.kit.crypto.keys import Ed25519PublicKey, public_key_from_multikey

__all__ = [
    "DID_CONTEXT",
    "did_document",
    "did_key_from_public_key",
    "did_key_verification_method_id",
    "did_web_from_url",
    "did_web_to_url",
    "find_verification_method",
    "resolve_did_key",
    "verification_method_public_key",
]

DID_CONTEXT = ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"]
_DID_KEY = "did:key:"
_DID_WEB = "did:web:"
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-.")
# did:web `idchar` (DID Core ABNF) outside percent-encoding; ":" separates path segments.
_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.-_%")
_HEX = frozenset("0123456789abcdefABCDEF")
_MAX_PORT = 65535


# --- did:key ---------------------------------------------------------------------------------


def did_key_from_public_key(public_key: Ed25519PublicKey | str) -> str:
    """`did:key:z6Mk…` of a public key or of its Multikey text (validated)."""
    if isinstance(public_key, str):
        public_key = public_key_from_multikey(public_key)
    return _DID_KEY + public_key.multikey


def did_key_verification_method_id(did: str) -> str:
    """The id of a did:key's single verification method: `did:key:z…#z…`."""
    return f"{did}#{_did_key_multikey(did)}"


def resolve_did_key(did_or_method_id: str) -> dict[str, Any]:
    """The DID document of a `did:key` (or of one of its verification method ids).

    One `Multikey` method whose controller is the DID, referenced from `assertionMethod`,
    `authentication`, `capabilityInvocation` and `capabilityDelegation`, as the did:key method
    specification derives it. `ValueError` names what is wrong with the identifier.
    """
    did, _, fragment = did_or_method_id.partition("#")
    multikey = _did_key_multikey(did)
    if fragment and fragment != multikey:
        raise ValueError("a did:key verification method fragment must repeat the key itself")
    method_id = f"{did}#{multikey}"
    return {
        "@context": list(DID_CONTEXT),
        "id": did,
        "verificationMethod": [
            {
                "id": method_id,
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": multikey,
            }
        ],
        "authentication": [method_id],
        "assertionMethod": [method_id],
        "capabilityInvocation": [method_id],
        "capabilityDelegation": [method_id],
    }


def _did_key_multikey(did: str) -> str:
    if not did.startswith(_DID_KEY):
        raise ValueError(f"{did!r} is not a did:key")
    multikey = did[len(_DID_KEY) :]
    public_key_from_multikey(multikey)  # validates base, codec and length
    return multikey


# --- did:web ---------------------------------------------------------------------------------


def did_web_to_url(did: str) -> str:
    """Where a `did:web` document lives (did:web method specification, "Read").

    `did:web:example.com` -> `https://example.com/.well-known/did.json`;
    `did:web:example.com%3A8443:issuers:42` -> `https://example.com:8443/issuers/42/did.json`.
    """
    if not did.startswith(_DID_WEB):
        raise ValueError(f"{did!r} is not a did:web")
    if any(c in did for c in "#?/"):
        raise ValueError("a did:web identifier must not contain '/', '?' or '#'")
    domain, *segments = did[len(_DID_WEB) :].split(":")
    host, port = _split_port(domain)
    _check_host(host)
    for segment in segments:
        _check_segment(segment)
    authority = host if port is None else f"{host}:{port}"
    if not segments:
        return f"https://{authority}/.well-known/did.json"
    return f"https://{authority}/{'/'.join(segments)}/did.json"


def did_web_from_url(url: str) -> str:
    """The `did:web` whose document is at `url` (inverse of `did_web_to_url`).

    Accepts the document URL (`…/did.json`, `/.well-known/did.json`) or the bare location
    (`https://example.com/issuers/42`).
    """
    parts = urlsplit(url)
    if parts.scheme != "https":
        raise ValueError("did:web documents are served over https only")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("a did:web URL has no query, fragment or credentials")
    host = (parts.hostname or "").lower()
    _check_host(host)
    path = parts.path
    if path in ("", "/", "/.well-known/did.json"):
        segments: list[str] = []
    else:
        path = path.removesuffix("/did.json").strip("/")
        segments = path.split("/")
    for segment in segments:
        _check_segment(segment)
    domain = host if parts.port is None else f"{host}%3A{parts.port}"
    return ":".join([_DID_WEB + domain, *segments])


def _split_port(domain: str) -> tuple[str, int | None]:
    host, sep, port_text = domain.lower().partition("%3a")
    if not sep:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) <= _MAX_PORT:
        raise ValueError(f"{port_text!r} is not a valid port")
    return host, int(port_text)


def _check_host(host: str) -> None:
    if not host or not set(host) <= _HOST_CHARS:
        raise ValueError(f"{host!r} is not a valid domain name")
    labels = host.split(".")
    if any(not label or label.startswith("-") or label.endswith("-") for label in labels):
        raise ValueError(f"{host!r} is not a valid domain name")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return
    raise ValueError("did:web identifiers must use a domain name, not an IP address")


def _check_segment(segment: str) -> None:
    if not segment or segment in (".", ".."):
        raise ValueError("did:web path segments must be non-empty and not '.' or '..'")
    if not set(segment) <= _ID_CHARS:
        raise ValueError(f"{segment!r} contains characters a did:web path segment cannot hold")
    _check_percent_encoding(segment)


def _check_percent_encoding(segment: str) -> None:
    index = segment.find("%")
    while index != -1:
        escape = segment[index + 1 : index + 3]
        if len(escape) != 2 or not set(escape) <= _HEX:
            raise ValueError(f"{segment!r} has a malformed percent-encoding")
        index = segment.find("%", index + 3)


# --- DID documents ---------------------------------------------------------------------------


def did_document(
    did: str,
    keys: Sequence[tuple[str, str]],
    *,
    also_known_as: Sequence[str] = (),
) -> dict[str, Any]:
    """A DID document for an issuer that controls several Ed25519 keys.

    `keys` are `(fragment, publicKeyMultibase)` pairs, current key first, retired keys after:
    each becomes a `Multikey` method `did#fragment` controlled by `did`. All of them are in
    `assertionMethod` (old credentials keep verifying); only the first is in `authentication`
    (only the current key may log in or sign new things). Works for any controller id, so it
    also serves https issuer profiles like the 1EdTech test vector's.
    """
    if not keys:
        raise ValueError("a DID document needs at least one key")
    fragments = [fragment for fragment, _ in keys]
    if len(set(fragments)) != len(fragments):
        raise ValueError("verification method fragments must be unique")
    methods = []
    for fragment, multikey in keys:
        if not fragment or "#" in fragment:
            raise ValueError(f"{fragment!r} is not a usable fragment")
        public_key_from_multikey(multikey)
        methods.append(
            {
                "id": f"{did}#{fragment}",
                "type": "Multikey",
                "controller": did,
                "publicKeyMultibase": multikey,
            }
        )
    method_ids = [method["id"] for method in methods]
    document: dict[str, Any] = {"@context": list(DID_CONTEXT), "id": did}
    if also_known_as:
        document["alsoKnownAs"] = list(also_known_as)
    document["verificationMethod"] = methods
    document["authentication"] = method_ids[:1]
    document["assertionMethod"] = method_ids
    return document


def find_verification_method(document: Mapping[str, Any], method_id: str) -> dict[str, Any]:
    """The verification method `method_id` embedded in a DID (controller) document."""
    for method in document.get("verificationMethod") or ():
        if isinstance(method, dict) and method.get("id") == method_id:
            return method
    raise ValueError(f"{method_id!r} is not a verification method of {document.get('id')!r}")


def verification_method_public_key(
    document: Mapping[str, Any], method_id: str, *, purpose: str = "assertionMethod"
) -> Ed25519PublicKey:
    """The key behind `method_id`, checked the way a verifier must before trusting it.

    The method must be embedded in the document, controlled by the document's subject, be an
    Ed25519 `Multikey`, and be referenced from `purpose` (by id or embedded).
    """
    method = find_verification_method(document, method_id)
    if method.get("controller") != document.get("id"):
        raise ValueError(f"{method_id!r} is not controlled by {document.get('id')!r}")
    if method.get("type") != "Multikey":
        raise ValueError(f"{method_id!r} is a {method.get('type')!r}, not a Multikey")
    references = document.get(purpose) or ()
    listed = any(
        ref == method_id or (isinstance(ref, dict) and ref.get("id") == method_id)
        for ref in references
    )
    if not listed:
        raise ValueError(f"{method_id!r} is not authorised for {purpose}")
    multikey = method.get("publicKeyMultibase")
    if not isinstance(multikey, str):
        raise ValueError(f"{method_id!r} has no publicKeyMultibase")
    return public_key_from_multikey(multikey)
