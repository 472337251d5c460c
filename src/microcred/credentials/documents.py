"""Platform data → the unsigned Open Badges 3.0 credential (pure mapping, no I/O)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from microcred.credentials import ob3


def iso(moment: dt.datetime) -> str:
    """VC 2.0 date-times: UTC, whole seconds, `Z`."""
    return moment.astimezone(dt.UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def hashed_email(email: str, salt: str | None = None) -> ob3.IdentityObject:
    salt = salt or secrets.token_hex(8)
    digest = hashlib.sha256((email.strip().lower() + salt).encode()).hexdigest()
    return ob3.IdentityObject.model_construct(
        type="IdentityObject",
        identity_hash=f"sha256${digest}",
        identity_type="emailAddress",
        hashed=True,
        salt=salt,
    )


@dataclass(frozen=True, slots=True)
class IssuerProfile:
    did: str
    name: str
    url: str | None
    email: str | None
    description: str | None

    def profile(self) -> ob3.Profile:
        return ob3.Profile(
            id=self.did,
            name=self.name,
            url=self.url,
            email=self.email,
            description=self.description,
        )


@dataclass(frozen=True, slots=True)
class AchievementView:
    """The parts of a catalog achievement a credential embeds (one version of it)."""

    id: uuid.UUID
    version: int
    name: str
    description: str
    criteria_narrative: str
    criteria_url: str | None
    achievement_type: str
    image_url: str | None
    hours: str | None
    alignments: tuple[dict[str, Any], ...]
    result_descriptions: tuple[dict[str, Any], ...]


def achievement_url(base_url: str, achievement_id: uuid.UUID) -> str:
    return f"{base_url}/achievements/{achievement_id}"


def result_description_id(base_url: str, achievement_id: uuid.UUID, key: str) -> str:
    return f"{achievement_url(base_url, achievement_id)}#result-{key}"


def achievement_document(
    base_url: str, view: AchievementView, issuer: IssuerProfile | None
) -> ob3.Achievement:
    narrative = view.criteria_narrative
    if view.hours:
        # OB 3.0 has no hours term; saying it in the criteria keeps it signed and readable.
        narrative = f"{narrative}\n\nNotional learning time: {view.hours} hours."
    return ob3.Achievement(
        id=achievement_url(base_url, view.id),
        achievement_type=view.achievement_type,
        name=view.name,
        description=view.description,
        criteria=ob3.Criteria(id=view.criteria_url, narrative=narrative),
        image=ob3.Image(id=view.image_url)
        if view.image_url
        else ob3.Image(id=f"{achievement_url(base_url, view.id)}/image.png"),
        version=str(view.version),
        creator=issuer.profile() if issuer else None,
        alignment=[
            ob3.Alignment(
                target_name=a["target_name"],
                target_url=a["target_url"],
                target_description=a.get("target_description"),
                target_framework=a.get("target_framework"),
                target_code=a.get("target_code"),
            )
            for a in view.alignments
        ]
        or None,
        result_description=[
            ob3.ResultDescription(
                id=result_description_id(base_url, view.id, r["key"]),
                name=r["name"],
                result_type=r["result_type"],
                value_min=r.get("value_min"),
                value_max=r.get("value_max"),
                required_value=r.get("required_value"),
            )
            for r in view.result_descriptions
        ]
        or None,
    )


@dataclass(frozen=True, slots=True)
class CredentialTemplate:
    """The parts every credential of one achievement version and issuer shares.

    Built once through the spec models (`ob3`), then shared by reference: bulk issue makes
    100,000 documents from one template, and dumping the same achievement through Pydantic
    each time would cost more than signing.
    """

    base_url: str
    achievement_id: uuid.UUID
    name: str
    issuer: dict[str, Any]
    achievement: dict[str, Any]

    @classmethod
    def build(
        cls, base_url: str, issuer: IssuerProfile, achievement: AchievementView
    ) -> CredentialTemplate:
        return cls(
            base_url=base_url,
            achievement_id=achievement.id,
            name=achievement.name,
            issuer=issuer.profile().document(),
            achievement=achievement_document(base_url, achievement, issuer).document(),
        )


def credential_document(
    template: CredentialTemplate,
    *,
    credential_id: str,
    subject_did: str | None,
    subject_email: str,
    valid_from: dt.datetime,
    valid_until: dt.datetime | None,
    status_entry: dict[str, str],
    results: list[dict[str, str]],
    evidence: list[dict[str, str]],
) -> dict[str, Any]:
    """One `ob3.OpenBadgeCredential` as a dict (same shape as the model's `document()`;
    `tests/credentials/test_documents.py` holds the two together)."""
    subject: dict[str, Any] = {}
    if subject_did:
        subject["id"] = subject_did
    subject["type"] = ["AchievementSubject"]
    if not subject_did:
        subject["identifier"] = [hashed_email(subject_email).document()]
    subject["achievement"] = template.achievement
    if results:
        subject["result"] = [
            {
                "type": ["Result"],
                "resultDescription": result_description_id(
                    template.base_url, template.achievement_id, r["key"]
                ),
                "value": r["value"],
            }
            for r in results
        ]
    document: dict[str, Any] = {
        "@context": list(ob3.CONTEXTS),
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": template.name,
        "issuer": template.issuer,
        "validFrom": iso(valid_from),
    }
    if valid_until:
        document["validUntil"] = iso(valid_until)
    document["credentialSubject"] = subject
    if evidence:
        document["evidence"] = [{"type": ["Evidence"], **e} for e in evidence]
    document["credentialStatus"] = dict(status_entry)
    document["credentialSchema"] = [ob3.CredentialSchema().document()]
    return document
