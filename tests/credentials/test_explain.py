"""Plain-language verdicts: one sentence per check for people, the facts one click away."""

from __future__ import annotations

from typing import Any

import pytest

from microcred.credentials import explain, verifier
from microcred.credentials.explain import PlainCheck, plain_checks
from microcred.credentials.verifier import Check, Verdict

DID_WEB = "did:web:uni.example:issuers:7"
VM = f"{DID_WEB}#key-1"
LIST_URL = "https://uni.example/status-lists/1"
CREDENTIAL: dict[str, Any] = {
    "@context": [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ],
    "id": "https://uni.example/credentials/9",
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
    "name": "Data Analysis",
    "issuer": {"id": DID_WEB, "type": ["Profile"], "name": "Demo University"},
    "validFrom": "2025-03-03T10:00:00Z",
    "validUntil": "2027-03-03T10:00:00Z",
    "credentialSubject": {
        "type": ["AchievementSubject"],
        "name": "Ada Lovelace",
        "achievement": {"name": "Data Analysis", "achievementType": "MicroCredential"},
    },
    "credentialStatus": {
        "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation",
        "statusListIndex": "4711",
        "statusListCredential": LIST_URL,
    },
    "proof": {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2025-03-03T10:00:01Z",
        "verificationMethod": VM,
        "proofPurpose": "assertionMethod",
        "proofValue": "z5x",
    },
}
PASSING = [
    Check("format", True, "parsed from json"),
    Check("contexts", True, "2 contexts, all bundled"),
    Check("shape", True, "a verifiable credential with an issuer and a subject"),
    Check("safe_mode", True, "every property and type is defined by the contexts"),
    Check("proof", True, "eddsa-rdfc-2022 signature verifies"),
    Check("issuer", True, f"signed with {VM}, controlled by {DID_WEB}"),
    Check("validity", True, "valid until 2027-03-03T10:00:00+00:00"),
    Check("status", True, f"not revoked: bit 4711 of status list {LIST_URL}"),
    Check("recorded", True, "issued elsewhere; this platform keeps no register of it", True),
]


def verdict(
    *replaced: Check, credential: dict[str, Any] | None = None, source: str = "json"
) -> Verdict:
    by_name = {c.name: c for c in replaced}
    return Verdict(
        checks=[by_name.get(c.name, c) for c in PASSING],
        credential=CREDENTIAL if credential is None else credential,
        source_format=source,
    )


def sentence(v: Verdict, name: str) -> str:
    return next(p.sentence for p in plain_checks(v) if p.check.name == name)


def facts(v: Verdict, name: str) -> dict[str, str]:
    return dict(next(p.facts for p in plain_checks(v) if p.check.name == name))


def test_a_valid_verdict_in_plain_words() -> None:
    v = verdict()
    plain = plain_checks(v)
    assert [p.check for p in plain] == v.checks
    assert all(p.sentence.endswith(".") and p.sentence[0].isupper() for p in plain)
    assert sentence(v, "proof") == (
        f"Signed by Demo University ({DID_WEB}); the signature matches the content."
    )
    assert sentence(v, "issuer").startswith("The signing key belongs to Demo University")
    assert sentence(v, "validity") == "It is valid since 3 March 2025, until 3 March 2027."
    assert "not revoked or suspended" in sentence(v, "status")
    assert sentence(v, "recorded").startswith("Issued elsewhere; this platform keeps no register")
    assert explain.headline(v).startswith("This credential is genuine")


