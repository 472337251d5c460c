"""The tamper corpus: credentials our issuer produced, and forged variants of them.

Each case names the verdict every verifier must reach and, for invalid ones, which of our
checks must fail. Built through the real services (issue, revoke, suspend, rotate).
"""

from __future__ import annotations

import copy
import datetime as dt
import os
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from microcred.credentials import proofs, status_list
from microcred.credentials import service as credentials
from microcred.credentials.models import Award
from microcred.kit.crypto import did as dids
from microcred.kit.crypto import keys, multibase
from microcred.kit.crypto.sealing import Sealer
from microcred.kit.settings import Settings
from tests import factories


@dataclass
class Case:
    name: str
    credential: dict[str, Any]
    valid: bool
    failing_check: str | None = None  # our check that must fail
    reason: str = ""  # a fragment of our reason


@dataclass
class Corpus:
    cases: list[Case] = field(default_factory=list)
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)

    def case(self, name: str) -> Case:
        return next(c for c in self.cases if c.name == name)


def _issuer_pair(db: Session, settings: Settings, award: Award) -> keys.Ed25519KeyPair:
    key = credentials.repo.key_by_id(db, key_id=award.issuer_key_id)
    assert key is not None
    seed = Sealer(settings.key_encryption_key).unseal(
        key.private_key_sealed, context=key.public_multikey.encode()
    )
    return keys.Ed25519KeyPair.from_seed(seed)


