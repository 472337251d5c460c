"""Verdicts in plain language, for the people who read them: employers, admissions officers.

`plain_checks(verdict)` gives each check of a `Verdict` one sentence a non-specialist can act
on, plus the technical facts behind it (DIDs, key ids, list indexes) that the pages put one
click away. The verifier's own reasons stay exact and terse for machines and logs; this
module only rephrases them, so it never changes what is VALID. Pure: no database, no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from microcred.credentials.verifier import Check, Verdict
from microcred.kit.crypto import did as dids

Facts = tuple[tuple[str, str], ...]

FORMAT_WORDS = {
    "json": "its JSON",
    "png": "the badge image (PNG) it is baked into",
    "svg": "the badge image (SVG) it is baked into",
    "pdf": "the PDF certificate it is attached to",
}
NOT_A_CREDENTIAL = (
    "This is not a credential: give the JSON file, the badge image (PNG/SVG) or the PDF "
    "certificate."
)


@dataclass(frozen=True, slots=True)
class PlainCheck:
    """One check of a verdict: the check itself, a sentence for people, and its facts."""

    check: Check
    sentence: str
    facts: Facts = ()

    @property
    def state(self) -> Literal["passed", "failed", "not checked"]:
        if self.check.skipped:
            return "not checked"
        return "passed" if self.check.ok else "failed"

    @property
    def css(self) -> str:
        """The stylesheet's colour class: ok, bad or muted."""
        return {"passed": "ok", "failed": "bad", "not checked": "muted"}[self.state]


def plain_checks(verdict: Verdict) -> list[PlainCheck]:
    """Every check of `verdict`, in order, with a plain sentence and its technical facts."""
    credential = verdict.credential or {}
    return [_explain(check, credential, verdict.source_format) for check in verdict.checks]


def headline(verdict: Verdict) -> str:
    """One sentence for the top of a verdict."""
    if verdict.valid:
        return "This credential is genuine, unchanged since it was issued, and in force."
    return "This credential could not be verified."


def claims(credential: dict[str, Any] | None) -> list[tuple[str, str]]:
    """What the credential says about itself (name, achievement, holder, issuer, dates), for a
    verifier to read beside the verdict. Only the verdict says whether to believe it."""
    if not credential:
        return []
    subject = credential.get("credentialSubject")
    subject = subject if isinstance(subject, dict) else {}
    achievement = subject.get("achievement")
    achievement = achievement if isinstance(achievement, dict) else {}
    issuer = credential.get("issuer")
    issuer_name = _text(issuer.get("name")) if isinstance(issuer, dict) else ""
    rows = [
        ("Credential", _text(credential.get("name"))),
        ("Achievement", _text(achievement.get("name"))),
        ("Kind", _text(achievement.get("achievementType"))),
        ("Awarded to", _text(subject.get("name"))),
        ("Issuer", issuer_name or _issuer_did(credential)),
        ("Valid from", _date_words(credential.get("validFrom"))),
        ("Valid until", _date_words(credential.get("validUntil"))),
    ]
    return [(name, value) for name, value in rows if value]


# --- per check ----------------------------------------------------------------------------------


def _explain(check: Check, credential: dict[str, Any], source: str) -> PlainCheck:
    explainer = _EXPLAINERS.get(check.name)
    if explainer is None:  # a check this module does not know yet still reads sensibly
        verb = "Passed" if check.ok else "Failed"
        return PlainCheck(check, f"{check.label}: {verb.lower()} ({check.reason}).")
    sentence, facts = explainer(check, credential, source)
    return PlainCheck(check, sentence, facts)


def _format(check: Check, credential: dict[str, Any], source: str) -> tuple[str, Facts]:
    if check.ok:
        return f"It was read from {FORMAT_WORDS.get(source, source)}.", (("Read from", source),)
    reason = check.reason
    lowered = reason.lower()
    if "not a png, svg" in lowered or lowered.startswith("not a png"):
        return NOT_A_CREDENTIAL, ()
    if (
        "has no itxt" in lowered
        or "has no <openbadges:credential>" in lowered
        or ("no credential" in lowered)
    ):
        return (
            "This file carries no credential: it may be a picture or a printout of the badge, "
            "or the credential was removed (phones often strip it from images). Ask the holder "
            "for the credential's link or its JSON file.",
            (),
        )
    if "open badges 2.0" in lowered:
        return (
            "This is an older Open Badges 2.0 badge; this page checks Open Badges 3.0 "
            "credentials only.",
            (),
        )
    if "not valid json" in lowered or "nested too deeply" in lowered:
        return (
            "This is not valid JSON, so it cannot be checked: make sure the whole credential "
            "was copied, from the first { to the last }.",
            (),
        )
    if "must be a json object" in lowered:
        return "This JSON is not a credential: a credential is one JSON object { … }.", ()
    if "larger than" in lowered or "limit is" in lowered:
        return "This is too large to be a credential.", ()
    return f"The credential could not be read: {reason}.", ()


