from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from sqlalchemy.orm import Session

from microcred.credentials import service as credentials
from microcred.credentials import status_list
from microcred.kit import audit
from microcred.kit.errors import Conflict, IdempotencyMismatch, InvalidInput, NotFound
from microcred.kit.pagination import PageRequest
from microcred.kit.settings import Settings
from tests import factories

SCHEMA = json.loads(
    (
        Path(__file__).parents[1]
        / "data"
        / "credential-contexts"
        / "schemas"
        / "ob_v3p0_achievementcredential_schema.educredentials-2024-09.json"
    ).read_text()
)


def schema_errors(credential: dict[str, Any]) -> list[str]:
    """Validate against the 1EdTech OB 3.0 JSON Schema, normalised as CREDENTIALS.md says:
    this copy wants `proof` as an array while signers emit one object."""
    normalised = copy.deepcopy(credential)
    if isinstance(normalised.get("proof"), dict):
        normalised["proof"] = [normalised["proof"]]
    validator = jsonschema.Draft201909Validator(SCHEMA)
    return [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(normalised)]


def issue(db: Session, settings: Settings, t: factories.Tenant, **kwargs: Any) -> Any:
    achievement = kwargs.pop("achievement", None) or factories.achievement(db, t)
    learner = kwargs.pop("learner", None) or factories.learner(db, t)
    award, _ = credentials.issue_award(
        db,
        actor=t.admin,
        settings=settings,
        institution_id=t.id,
        achievement_id=achievement.id,
        learner_id=learner.id,
        **kwargs,
    )
    return award


def our_verdict(db: Session, settings: Settings, credential: dict[str, Any]) -> Any:
    return credentials.verify_document(db, settings=settings, data=credential)