def _unsigned(credential: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(credential)
    out.pop("proof", None)
    return out


def _resign(credential: dict[str, Any], pair: keys.Ed25519KeyPair, vm: str) -> dict[str, Any]:
    return proofs.sign(
        _unsigned(credential),
        key_pair=pair,
        verification_method=vm,
        created=dt.datetime.now(dt.UTC),
    )


def _iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def build(db: Session, settings: Settings) -> Corpus:
    corpus = Corpus()
    t = factories.tenant(db, did_method="key")
    web = factories.tenant(db, did_method="web")
    achievement = factories.achievement(db, t)
    suspendable = factories.achievement(db, t, status_purpose="suspension")
    web_achievement = factories.achievement(db, web)

    def award(tenant: factories.Tenant, ach: Any) -> Award:
        learner = factories.learner(db, tenant)
        issued, _ = credentials.issue_award(
            db,
            actor=tenant.admin,
            settings=settings,
            institution_id=tenant.id,
            achievement_id=ach.id,
            learner_id=learner.id,
            results=[credentials.ResultIn("score", "87")] if ach.result_descriptions else [],
            evidence=[
                credentials.EvidenceIn(
                    name="Project", narrative="A notebook.", url="https://example.edu/projects/1"
                )
            ],
        )
        return issued

    valid = award(t, achievement)
    corpus.cases.append(Case("valid", valid.credential, True))
    web_award = award(web, web_achievement)
    corpus.cases.append(Case("valid_did_web", web_award.credential, True))

    pair = _issuer_pair(db, settings, valid)
    vm = valid.credential["proof"]["verificationMethod"]
    base = valid.credential

    changed = copy.deepcopy(base)
    changed["credentialSubject"]["achievement"]["name"] = "Brain Surgery"
    corpus.cases.append(Case("changed_field", changed, False, "proof", "signature"))

    added = copy.deepcopy(base)
    added["credentialSubject"]["grade"] = "A+"
    corpus.cases.append(Case("added_undefined_term", added, False, "safe_mode", "grade"))

    removed = copy.deepcopy(base)
    del removed["proof"]
    corpus.cases.append(Case("removed_proof", removed, False, "proof", "proof"))

    attacker = keys.Ed25519KeyPair.generate()
    swapped = _resign(base, attacker, vm)  # claims the issuer's key, signed by another
    corpus.cases.append(Case("swapped_key", swapped, False, "proof", "signature"))

    attacker_did = dids.did_key_from_public_key(attacker.public_multikey)
    wrong = _resign(base, attacker, f"{attacker_did}#{attacker.public_multikey}")
    corpus.cases.append(Case("wrong_controller", wrong, False, "issuer", "not by the issuer"))

    now = dt.datetime.now(dt.UTC)
    expired = _unsigned(base)
    expired["validFrom"] = _iso(now - dt.timedelta(days=400))
    expired["validUntil"] = _iso(now - dt.timedelta(days=35))
    corpus.cases.append(Case("expired", _resign(expired, pair, vm), False, "validity", "expired"))

    future = _unsigned(base)
    future["validFrom"] = _iso(now + dt.timedelta(days=30))
    corpus.cases.append(
        Case("not_yet_valid", _resign(future, pair, vm), False, "validity", "not yet valid")
    )

    unknown = _unsigned(base)
    unknown["@context"] = [*unknown["@context"], "https://example.org/contexts/evil.json"]
    corpus.cases.append(
        Case(
            "unknown_context",
            _resign_lenient(unknown, pair, vm),
            False,
            "contexts",
            "unknown context",
        )
    )

    redefined = _unsigned(base)
    redefined["@context"] = [*redefined["@context"], {"name": "https://example.org/evil#name"}]
    corpus.cases.append(
        Case(
            "redefined_term", _resign_lenient(redefined, pair, vm), False, "safe_mode", "protected"
        )
    )

    revoked = award(t, achievement)
    credentials.change_status(
        db,
        actor=t.admin,
        settings=settings,
        institution_id=t.id,
        award_id=revoked.id,
        action="revoke",
        reason="cheating",
    )
    corpus.cases.append(Case("revoked", revoked.credential, False, "status", "revoked"))

    suspended = award(t, suspendable)
    credentials.change_status(
        db,
        actor=t.admin,
        settings=settings,
        institution_id=t.id,
        award_id=suspended.id,
        action="suspend",
        reason="under review",
    )
    corpus.cases.append(Case("suspended", suspended.credential, False, "status", "suspended"))

    issuer_did = base["issuer"]["id"]
    short_url = "https://microcred.test/status-lists/short"
    short_list = proofs.sign(
        status_list.list_credential(
            short_url,
            issuer_did,
            status_list.Bitstring(1024, minimum=8),
            valid_from=now - dt.timedelta(days=1),
        ),
        key_pair=pair,
        verification_method=vm,
        created=now,
    )
    corpus.documents[short_url] = short_list
    short = _unsigned(base)
    short["credentialStatus"] = status_list.entry(short_url, 7)
    corpus.cases.append(
        Case("short_status_list", _resign(short, pair, vm), False, "status", "131072")
    )

    unsigned_url = "https://microcred.test/status-lists/unsigned"
    corpus.documents[unsigned_url] = status_list.list_credential(
        unsigned_url, issuer_did, status_list.Bitstring(), valid_from=now - dt.timedelta(days=1)
    )
    unsigned_status = _unsigned(base)
    unsigned_status["credentialStatus"] = status_list.entry(unsigned_url, 7)
    corpus.cases.append(
        Case(
            "unsigned_status_list",
            _resign(unsigned_status, pair, vm),
            False,
            "status",
            "status list",
        )
    )

    # Our own published documents, as a verifier elsewhere would fetch them.
    resolver = credentials.PlatformResolver(db, settings)
    for case in corpus.cases:
        entry = case.credential.get("credentialStatus")
        if entry and entry["statusListCredential"] not in corpus.documents:
            url = entry["statusListCredential"]
            corpus.documents[url] = resolver.status_list_credential(url)
    web_did = web_award.credential["issuer"]["id"]
    corpus.documents[web_did] = resolver.did_document(web_did)
    return corpus


def _resign_lenient(
    credential: dict[str, Any], pair: keys.Ed25519KeyPair, vm: str
) -> dict[str, Any]:
    """Forge a proof over a document our signer refuses to canonicalize (redefined terms):
    copy the original proof. Either way every verifier must reject it."""
    try:
        return _resign(credential, pair, vm)
    except Exception:
        forged = copy.deepcopy(credential)
        forged["proof"] = {
            "type": "DataIntegrityProof",
            "cryptosuite": "eddsa-rdfc-2022",
            "created": _iso(dt.datetime.now(dt.UTC)),
            "verificationMethod": vm,
            "proofPurpose": "assertionMethod",
            "proofValue": multibase.multibase_encode(os.urandom(64)),
        }
        return forged