def _contexts(check: Check, credential: dict[str, Any], _: str) -> tuple[str, Facts]:
    contexts = credential.get("@context")
    listed = (
        ", ".join(c for c in contexts if isinstance(c, str)) if isinstance(contexts, list) else ""
    )
    facts: Facts = (("Contexts", listed),) if listed else ()
    if check.ok:
        return (
            "It is written in the standard vocabularies (W3C Verifiable Credentials 2.0, "
            "Open Badges 3.0), so its meaning is fixed.",
            facts,
        )
    if "unknown context" in check.reason:
        return (
            "It uses a vocabulary this verifier does not know, so what it says cannot be "
            "checked safely.",
            facts,
        )
    return (
        "This is not an Open Badges 3.0 credential: it is not written as a W3C Verifiable "
        "Credential 2.0.",
        facts,
    )


def _shape(check: Check, credential: dict[str, Any], _: str) -> tuple[str, Facts]:
    types = credential.get("type")
    facts: Facts = tuple(
        (name, value)
        for name, value in (
            ("Credential id", _text(credential.get("id"))),
            ("Type", ", ".join(types) if isinstance(types, list) else _text(types)),
        )
        if value
    )
    if check.ok:
        return "It is an Open Badges 3.0 credential, with an issuer and a holder.", facts
    if "VC 1.1" in check.reason:
        return (
            "It uses the older Verifiable Credentials 1.1 format; this page checks Open "
            "Badges 3.0 credentials only.",
            facts,
        )
    return (
        "This is not an Open Badges 3.0 credential: it lacks what every badge credential has "
        "(the right type, an issuer and a holder).",
        facts,
    )


def _safe_mode(check: Check, _c: dict[str, Any], _s: str) -> tuple[str, Facts]:
    if check.skipped:
        return "Not checked: it is checked together with the signature.", ()
    if check.ok:
        return (
            "Everything it says is defined by those vocabularies, so nothing can hide outside "
            "the signature.",
            (),
        )
    return (
        "It contains statements no vocabulary defines; the signature cannot cover them, so "
        "someone may have added them after it was issued.",
        (),
    )


def _proof(check: Check, credential: dict[str, Any], _: str) -> tuple[str, Facts]:
    proof = credential.get("proof")
    proof = proof[0] if isinstance(proof, list) and len(proof) == 1 else proof
    facts: Facts = ()
    if isinstance(proof, dict):
        facts = tuple(
            (name, _text(proof.get(key)))
            for name, key in (
                ("Cryptosuite", "cryptosuite"),
                ("Verification method", "verificationMethod"),
                ("Proof created", "created"),
                ("Proof purpose", "proofPurpose"),
            )
            if proof.get(key)
        )
    if check.ok:
        return f"Signed by {_issuer_words(credential)}; the signature matches the content.", facts
    if check.skipped:
        if "not safe" in check.reason:
            return (
                "The signature was not checked, because the content has undefined statements "
                "(see above).",
                facts,
            )
        return (
            "The signature could not be checked, because the issuer's key could not be used "
            "(see below).",
            facts,
        )
    if "no proof" in check.reason:
        return "It carries no signature, so nothing shows who issued it.", facts
    return (
        "The signature does not match the content: the credential was changed after it was "
        "issued, or it was not signed by the key it names.",
        facts,
    )


def _issuer(check: Check, credential: dict[str, Any], _: str) -> tuple[str, Facts]:
    issuer_did = _issuer_did(credential)
    facts: list[tuple[str, str]] = [("Issuer DID", issuer_did)] if issuer_did else []
    document_url = _did_document_url(issuer_did)
    if document_url:
        facts.append(("DID document", document_url))
    if check.skipped:
        return "Not checked, because the credential names no signing key.", tuple(facts)
    if check.ok:
        if issuer_did.startswith("did:key:"):
            return (
                "The signing key is the issuer's own identifier (did:key), so it can only be "
                "theirs.",
                tuple(facts),
            )
        return (
            f"The signing key belongs to {_issuer_words(credential)}: their published DID "
            "document lists it for issuing credentials.",
            tuple(facts),
        )
    reason = check.reason
    if reason.startswith("could not resolve"):
        if document_url and "not available offline" in reason:
            return (
                "This server does not contact other issuers' servers, so the issuer's DID "
                f"document at {document_url} was not fetched and the signature cannot be "
                "checked here; ask the issuer, or use a verifier that fetches it.",
                tuple(facts),
            )
        if document_url:
            return (
                f"The issuer's DID document at {document_url} could not be reached, so the "
                "signature cannot be checked; try again later or ask the issuer.",
                tuple(facts),
            )
        return (
            "The issuer's identifier could not be resolved to a key, so the signature cannot "
            "be checked.",
            tuple(facts),
        )
    if "does not list the key" in reason:
        return (
            "The issuer's DID document does not list the key that signed this credential: the "
            "issuer withdrew it, or someone else signed it.",
            tuple(facts),
        )
    if "not by the issuer" in reason:
        return (
            "The signing key does not belong to the issuer named in the credential: someone "
            "else signed it.",
            tuple(facts),
        )
    if "assertionMethod" in reason:
        return "The issuer has not authorised this key to issue credentials.", tuple(facts)
    return f"The signing key could not be tied to the issuer: {reason}.", tuple(facts)


