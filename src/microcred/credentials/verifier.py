"""Our own verifier of Open Badges 3.0 / VC 2.0 credentials secured with `eddsa-rdfc-2022`.

`verify(data, resolver=...)` returns a `Verdict`: VALID only when every check passes, each
check with a reason a person can read. Nothing here touches the database or the network:
DID documents and status lists come through a `Resolver` (the service layer offers one over
the platform's own data, one over given files, and one over HTTPS for other issuers).

Checks, in order: the input parses (JSON, a baked PNG/SVG badge, a PDF certificate); the
contexts are on the allow-list; the shape is a credential; JSON-LD safe mode (no undefined
term, no relative IRI); the proof's signature; the issuer-key binding (the verification
method's controller is the issuer and lists it for assertions); the validity period; the status
list entry.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from microcred.credentials import baking, proofs, status_list
from microcred.kit.crypto import did as dids
from microcred.kit.crypto import keys
from microcred.kit.jsonld import loader

MAX_CREDENTIAL_BYTES = 2 * 1024 * 1024
CREDENTIAL_TYPES = {"OpenBadgeCredential", "AchievementCredential", "EndorsementCredential"}

CheckName = Literal[
    "format",
    "contexts",
    "shape",
    "safe_mode",
    "proof",
    "issuer",
    "validity",
    "status",
    "recorded",
]
CHECK_LABELS: dict[str, str] = {
    "format": "Readable credential",
    "contexts": "Known JSON-LD contexts",
    "shape": "Open Badges 3.0 credential",
    "safe_mode": "Every term defined (JSON-LD safe mode)",
    "proof": "Signature",
    "issuer": "Key belongs to the issuer",
    "validity": "Within its validity period",
    "status": "Not revoked or suspended",
    # Added by the service layer (it needs the database): the issuer's register holds it.
    "recorded": "Recorded by the issuer",
}


class ResolutionError(Exception):
    """A DID document or status list could not be obtained (unknown, unreachable, invalid)."""


class Resolver(Protocol):
    def did_document(self, did: str) -> dict[str, Any]: ...

    def status_list_credential(self, url: str) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    reason: str
    skipped: bool = False

    @property
    def label(self) -> str:
        return CHECK_LABELS.get(self.name, self.name)


@dataclass(slots=True)
class Verdict:
    checks: list[Check] = field(default_factory=list)
    credential: dict[str, Any] | None = None
    source_format: str = "json"

    @property
    def valid(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def verdict(self) -> Literal["VALID", "INVALID"]:
        return "VALID" if self.valid else "INVALID"

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    @property
    def reason(self) -> str:
        failed = self.failures
        return failed[0].reason if failed else "every check passed"

    def to_dict(self) -> dict[str, Any]:
        issuer = (self.credential or {}).get("issuer")
        return {
            "verdict": self.verdict,
            "valid": self.valid,
            "reason": self.reason,
            "format": self.source_format,
            "credential_id": (self.credential or {}).get("id"),
            "issuer": issuer.get("id") if isinstance(issuer, dict) else issuer,
            "checks": [
                {
                    "name": c.name,
                    "label": c.label,
                    "ok": c.ok,
                    "skipped": c.skipped,
                    "reason": c.reason,
                }
                for c in self.checks
            ],
        }


class OfflineResolver:
    """did:key from the DID itself; everything else only from the documents given."""

    def __init__(self, documents: Mapping[str, dict[str, Any]] | None = None) -> None:
        self.documents = dict(documents or {})

    def did_document(self, did: str) -> dict[str, Any]:
        if did in self.documents:
            return self.documents[did]
        if did.startswith("did:key:"):
            try:
                return dids.resolve_did_key(did)
            except ValueError as exc:
                raise ResolutionError(f"{did} is not a valid did:key: {exc}") from exc
        raise ResolutionError(f"{did} is not available offline")

    def status_list_credential(self, url: str) -> dict[str, Any]:
        if url in self.documents:
            return self.documents[url]
        raise ResolutionError(f"status list {url} is not available offline")


class ChainResolver:
    """Ask resolvers in turn; the first that answers wins, the last error is reported."""

    def __init__(self, *resolvers: Resolver) -> None:
        self.resolvers = resolvers

    def _first(self, ask: Callable[[Resolver], dict[str, Any]]) -> dict[str, Any]:
        errors = []
        for resolver in self.resolvers:
            try:
                return ask(resolver)
            except ResolutionError as exc:
                errors.append(str(exc))
        raise ResolutionError(errors[-1] if errors else "no resolver configured")

    def did_document(self, did: str) -> dict[str, Any]:
        return self._first(lambda r: r.did_document(did))

    def status_list_credential(self, url: str) -> dict[str, Any]:
        return self._first(lambda r: r.status_list_credential(url))


# --- parsing --------------------------------------------------------------------------------


def parse_input(data: bytes | str | Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """JSON text, a dict, a baked PNG/SVG or a PDF certificate → (credential dict, format).

    The format is "json", "png", "svg" or "pdf" (the credential attached to a certificate
    made by `certificate.certificate_pdf`). Raises ValueError with the reason.
    """
    if isinstance(data, Mapping):
        return dict(data), "json"
    raw = data.encode() if isinstance(data, str) else data
    if len(raw) > MAX_CREDENTIAL_BYTES * 8:
        raise ValueError(f"input is {len(raw)} bytes; the limit is {MAX_CREDENTIAL_BYTES * 8}")
    try:
        kind, text = baking.detect_and_extract(raw)
    except baking.BakingError as exc:
        raise ValueError(str(exc)) from exc
    if len(text.encode()) > MAX_CREDENTIAL_BYTES:
        raise ValueError(f"credential is larger than {MAX_CREDENTIAL_BYTES} bytes")
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise ValueError("the JSON is nested too deeply to be a credential") from None
    if not isinstance(parsed, dict):
        raise ValueError("a credential must be a JSON object")
    return parsed, kind


# --- individual checks -----------------------------------------------------------------------


def _check_contexts(credential: dict[str, Any]) -> Check:
    contexts = credential.get("@context")
    if not isinstance(contexts, list) or not contexts:
        return Check("contexts", False, "@context must be a non-empty list")
    if contexts[0] != "https://www.w3.org/ns/credentials/v2":
        return Check(
            "contexts",
            False,
            "the first @context must be https://www.w3.org/ns/credentials/v2 (VC 2.0)",
        )
    allowed = loader.allowed_context_urls()
    for ctx in contexts:
        if isinstance(ctx, str) and ctx not in allowed:
            return Check(
                "contexts",
                False,
                f"unknown context {ctx}: only bundled contexts are "
                "used, so the signed meaning cannot change underneath",
            )
        if not isinstance(ctx, str | dict):
            return Check("contexts", False, "a @context entry must be a URL or an object")
    return Check("contexts", True, f"{len(contexts)} contexts, all bundled")


def _issuer_id(credential: dict[str, Any]) -> str | None:
    issuer = credential.get("issuer")
    if isinstance(issuer, str):
        return issuer
    if isinstance(issuer, dict) and isinstance(issuer.get("id"), str):
        return str(issuer["id"])
    return None


def _check_shape(credential: dict[str, Any]) -> Check:
    types = credential.get("type")
    types = [types] if isinstance(types, str) else types
    if not isinstance(types, list) or "VerifiableCredential" not in types:
        return Check("shape", False, "type must include VerifiableCredential")
    if not CREDENTIAL_TYPES.intersection(types) and "BitstringStatusListCredential" not in types:
        return Check("shape", False, "type must include OpenBadgeCredential")
    if not isinstance(credential.get("id", ""), str):
        return Check("shape", False, "id must be a URI")
    if _issuer_id(credential) is None:
        return Check("shape", False, "issuer must be a URI or a profile with an id")
    subject = credential.get("credentialSubject")
    if not isinstance(subject, dict):
        return Check("shape", False, "credentialSubject must be one object")
    if "issuanceDate" in credential or "expirationDate" in credential:
        return Check(
            "shape",
            False,
            "issuanceDate/expirationDate are VC 1.1 terms; VC 2.0 uses validFrom/validUntil",
        )
    return Check("shape", True, "a verifiable credential with an issuer and a subject")


def _parse_time(value: object, name: str) -> dt.datetime:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a date-time string")
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"{name} must carry a time zone")
    return parsed


def _check_validity(credential: dict[str, Any], now: dt.datetime) -> Check:
    try:
        start = (
            _parse_time(credential["validFrom"], "validFrom") if "validFrom" in credential else None
        )
        end = (
            _parse_time(credential["validUntil"], "validUntil")
            if "validUntil" in credential
            else None
        )
    except ValueError as exc:
        return Check("validity", False, str(exc))
    if start is not None and now < start:
        return Check("validity", False, f"not yet valid: valid from {start.isoformat()}")
    if end is not None and now > end:
        return Check("validity", False, f"expired on {end.isoformat()}")
    if end is None:
        return Check(
            "validity",
            True,
            "valid since " + (start.isoformat() if start else "issue") + ", no expiry",
        )
    return Check("validity", True, f"valid until {end.isoformat()}")


def _verification_method(document: dict[str, Any], vm_id: str) -> dict[str, Any] | None:
    for method in document.get("verificationMethod", []) or []:
        if not isinstance(method, dict):
            continue
        method_id = method.get("id", "")
        if method_id == vm_id or (
            method_id.startswith("#") and vm_id == document.get("id", "") + method_id
        ):
            return method
    return None


def _listed_for_assertion(document: dict[str, Any], vm_id: str) -> bool:
    doc_id = document.get("id", "")
    for ref in document.get("assertionMethod", []) or []:
        ref_id = ref.get("id") if isinstance(ref, dict) else ref
        if isinstance(ref_id, str) and (ref_id == vm_id or doc_id + ref_id == vm_id):
            return True
    return False


def _resolve_key(
    vm_id: str, issuer_id: str, resolver: Resolver
) -> tuple[keys.Ed25519PublicKey | None, Check]:
    controller_id = vm_id.split("#", 1)[0]
    try:
        document = resolver.did_document(controller_id)
    except ResolutionError as exc:
        return None, Check("issuer", False, f"could not resolve the key {vm_id}: {exc}")
    method = _verification_method(document, vm_id)
    if method is None:
        return None, Check("issuer", False, f"{controller_id} does not list the key {vm_id}")
    if method.get("controller") != issuer_id:
        return None, Check(
            "issuer",
            False,
            f"the key is controlled by {method.get('controller')}, not by the issuer {issuer_id}",
        )
    if not _listed_for_assertion(document, vm_id):
        return None, Check("issuer", False, f"{vm_id} is not listed for assertionMethod")
    if method.get("type") != "Multikey" or not isinstance(method.get("publicKeyMultibase"), str):
        return None, Check("issuer", False, "the verification method is not an Ed25519 Multikey")
    try:
        public_key = keys.public_key_from_multikey(method["publicKeyMultibase"])
    except ValueError as exc:
        return None, Check("issuer", False, f"bad public key: {exc}")
    return public_key, Check("issuer", True, f"signed with {vm_id}, controlled by {issuer_id}")


def _check_proof_and_issuer(
    credential: dict[str, Any], resolver: Resolver
) -> tuple[Check, Check, Check]:
    """safe_mode, proof and issuer checks: they share the canonical form and the key."""
    issuer_id = _issuer_id(credential) or ""
    try:
        vm_id = proofs.verification_method_of(credential)
    except proofs.ProofError as exc:
        return (
            Check("safe_mode", True, "not reached", skipped=True),
            Check("proof", False, str(exc)),
            Check("issuer", False, "no usable proof names a key", skipped=True),
        )
    public_key, issuer_check = _resolve_key(vm_id, issuer_id, resolver)
    if public_key is None:
        safe = Check("safe_mode", True, "not reached", skipped=True)
        return (
            safe,
            Check("proof", False, "not checked: the key could not be used", skipped=True),
            issuer_check,
        )
    result = proofs.verify(credential, public_key=public_key)
    if result.safe_mode_error is not None:
        return (
            Check("safe_mode", False, result.safe_mode_error),
            Check(
                "proof",
                False,
                "not checked: the document is not safe to canonicalize",
                skipped=True,
            ),
            issuer_check,
        )
    safe = Check("safe_mode", True, "every property and type is defined by the contexts")
    if not result.ok:
        return safe, Check("proof", False, result.reason), issuer_check
    return safe, Check("proof", True, "eddsa-rdfc-2022 signature verifies"), issuer_check


def _check_status(
    credential: dict[str, Any], resolver: Resolver, now: dt.datetime, depth: int
) -> Check:
    entry = credential.get("credentialStatus")
    if entry is None:
        return Check("status", True, "the issuer publishes no status for this credential")
    if isinstance(entry, list):
        return Check("status", False, "credentialStatus must be one entry (OB 3.0)")
    if not isinstance(entry, dict) or not isinstance(entry.get("statusListCredential"), str):
        return Check("status", False, "credentialStatus lacks statusListCredential")
    url = entry["statusListCredential"]
    try:
        list_credential = resolver.status_list_credential(url)
    except ResolutionError as exc:
        return Check("status", False, f"could not obtain the status list: {exc}")
    if depth > 0:
        return Check("status", False, "status list credentials must not be status-listed")
    trusted, why = _trusted_list(list_credential, resolver, now)
    if not trusted:
        return Check("status", False, f"the status list is not trustworthy: {why}")
    if _issuer_id(list_credential) != _issuer_id(credential):
        return Check("status", False, "the status list was issued by someone else")
    try:
        result = status_list.status_of(entry, list_credential)
    except status_list.StatusListError as exc:
        return Check("status", False, str(exc))
    if result.set:
        return Check("status", False, result.reason)
    return Check("status", True, result.reason)


_LIST_VERDICTS: dict[str, tuple[bool, str, dt.datetime | None, float]] = {}
_LIST_CACHE_SIZE = 256
# Keys can be withdrawn from a did:web document; re-check a list at least this often.
_LIST_CACHE_SECONDS = 300.0


def _trusted_list(
    list_credential: dict[str, Any], resolver: Resolver, now: dt.datetime
) -> tuple[bool, str]:
    """Verify a status list credential once per exact document (many credentials share one).

    The key hashes the whole document, so any change to it is verified afresh; the validity
    period is re-checked on every use because time moves on.
    """
    digest = hashlib.sha256(
        json.dumps(list_credential, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    cached = _LIST_VERDICTS.get(digest)
    if cached is not None and time.monotonic() - cached[3] > _LIST_CACHE_SECONDS:
        cached = None
    if cached is None:
        verdict = verify(list_credential, resolver=resolver, now=now, _depth=1)
        until = None
        if verdict.valid and isinstance(list_credential.get("validUntil"), str):
            until = _parse_time(list_credential["validUntil"], "validUntil")
        cached = (verdict.valid, verdict.reason, until, time.monotonic())
        if verdict.valid:  # never cache a failure: it may be a transient resolution error
            if len(_LIST_VERDICTS) >= _LIST_CACHE_SIZE:
                _LIST_VERDICTS.pop(next(iter(_LIST_VERDICTS)))
            _LIST_VERDICTS[digest] = cached
    ok, reason, until, _ = cached
    if ok and until is not None and now > until:
        return False, f"the status list expired on {until.isoformat()}"
    return ok, reason


# --- the verifier -----------------------------------------------------------------------------


def verify(
    data: bytes | str | Mapping[str, Any],
    *,
    resolver: Resolver | None = None,
    now: dt.datetime | None = None,
    _depth: int = 0,
) -> Verdict:
    """Verify a credential (JSON, a dict, a baked PNG/SVG, a PDF). Never raises on bad input."""
    resolver = resolver or OfflineResolver()
    now = now or dt.datetime.now(dt.UTC)
    verdict = Verdict()
    try:
        credential, verdict.source_format = parse_input(data)
    except ValueError as exc:
        verdict.checks.append(Check("format", False, str(exc)))
        return verdict
    verdict.credential = credential
    verdict.checks.append(Check("format", True, f"parsed from {verdict.source_format}"))
    for check in (_check_contexts(credential), _check_shape(credential)):
        verdict.checks.append(check)
        if not check.ok:
            return verdict
    verdict.checks.extend(_check_proof_and_issuer(credential, resolver))
    verdict.checks.append(_check_validity(credential, now))
    is_list = "BitstringStatusListCredential" in (credential.get("type") or [])
    if not is_list:
        verdict.checks.append(_check_status(credential, resolver, now, _depth))
    return verdict


__all__ = [
    "CHECK_LABELS",
    "ChainResolver",
    "Check",
    "OfflineResolver",
    "ResolutionError",
    "Resolver",
    "Verdict",
    "parse_input",
    "verify",
]
