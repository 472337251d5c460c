"""The fast credential builder produces exactly what the spec models describe."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from microcred.credentials import documents, ob3, status_list

ISSUER = documents.IssuerProfile(
    did="did:key:z6MkTest",
    name="Test University",
    url="https://example.edu",
    email=None,
    description=None,
)
VIEW = documents.AchievementView(
    id=uuid.UUID(int=7),
    version=3,
    name="SQL Foundations",
    description="Writes SQL.",
    criteria_narrative="Passed the test.",
    criteria_url="https://example.edu/criteria",
    achievement_type="MicroCredential",
    image_url=None,
    hours="16",
    alignments=(
        {
            "target_name": "SQL",
            "target_url": "http://data.europa.eu/esco/skill/x",
            "target_description": None,
            "target_framework": "ESCO",
            "target_code": "http://data.europa.eu/esco/skill/x",
        },
    ),
    result_descriptions=(
        {
            "key": "score",
            "name": "Score",
            "result_type": "ScaledScore",
            "value_min": "0",
            "value_max": "100",
            "required_value": None,
        },
    ),
)


@pytest.mark.parametrize("subject_did", [None, "did:example:learner"])
@pytest.mark.parametrize("with_extras", [False, True])
def test_builder_matches_the_spec_model(subject_did: str | None, with_extras: bool) -> None:
    template = documents.CredentialTemplate.build("https://microcred.test", ISSUER, VIEW)
    now = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
    built = documents.credential_document(
        template,
        credential_id="https://microcred.test/credentials/1",
        subject_did=subject_did,
        subject_email="Learner@Example.org",
        valid_from=now,
        valid_until=now + dt.timedelta(days=365) if with_extras else None,
        status_entry=status_list.entry("https://microcred.test/status-lists/1", 42),
        results=[{"key": "score", "value": "77"}] if with_extras else [],
        evidence=[{"name": "Project", "id": "https://example.edu/p/1"}] if with_extras else [],
    )
    modelled = ob3.OpenBadgeCredential.model_validate(built).document()
    assert modelled == built
    assert built["credentialSubject"]["achievement"]["criteria"]["narrative"].endswith(
        "Notional learning time: 16 hours."
    )
    if subject_did is None:
        identity = built["credentialSubject"]["identifier"][0]
        expected = documents.hashed_email("learner@example.org", identity["salt"])
        assert identity["identityHash"] == expected.identity_hash