def _validity(check: Check, credential: dict[str, Any], _: str) -> tuple[str, Facts]:
    start = _date_words(credential.get("validFrom"))
    end = _date_words(credential.get("validUntil"))
    facts: Facts = (
        ("Valid from", _text(credential.get("validFrom")) or "not stated"),
        ("Valid until", _text(credential.get("validUntil")) or "no expiry"),
    )
    if check.ok:
        since = f" since {start}" if start else ""
        if end:
            return f"It is valid{since}, until {end}.", facts
        return f"It is valid{since}, with no expiry date.", facts
    if check.reason.startswith("expired"):
        return f"It expired{' on ' + end if end else ''}.", facts
    if check.reason.startswith("not yet valid"):
        return f"It is not valid yet{': it starts on ' + start if start else ''}.", facts
    return f"Its dates cannot be read: {check.reason}.", facts


def _status(check: Check, credential: dict[str, Any], _: str) -> tuple[str, Facts]:
    entry = credential.get("credentialStatus")
    facts: Facts = ()
    list_url = ""
    if isinstance(entry, dict):
        list_url = _text(entry.get("statusListCredential"))
        facts = tuple(
            (name, _text(entry.get(key)))
            for name, key in (
                ("Status list", "statusListCredential"),
                ("Status list index", "statusListIndex"),
                ("Status purpose", "statusPurpose"),
            )
            if entry.get(key) is not None
        )
    reason = check.reason
    if check.ok:
        if entry is None:
            return (
                "The issuer publishes no status list for it, so it cannot be revoked or suspended.",
                facts,
            )
        return (
            "The issuer has not revoked or suspended it (checked just now against the issuer's "
            "status list).",
            facts,
        )
    if reason.startswith("revoked"):
        return "The issuer has revoked this credential.", facts
    if reason.startswith("suspended"):
        return "The issuer has suspended this credential for now.", facts
    if reason.startswith("could not obtain"):
        where = f" at {list_url}" if list_url else ""
        return (
            f"The issuer's status list{where} could not be reached, so it is unknown whether "
            "the credential was revoked; try again later or ask the issuer.",
            facts,
        )
    if "not trustworthy" in reason or "issued by someone else" in reason:
        return (
            "The issuer's status list is not trustworthy, so it is unknown whether the "
            "credential was revoked.",
            facts,
        )
    return f"Whether it was revoked cannot be confirmed: {reason}.", facts


def _recorded(check: Check, credential: dict[str, Any], _: str) -> tuple[str, Facts]:
    facts: Facts = (("Credential id", _text(credential.get("id"))),) if credential.get("id") else ()
    if check.skipped:
        return (
            "Issued elsewhere; this platform keeps no register of it, and the signature "
            "stands for itself.",
            facts,
        )
    if check.ok:
        return "The issuer's register holds this exact credential.", facts
    return (
        "The issuer's register has no record of this credential, although its id says it "
        "was issued here.",
        facts,
    )


Explainer = Callable[[Check, dict[str, Any], str], tuple[str, Facts]]

_EXPLAINERS: dict[str, Explainer] = {
    "format": _format,
    "contexts": _contexts,
    "shape": _shape,
    "safe_mode": _safe_mode,
    "proof": _proof,
    "issuer": _issuer,
    "validity": _validity,
    "status": _status,
    "recorded": _recorded,
}


# --- helpers ------------------------------------------------------------------------------------


def _text(value: object) -> str:
    return value if isinstance(value, str) else ("" if value is None else str(value))


def _issuer_did(credential: dict[str, Any]) -> str:
    issuer = credential.get("issuer")
    if isinstance(issuer, dict):
        return _text(issuer.get("id"))
    return _text(issuer)


def _issuer_words(credential: dict[str, Any]) -> str:
    """'Demo University (did:web:…)', or the DID alone when the issuer has no name."""
    issuer = credential.get("issuer")
    name = _text(issuer.get("name")) if isinstance(issuer, dict) else ""
    did = _issuer_did(credential)
    if name and did:
        return f"{name} ({did})"
    return name or did or "an unnamed issuer"


def _did_document_url(did: str) -> str:
    if not did.startswith("did:web:"):
        return ""
    try:
        return dids.did_web_to_url(did)
    except ValueError:
        return ""


def _date_words(value: object) -> str:
    """'3 March 2026' from an XML Schema dateTime; '' when it is not one."""
    if not isinstance(value, str):
        return ""
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return ""
    return f"{moment.day} {moment:%B %Y}"


__all__ = ["NOT_A_CREDENTIAL", "PlainCheck", "claims", "headline", "plain_checks"]
