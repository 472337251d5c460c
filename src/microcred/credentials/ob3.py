"""Open Badges 3.0 on the W3C Verifiable Credentials Data Model 2.0, as plain Pydantic models.

Each class mirrors a class of the specification (1EdTech Open Badges 3.0, section B "Data
Models"); fields use the spec's camelCase names through aliases. Only the terms we issue are
modelled, and every one of them is defined by the contexts in `CONTEXTS`, so the documents
survive JSON-LD safe mode. No framework imports here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

VC_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3P0 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
# Needed because credentialSchema uses 1EdTechJsonSchemaValidator2019 (undefined otherwise).
OB_EXTENSIONS = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
CONTEXTS = [VC_V2, OB_V3P0, OB_EXTENSIONS]
OB_SCHEMA = (
    "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


class _Spec(BaseModel):
    model_config = ConfigDict(alias_generator=_camel, populate_by_name=True, extra="forbid")

    def document(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class Image(_Spec):
    """B.1.x Image."""

    id: str
    type: Literal["Image"] = "Image"
    caption: str | None = None


class Profile(_Spec):
    """Issuer profile (B "Profile"): `id` is the issuer DID that controls the signing key."""

    id: str
    type: list[str] = Field(default_factory=lambda: ["Profile"])
    name: str
    url: str | None = None
    email: str | None = None
    description: str | None = None


class Criteria(_Spec):
    id: str | None = None
    narrative: str


class Alignment(_Spec):
    """A skill of a framework (here ESCO) the achievement is aligned to."""

    type: list[str] = Field(default_factory=lambda: ["Alignment"])
    target_name: str
    target_url: str
    target_description: str | None = None
    target_framework: str | None = None
    target_code: str | None = None
    target_type: str | None = "ceasn:Competency"


class ResultDescription(_Spec):
    id: str
    type: list[str] = Field(default_factory=lambda: ["ResultDescription"])
    name: str
    result_type: str
    value_min: str | None = None
    value_max: str | None = None
    required_value: str | None = None


class Achievement(_Spec):
    id: str
    type: list[str] = Field(default_factory=lambda: ["Achievement"])
    achievement_type: str = "MicroCredential"
    name: str
    description: str
    criteria: Criteria
    image: Image | None = None
    version: str | None = None
    alignment: list[Alignment] | None = None
    result_description: list[ResultDescription] | None = None
    creator: Profile | None = None


class IdentityObject(_Spec):
    """A hashed identifier of the learner (sha256 of e-mail + salt) when they have no DID."""

    type: Literal["IdentityObject"] = "IdentityObject"
    identity_hash: str
    identity_type: str = "emailAddress"
    hashed: bool = True
    salt: str | None = None


class Result(_Spec):
    type: list[str] = Field(default_factory=lambda: ["Result"])
    result_description: str | None = None
    value: str | None = None
    status: str | None = None


class AchievementSubject(_Spec):
    id: str | None = None
    type: list[str] = Field(default_factory=lambda: ["AchievementSubject"])
    identifier: list[IdentityObject] | None = None
    achievement: Achievement
    result: list[Result] | None = None


class Evidence(_Spec):
    id: str | None = None
    type: list[str] = Field(default_factory=lambda: ["Evidence"])
    name: str | None = None
    description: str | None = None
    narrative: str | None = None
    genre: str | None = None


class CredentialStatus(_Spec):
    """W3C Bitstring Status List entry: one object (the OB 3.0 schema rejects an array)."""

    id: str
    type: Literal["BitstringStatusListEntry"] = "BitstringStatusListEntry"
    status_purpose: Literal["revocation", "suspension"]
    status_list_index: str
    status_list_credential: str


class CredentialSchema(_Spec):
    id: str = OB_SCHEMA
    type: Literal["1EdTechJsonSchemaValidator2019"] = "1EdTechJsonSchemaValidator2019"


class OpenBadgeCredential(_Spec):
    """The unsigned credential; `proofs.sign` adds the DataIntegrityProof."""

    context: list[str] = Field(default_factory=lambda: list(CONTEXTS), alias="@context")
    id: str
    type: list[str] = Field(default_factory=lambda: ["VerifiableCredential", "OpenBadgeCredential"])
    name: str
    issuer: Profile
    valid_from: str
    valid_until: str | None = None
    credential_subject: AchievementSubject
    evidence: list[Evidence] | None = None
    credential_status: CredentialStatus | None = None
    credential_schema: list[CredentialSchema] | None = Field(
        default_factory=lambda: [CredentialSchema()]
    )
