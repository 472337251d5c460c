"""The `eddsa-rdfc-2022` cryptosuite of W3C Data Integrity (vc-di-eddsa, section 3.3).

Signing input ("hashData") = SHA-256(canonical proof options) ‖ SHA-256(canonical document
without its proof), both canonicalized with RDFC-1.0 under the document's `@context`, in safe
mode. `proofValue` = multibase base58btc of the Ed25519 signature over those 64 bytes.

Verification never raises for data a client can send: every failure is a `ProofCheck` with
`ok=False` and a reason a person can act on. Resolving the verification method to a key is the
caller's job (`verification_method_of` reads it without verifying anything), so this module
stays free of network and database access.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from microcred.kit.crypto.keys import Ed25519KeyPair, Ed25519PublicKey
from microcred.kit.crypto.multibase import multibase_decode, multibase_encode
from microcred.kit.jsonld.canon import canonical_nquads
from microcred.kit.jsonld.errors import (
    ContextNotAllowed,
    JsonLdError,
    ProtectedTermRedefinition,
    SafeModeViolation,
    UnsupportedJsonLd,
)

__all__ = [
    "CRYPTOSUITE",
    "PROOF_TYPE",
    "ProofCheck",
    "ProofError",
    "extract_proof",
    "hash_data",
    "sign",
    "verification_method_of",
    "verify",
]

PROOF_TYPE = "DataIntegrityProof"
CRYPTOSUITE = "eddsa-rdfc-2022"
_SIGNATURE_LENGTH = 64


class ProofError(ValueError):
    """The document's proof cannot be read (missing, several, or not an object)."""


@dataclass(frozen=True)
class ProofCheck:
    """The verdict on one proof, with the fields read from it (None where absent).

    `safe_mode_error` is set when the credential could not be canonicalized faithfully (data
    its contexts do not define, an unknown context, a redefined protected term…): the
    signature was then not even checked, and the credential must be rejected either way.
    """

    ok: bool
    reason: str
    safe_mode_error: str | None = None
    verification_method: str | None = None
    proof_purpose: str | None = None
    created: str | None = None
    cryptosuite: str | None = None
    proof_type: str | None = None


def extract_proof(document: Mapping[str, Any]) -> dict[str, Any]:
    """The single proof object of a secured document; `ProofError` says what is wrong."""
    if not isinstance(document, Mapping):
        raise ProofError("the credential is not a JSON object")
    proof = document.get("proof")
    if proof is None:
        raise ProofError("the credential has no proof")
    if isinstance(proof, list):
        if len(proof) != 1:
            raise ProofError(
                f"the credential carries {len(proof)} proofs; exactly one "
                f"{CRYPTOSUITE} proof is supported"
            )
        proof = proof[0]
    if not isinstance(proof, dict):
        raise ProofError("the proof is not a JSON object")
    return proof


def verification_method_of(document: Mapping[str, Any]) -> str:
    """The `verificationMethod` id of the proof, read without verifying anything.

    A verifier resolves it (DID document, issuer profile) to a key and then calls `verify`.
    """
    method = extract_proof(document).get("verificationMethod")
    if not isinstance(method, str) or not method:
        raise ProofError("the proof names no verificationMethod")
    return method


def hash_data(unsecured_document: Mapping[str, Any], proof_options: Mapping[str, Any]) -> bytes:
    """The 64 bytes that are signed: SHA-256 of the canonical proof options, then of the document.

    Raises the JSON-LD errors of `canonical_nquads` (safe mode on) for either input.
    """
    return _canonical_hash(proof_options) + _canonical_hash(unsecured_document)


def _canonical_hash(document: Mapping[str, Any]) -> bytes:
    return hashlib.sha256(canonical_nquads(document).encode()).digest()


def sign(
    document: Mapping[str, Any],
    *,
    key_pair: Ed25519KeyPair,
    verification_method: str,
    created: datetime | str,
    proof_purpose: str = "assertionMethod",
) -> dict[str, Any]:
    """A copy of `document` with an embedded `eddsa-rdfc-2022` DataIntegrityProof.

    `created` is a time-zone-aware datetime (written in UTC, whole seconds) or an XML Schema
    dateTime string used as given. Raises `ValueError` for a document that already has a proof
    or no `@context`, and the JSON-LD errors (`SafeModeViolation` …) for data that cannot be
    signed faithfully: issuing must fail loudly, not produce a credential peers reject.
    """
    if "proof" in document:
        raise ValueError("the document already has a proof; sign the unsecured document")
    if "@context" not in document:
        raise ValueError("the document has no @context")
    options: dict[str, Any] = {
        "type": PROOF_TYPE,
        "cryptosuite": CRYPTOSUITE,
        "created": _xsd_datetime(created),
        "verificationMethod": verification_method,
        "proofPurpose": proof_purpose,
    }
    data = hash_data(document, {"@context": document["@context"], **options})
    proof = {**options, "proofValue": multibase_encode(key_pair.sign(data), "base58btc")}
    return {**document, "proof": proof}