def test_technical_facts_name_the_did_key_and_status_entry() -> None:
    v = verdict()
    assert facts(v, "proof") == {
        "Cryptosuite": "eddsa-rdfc-2022",
        "Verification method": VM,
        "Proof created": "2025-03-03T10:00:01Z",
        "Proof purpose": "assertionMethod",
    }
    assert facts(v, "issuer") == {
        "Issuer DID": DID_WEB,
        "DID document": "https://uni.example/issuers/7/did.json",
    }
    assert facts(v, "status") == {
        "Status list": LIST_URL,
        "Status list index": "4711",
        "Status purpose": "revocation",
    }
    assert facts(v, "validity") == {
        "Valid from": "2025-03-03T10:00:00Z",
        "Valid until": "2027-03-03T10:00:00Z",
    }


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        (
            Check("status", False, f"revoked: bit 4711 of status list {LIST_URL}"),
            "The issuer has revoked this credential.",
        ),
        (
            Check("status", False, f"suspended: bit 4711 of status list {LIST_URL}"),
            "The issuer has suspended this credential for now.",
        ),
        (
            Check("status", False, f"could not obtain the status list: {LIST_URL} unreachable"),
            f"The issuer's status list at {LIST_URL} could not be reached",
        ),
        (
            Check("status", False, "the status list is not trustworthy: expired"),
            "The issuer's status list is not trustworthy",
        ),
        (
            Check("proof", False, "the signature does not match the document"),
            "The signature does not match the content",
        ),
        (Check("proof", False, "the credential has no proof"), "It carries no signature"),
        (
            Check(
                "issuer",
                False,
                f"could not resolve the key {VM}: DID document "
                "https://uni.example/issuers/7/did.json is unreachable (ConnectError)",
            ),
            "The issuer's DID document at https://uni.example/issuers/7/did.json could not be "
            "reached, so the signature cannot be checked; try again later or ask the issuer.",
        ),
        (
            Check("issuer", False, f"could not resolve the key {VM}: {DID_WEB} is not available"),
            "could not be reached",
        ),
        (
            Check("issuer", False, f"could not resolve the key {VM}: not available offline"),
            "This server does not contact other issuers' servers",
        ),
        (
            Check("issuer", False, f"{DID_WEB} does not list the key {VM}"),
            "does not list the key that signed this credential",
        ),
        (
            Check("issuer", False, "the key is controlled by did:key:z6Mk, not by the issuer x"),
            "The signing key does not belong to the issuer",
        ),
        (
            Check("issuer", False, f"{VM} is not listed for assertionMethod"),
            "has not authorised this key",
        ),
        (
            Check("validity", False, "expired on 2027-03-03T10:00:00+00:00"),
            "It expired on 3 March 2027.",
        ),
        (
            Check("validity", False, "not yet valid: valid from 2025-03-03T10:00:00+00:00"),
            "It is not valid yet: it starts on 3 March 2025.",
        ),
        (
            Check("safe_mode", False, "undefined term 'grade' at credentialSubject.grade"),
            "statements no vocabulary defines",
        ),
        (
            Check("recorded", False, "the issuer's register has no record of this credential"),
            "The issuer's register has no record of this credential",
        ),
    ],
)
def test_each_failure_reads_plainly(check: Check, expected: str) -> None:
    v = verdict(check)
    assert expected in sentence(v, check.name)
    [failed] = [p for p in plain_checks(v) if p.state == "failed"]
    assert failed.check is check and failed.css == "bad"


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("not a PNG, SVG or JSON credential", explain.NOT_A_CREDENTIAL),
        (
            "PNG has no iTXt chunk with keyword 'openbadgecredential'",
            "This file carries no credential",
        ),
        ("SVG has no <openbadges:credential> element (namespace x)", "carries no credential"),
        ("this PDF carries no credential; it may be a printout", "carries no credential"),
        (
            "SVG carries an Open Badges 2.0 <openbadges:assertion>, not an Open Badges 3.0",
            "older Open Badges 2.0 badge",
        ),
        ("not valid JSON: Expecting value at line 1 column 2", "This is not valid JSON"),
        ("a credential must be a JSON object", "This JSON is not a credential"),
        ("the PDF is encrypted; its attachments cannot be read", "the PDF is encrypted"),
    ],
)
def test_unreadable_input(reason: str, expected: str) -> None:
    v = Verdict(checks=[Check("format", False, reason)])
    [only] = plain_checks(v)
    assert expected in only.sentence
    assert only.facts == ()
    assert explain.headline(v) == "This credential could not be verified."


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        (Check("shape", False, "type must include OpenBadgeCredential"), "not an Open Badges 3.0"),
        (
            Check("shape", False, "issuanceDate/expirationDate are VC 1.1 terms; VC 2.0 uses"),
            "older Verifiable Credentials 1.1 format",
        ),
        (Check("contexts", False, "unknown context https://evil.example/ctx"), "vocabulary"),
        (Check("contexts", False, "@context must be a non-empty list"), "not an Open Badges 3.0"),
    ],
)
def test_structural_failures(check: Check, expected: str) -> None:
    v = Verdict(checks=[Check("format", True, "parsed from json"), check], credential=CREDENTIAL)
    assert expected in sentence(v, check.name)