@pytest.mark.parametrize("did_method", ["key", "web"])
def test_issued_credential_is_ob3_and_verifies(
    db: Session, settings: Settings, did_method: str
) -> None:
    t = factories.tenant(db, did_method=did_method)
    award = issue(
        db,
        settings,
        t,
        results=[credentials.ResultIn("score", "87")],
        evidence=[credentials.EvidenceIn(name="Project", url="https://example.edu/p")],
    )
    doc = award.credential
    assert doc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert doc["@context"][:2] == [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ]
    subject = doc["credentialSubject"]
    assert subject["achievement"]["achievementType"] == "MicroCredential"
    assert subject["identifier"][0]["identityHash"].startswith("sha256$")
    assert subject["result"][0]["value"] == "87"
    assert subject["achievement"]["alignment"][0]["targetCode"] == factories.PYTHON_SKILL
    assert "12.5 hours" in subject["achievement"]["criteria"]["narrative"]
    assert doc["credentialStatus"]["type"] == "BitstringStatusListEntry"
    assert doc["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert doc["issuer"]["id"].startswith(f"did:{did_method}:")
    assert schema_errors(doc) == []
    verdict = our_verdict(db, settings, doc)
    assert verdict.valid, verdict.to_dict()


def test_learner_with_a_did_is_named_by_it(db: Session, settings: Settings) -> None:
    t = factories.tenant(db)
    learner = factories.learner(db, t, did="did:example:learner-123")
    award = issue(db, settings, t, learner=learner)
    assert award.credential["credentialSubject"]["id"] == "did:example:learner-123"
    assert "identifier" not in award.credential["credentialSubject"]


def test_idempotency_key_replays_and_refuses_reuse(db: Session, settings: Settings) -> None:
    t = factories.tenant(db)
    achievement, learner = factories.achievement(db, t), factories.learner(db, t)
    kwargs = {
        "actor": t.admin,
        "settings": settings,
        "institution_id": t.id,
        "achievement_id": achievement.id,
        "idempotency_key": "req-1",
    }
    first, created = credentials.issue_award(db, learner_id=learner.id, **kwargs)  # type: ignore[arg-type]
    again, created_again = credentials.issue_award(db, learner_id=learner.id, **kwargs)  # type: ignore[arg-type]
    assert created and not created_again and again.id == first.id
    other = factories.learner(db, t)
    with pytest.raises(IdempotencyMismatch):
        credentials.issue_award(db, learner_id=other.id, **kwargs)  # type: ignore[arg-type]


def test_refusals_write_nothing(db: Session, settings: Settings) -> None:
    t = factories.tenant(db)
    achievement, learner = factories.achievement(db, t), factories.learner(db, t)
    issue(db, settings, t, achievement=achievement, learner=learner)
    count = len(credentials.list_awards(db, institution_id=t.id, page=PageRequest(10, 0))[0])
    with pytest.raises(Conflict, match="already holds"):
        issue(db, settings, t, achievement=achievement, learner=learner)
    revoked = factories.learner(db, t)
    from microcred.identity import service as identity

    identity.revoke_learner(
        db, actor=t.admin, institution_id=t.id, learner_id=revoked.id, reason="fraud"
    )
    with pytest.raises(Conflict, match="revoked account"):
        issue(db, settings, t, achievement=achievement, learner=revoked)
    other = factories.tenant(db)
    with pytest.raises(NotFound):
        issue(db, settings, t, achievement=factories.achievement(db, other), learner=learner)
    with pytest.raises(InvalidInput, match="not described"):
        issue(db, settings, t, results=[credentials.ResultIn("grade", "A")])
    with pytest.raises(InvalidInput, match="outside"):
        issue(db, settings, t, results=[credentials.ResultIn("score", "101")])
    assert (
        len(credentials.list_awards(db, institution_id=t.id, page=PageRequest(10, 0))[0]) == count
    )


def test_revoke_flips_the_bit_resigns_the_list_and_audits(db: Session, settings: Settings) -> None:
    t = factories.tenant(db)
    award = issue(db, settings, t)
    url = award.credential["credentialStatus"]["statusListCredential"]
    before = credentials.PlatformResolver(db, settings).status_list_credential(url)
    changed_award, changed = credentials.change_status(
        db,
        actor=t.admin,
        settings=settings,
        institution_id=t.id,
        award_id=award.id,
        action="revoke",
        reason="plagiarism confirmed",
    )
    assert changed and changed_award.state == "revoked"
    after = credentials.PlatformResolver(db, settings).status_list_credential(url)
    assert after["proof"]["proofValue"] != before["proof"]["proofValue"]
    bits = status_list.Bitstring.decode(after["credentialSubject"]["encodedList"])
    assert bits.get(award.status_index) and bits.count() == 1
    verdict = our_verdict(db, settings, award.credential)
    assert not verdict.valid and "revoked" in verdict.reason
    _, again = credentials.change_status(
        db,
        actor=t.admin,
        settings=settings,
        institution_id=t.id,
        award_id=award.id,
        action="revoke",
        reason="plagiarism confirmed",
    )
    assert not again
    actions = [
        e.action for e in credentials.award_history(db, institution_id=t.id, award_id=award.id)
    ]
    assert actions == ["award.issue", "award.revoke"]
    with pytest.raises(Conflict):
        credentials.change_status(
            db,
            actor=t.admin,
            settings=settings,
            institution_id=t.id,
            award_id=award.id,
            action="reinstate",
            reason="oops",
        )


def test_suspension_and_reinstatement(db: Session, settings: Settings) -> None:
    t = factories.tenant(db)
    revocable = issue(db, settings, t)
    with pytest.raises(Conflict, match="revocation list"):
        credentials.change_status(
            db,
            actor=t.admin,
            settings=settings,
            institution_id=t.id,
            award_id=revocable.id,
            action="suspend",
            reason="review",
        )
    award = issue(
        db, settings, t, achievement=factories.achievement(db, t, status_purpose="suspension")
    )
    assert award.credential["credentialStatus"]["statusPurpose"] == "suspension"
    credentials.change_status(
        db,
        actor=t.admin,
        settings=settings,
        institution_id=t.id,
        award_id=award.id,
        action="suspend",
        reason="under review",
    )
    verdict = our_verdict(db, settings, award.credential)
    assert not verdict.valid and "suspended" in verdict.reason
    credentials.change_status(
        db,
        actor=t.admin,
        settings=settings,
        institution_id=t.id,
        award_id=award.id,
        action="reinstate",
        reason="cleared",
    )
    assert our_verdict(db, settings, award.credential).valid


@pytest.mark.parametrize("did_method", ["key", "web"])
def test_key_rotation_keeps_old_credentials_valid(
    db: Session, settings: Settings, did_method: str
) -> None:
    t = factories.tenant(db, did_method=did_method)
    old = issue(db, settings, t)
    credentials.rotate_key(db, actor=t.admin, settings=settings, institution_id=t.id)
    new = issue(db, settings, t)
    assert (
        old.credential["proof"]["verificationMethod"]
        != new.credential["proof"]["verificationMethod"]
    )
    assert our_verdict(db, settings, old.credential).valid
    assert our_verdict(db, settings, new.credential).valid
    # Revoking an old credential still works after rotation (its list is re-signed).
    credentials.change_status(
        db,
        actor=t.admin,
        settings=settings,
        institution_id=t.id,
        award_id=old.id,
        action="revoke",
        reason="test",
    )
    assert "revoked" in our_verdict(db, settings, old.credential).reason
    assert our_verdict(db, settings, new.credential).valid
    if did_method == "web":
        document = credentials.did_document(db, settings=settings, slug=t.institution.slug)
        assert len(document["verificationMethod"]) == 2
        assert len(document["assertionMethod"]) == 2


def test_status_indexes_are_random_and_unique(db: Session, settings: Settings) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    rows = [
        credentials.BulkRow(
            learner_email=f"bulk{i}@example.org",
            achievement=achievement.slug,
            learner_name=f"Bulk {i}",
        )
        for i in range(40)
    ]
    report = credentials.bulk_issue(
        db, actor=t.admin, settings=settings, institution_id=t.id, rows=rows, create_learners=True
    )
    assert report.issued == 40
    awards, _ = credentials.list_awards(db, institution_id=t.id, page=PageRequest(100, 0))
    indexes = [a.status_index for a in awards]
    assert len(set(indexes)) == 40
    assert max(indexes) > 1000  # random over the list, not sequential from 0


def test_bulk_all_or_nothing_writes_nothing_when_a_row_fails(
    db: Session, settings: Settings
) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    learner = factories.learner(db, t)
    rows: list[credentials.BulkRow | str] = [
        credentials.BulkRow(learner_email=learner.email, achievement=achievement.slug),
        credentials.BulkRow(learner_email="nobody@example.org", achievement=achievement.slug),
        credentials.BulkRow(learner_email=learner.email, achievement="no-such-badge"),
        "more cells than columns",
    ]
    report = credentials.bulk_issue(
        db, actor=t.admin, settings=settings, institution_id=t.id, rows=rows
    )
    assert [r.status for r in report.rows] == ["not_written", "error", "error", "error"]
    assert "no such learner" in (report.rows[1].error or "")
    assert "no-such-badge" in (report.rows[2].error or "")
    assert not report.written
    assert credentials.list_awards(db, institution_id=t.id, page=PageRequest(10, 0))[1] == 0
    per_row = credentials.bulk_issue(
        db,
        actor=t.admin,
        settings=settings,
        institution_id=t.id,
        rows=rows,
        mode="per_row",
        idempotency_key="batch-7",
    )
    assert [r.status for r in per_row.rows] == ["issued", "error", "error", "error"]
    replay = credentials.bulk_issue(
        db,
        actor=t.admin,
        settings=settings,
        institution_id=t.id,
        rows=rows,
        mode="per_row",
        idempotency_key="batch-7",
    )
    assert replay.rows[0].status == "replayed"
    assert replay.rows[0].award_id == per_row.rows[0].award_id
    events = audit.history(db, institution_id=t.id, subject_type="institution", subject_id=t.id)
    assert any(e.action == "award.bulk_issue" for e in events)


def test_bulk_refuses_duplicates_within_a_batch(db: Session, settings: Settings) -> None:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t)
    learner = factories.learner(db, t)
    row = credentials.BulkRow(learner_email=learner.email, achievement=achievement.slug)
    report = credentials.bulk_issue(
        db, actor=t.admin, settings=settings, institution_id=t.id, rows=[row, row], mode="per_row"
    )
    assert [r.status for r in report.rows] == ["issued", "error"]
    assert "twice" in (report.rows[1].error or "")


def test_verifier_rejects_our_credential_with_an_undefined_property(
    db: Session, settings: Settings
) -> None:
    t = factories.tenant(db)
    forged = copy.deepcopy(issue(db, settings, t).credential)
    forged["credentialSubject"]["grade"] = "A+"
    verdict = credentials.verify_document(db, settings=settings, data=forged)
    [failed] = [c for c in verdict.checks if not c.ok and not c.skipped]
    assert failed.name == "safe_mode" and "grade" in failed.reason