def _xsd_datetime(created: datetime | str) -> str:
    if isinstance(created, str):
        try:
            parsed = datetime.fromisoformat(created)
        except ValueError as exc:
            raise ValueError(f"created {created!r} is not an ISO 8601 date-time") from exc
        if parsed.tzinfo is None:
            raise ValueError("created must carry a time zone")
        return created
    if created.tzinfo is None:
        raise ValueError("created must be time-zone aware")
    return created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def verify(
    document: Mapping[str, Any],
    *,
    public_key: Ed25519PublicKey,
    expected_proof_purpose: str = "assertionMethod",
) -> ProofCheck:
    """Check the document's `eddsa-rdfc-2022` proof against `public_key`.

    The caller has resolved `public_key` from `verification_method_of(document)` and checked
    that the method belongs to the issuer. Never raises for malformed client data.
    """
    try:
        proof = extract_proof(document)
    except ProofError as exc:
        return ProofCheck(False, str(exc))
    fields = _ProofFields.read(proof)
    problem = fields.problem(expected_proof_purpose) or _context_problem(document, proof)
    if problem is not None:
        return fields.check(False, problem)
    signature = _signature(proof["proofValue"])
    if isinstance(signature, str):
        return fields.check(False, signature)
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    options["@context"] = proof.get("@context", document["@context"])
    # The document first: problems of the shared @context are the credential's, not the proof's.
    hashes: dict[str, bytes] = {}
    for part, content in (("credential", unsecured), ("proof", options)):
        try:
            hashes[part] = _canonical_hash(content)
        except (JsonLdError, ValueError, TypeError, RecursionError) as exc:
            reason = _canonicalization_reason(exc, part)
            return fields.check(False, reason, safe_mode_error=reason)
    if not public_key.verify(signature, hashes["proof"] + hashes["credential"]):
        return fields.check(False, "the signature does not match the credential and this key")
    return fields.check(True, "the proof is valid")


@dataclass(frozen=True)
class _ProofFields:
    proof_type: Any
    cryptosuite: Any
    verification_method: Any
    proof_purpose: Any
    created: Any
    proof_value: Any

    @classmethod
    def read(cls, proof: dict[str, Any]) -> _ProofFields:
        return cls(
            proof.get("type"),
            proof.get("cryptosuite"),
            proof.get("verificationMethod"),
            proof.get("proofPurpose"),
            proof.get("created"),
            proof.get("proofValue"),
        )

    def problem(self, expected_purpose: str) -> str | None:
        if self.proof_type != PROOF_TYPE:
            return f"the proof type is {self.proof_type!r}, expected {PROOF_TYPE!r}"
        if self.cryptosuite != CRYPTOSUITE:
            return f"the cryptosuite is {self.cryptosuite!r}, expected {CRYPTOSUITE!r}"
        if not isinstance(self.verification_method, str) or not self.verification_method:
            return "the proof names no verificationMethod"
        if self.proof_purpose != expected_purpose:
            return f"the proof purpose is {self.proof_purpose!r}, expected {expected_purpose!r}"
        if not isinstance(self.proof_value, str):
            return "the proof has no proofValue string"
        return None

    def check(self, ok: bool, reason: str, *, safe_mode_error: str | None = None) -> ProofCheck:
        def text(value: Any) -> str | None:
            return value if isinstance(value, str) else None

        return ProofCheck(
            ok,
            reason,
            safe_mode_error=safe_mode_error,
            verification_method=text(self.verification_method),
            proof_purpose=text(self.proof_purpose),
            created=text(self.created),
            cryptosuite=text(self.cryptosuite),
            proof_type=text(self.proof_type),
        )


def _context_problem(document: Mapping[str, Any], proof: dict[str, Any]) -> str | None:
    if "@context" not in document:
        return "the credential has no @context"
    if "@context" not in proof:
        return None
    # vc-di-eddsa: a proof's own @context must be a prefix of the document's.
    document_context = _as_list(document["@context"])
    proof_context = _as_list(proof["@context"])
    if document_context[: len(proof_context)] != proof_context:
        return "the proof's @context is not a prefix of the credential's @context"
    return None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _signature(proof_value: str) -> bytes | str:
    """The signature bytes, or the reason they cannot be read."""
    try:
        signature = multibase_decode(proof_value, "base58btc")
    except ValueError as exc:
        return f"the proofValue is malformed: {exc}"
    if len(signature) != _SIGNATURE_LENGTH:
        return f"the proofValue holds {len(signature)} bytes, an Ed25519 signature has 64"
    return signature


def _canonicalization_reason(exc: Exception, part: str) -> str:
    """Why `part` ("credential" or "proof") cannot be canonicalized, located in the credential."""
    what = f"the {part}"
    detail = str(exc)
    if part == "proof" and isinstance(exc, JsonLdError) and exc.path is not None:
        detail = f"{exc.message} at proof.{exc.path}"  # the proof options are the proof
    if isinstance(exc, SafeModeViolation):
        return f"{what} holds data its contexts do not define ({detail})"
    if isinstance(exc, ContextNotAllowed):
        return f"{what} uses a context this verifier does not accept ({exc.url})"
    if isinstance(exc, ProtectedTermRedefinition):
        return f"{what} redefines a protected term ({detail})"
    if isinstance(exc, UnsupportedJsonLd):
        return f"{what} uses JSON-LD this verifier does not support ({detail})"
    if isinstance(exc, RecursionError):
        return f"{what} nests too deeply"
    return f"{what} is not valid JSON-LD ({detail})"