def test_skipped_checks_read_as_not_checked() -> None:
    v = verdict(
        Check("safe_mode", True, "not reached", skipped=True),
        Check("proof", False, "not checked: the key could not be used", skipped=True),
        Check("issuer", False, f"could not resolve the key {VM}: unreachable"),
    )
    by_name = {p.check.name: p for p in plain_checks(v)}
    assert by_name["safe_mode"].state == "not checked" and by_name["safe_mode"].css == "muted"
    assert by_name["proof"].state == "not checked"
    assert "issuer's key could not be used" in by_name["proof"].sentence
    assert by_name["recorded"].state == "not checked" and by_name["recorded"].check.ok


def test_did_key_issuer_and_no_status_and_no_expiry() -> None:
    did = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    credential = {
        **CREDENTIAL,
        "issuer": did,
        "proof": {**CREDENTIAL["proof"], "verificationMethod": f"{did}#z6Mk"},
    }
    del credential["credentialStatus"], credential["validUntil"]
    v = verdict(
        Check("validity", True, "valid since 2025-03-03T10:00:00+00:00, no expiry"),
        Check("status", True, "the issuer publishes no status for this credential"),
        credential=credential,
    )
    assert sentence(v, "proof") == f"Signed by {did}; the signature matches the content."
    assert "issuer's own identifier (did:key)" in sentence(v, "issuer")
    assert facts(v, "issuer") == {"Issuer DID": did}
    assert sentence(v, "validity") == "It is valid since 3 March 2025, with no expiry date."
    assert "publishes no status list" in sentence(v, "status")
    assert facts(v, "status") == {}


@pytest.mark.parametrize(
    ("source", "expected"),
    [("json", "its JSON"), ("png", "badge image (PNG)"), ("pdf", "PDF certificate")],
)
def test_where_it_was_read_from(source: str, expected: str) -> None:
    assert expected in sentence(verdict(source=source), "format")


def test_an_unknown_check_still_reads() -> None:
    v = Verdict(checks=[Check("future", False, "something new")], credential=CREDENTIAL)
    [only] = plain_checks(v)
    assert only.sentence == "future: failed (something new)."


def test_claims_say_what_the_credential_says() -> None:
    assert explain.claims(CREDENTIAL) == [
        ("Credential", "Data Analysis"),
        ("Achievement", "Data Analysis"),
        ("Kind", "MicroCredential"),
        ("Awarded to", "Ada Lovelace"),
        ("Issuer", "Demo University"),
        ("Valid from", "3 March 2025"),
        ("Valid until", "3 March 2027"),
    ]
    assert explain.claims(None) == []
    assert explain.claims({"issuer": "did:key:z6Mk", "credentialSubject": "odd"}) == [
        ("Issuer", "did:key:z6Mk")
    ]


def test_every_check_the_verifier_knows_has_a_label_and_an_explainer() -> None:
    assert set(verifier.CHECK_LABELS) == set(explain._EXPLAINERS)
    assert verifier.CHECK_LABELS["recorded"] == "Recorded by the issuer"


def test_plain_check_is_a_value() -> None:
    check = Check("proof", True, "ok")
    assert PlainCheck(check, "x") == PlainCheck(check, "x", ())
