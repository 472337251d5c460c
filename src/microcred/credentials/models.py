"""Issuer keys, status lists and awards (the issued Open Badges 3.0 credentials)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from microcred.kit.db import Base, new_id, utcnow


class IssuerKey(Base):
    """An Ed25519 signing key of an institution. Retired keys stay listed so old proofs verify."""

    __tablename__ = "issuer_keys"
    __table_args__ = (
        CheckConstraint("state IN ('active', 'retired')", name="state"),
        # At most one key signs at a time per institution.
        Index(
            "uq_issuer_keys_one_active",
            "institution_id",
            unique=True,
            sqlite_where=text("state = 'active'"),
            postgresql_where=text("state = 'active'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    institution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    public_multikey: Mapped[str] = mapped_column(String(100), unique=True)
    # AES-GCM under the key-encryption key from settings (nonce ‖ ciphertext).
    private_key_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    state: Mapped[str] = mapped_column(String(8), default="active")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[dt.datetime | None]


class StatusList(Base):
    """A Bitstring Status List: the bits, which indexes are handed out, and its signed form."""

    __tablename__ = "status_lists"
    __table_args__ = (
        CheckConstraint("purpose IN ('revocation', 'suspension')", name="purpose"),
        CheckConstraint("allocated_count >= 0 AND allocated_count <= size", name="allocated"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    institution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    purpose: Mapped[str] = mapped_column(String(12))
    # The list's issuer must equal its credentials' issuer (peers check it). Under did:key a
    # rotation changes the DID, so lists stay with the DID, hence the key, they started with.
    issuer_did: Mapped[str] = mapped_column(String(500))
    # Fixed when the list is first published: its signed credential and every entry name it,
    # so a later change of the platform's base URL cannot split them.
    url: Mapped[str] = mapped_column(String(500), unique=True)
    size: Mapped[int]
    bits: Mapped[bytes] = mapped_column(LargeBinary)
    allocated: Mapped[bytes] = mapped_column(LargeBinary)
    allocated_count: Mapped[int] = mapped_column(default=0)
    # Bumped on every bit change; the signed credential below always matches it.
    revision: Mapped[int] = mapped_column(default=1)
    signed_credential: Mapped[dict[str, Any]]
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Award(Base):
    """One achievement awarded to one learner, and the signed credential that says so."""

    __tablename__ = "awards"
    __table_args__ = (
        CheckConstraint("state IN ('active', 'suspended', 'revoked')", name="state"),
        UniqueConstraint("status_list_id", "status_index"),
        UniqueConstraint("institution_id", "idempotency_key"),
        # One live award per learner and achievement; a revoked one can be re-awarded.
        Index(
            "uq_awards_one_live",
            "learner_id",
            "achievement_id",
            unique=True,
            sqlite_where=text("state != 'revoked'"),
            postgresql_where=text("state != 'revoked'"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    institution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE"), index=True
    )
    achievement_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("achievements.id", ondelete="RESTRICT"), index=True
    )
    achievement_version: Mapped[int]
    learner_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("learners.id", ondelete="RESTRICT"), index=True
    )
    issuer_key_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("issuer_keys.id"))
    status_list_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("status_lists.id"))
    status_index: Mapped[int]
    state: Mapped[str] = mapped_column(String(10), default="active")
    state_reason: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    issued_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    valid_from: Mapped[dt.datetime]
    valid_until: Mapped[dt.datetime | None]
    credential: Mapped[dict[str, Any]]


class CredentialRecord(Base):
    """The learner's choices for one award's record page. No row means the defaults: private."""

    __tablename__ = "credential_records"

    award_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("awards.id", ondelete="CASCADE"), primary_key=True
    )
    # Private by default: the public page shows nothing until the learner turns sharing on.
    public: Mapped[bool] = mapped_column(default=False)
    # What a public page shows beyond the achievement and the verdict.
    show_results: Mapped[bool] = mapped_column(default=True)
    show_evidence: Mapped[bool] = mapped_column(default=True)
    show_activity: Mapped[bool] = mapped_column(default=True)
    # When the share reminder went out; a learner is reminded once per award.
    reminded_at: Mapped[dt.datetime | None]
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class EvidenceNote(Base):
    """The learner's own annotation of one evidence entry of the credential (by position)."""

    __tablename__ = "evidence_notes"
    __table_args__ = (
        UniqueConstraint("award_id", "evidence_index"),
        CheckConstraint("evidence_index >= 0", name="evidence_index"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    award_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("awards.id", ondelete="CASCADE"))
    evidence_index: Mapped[int]
    note: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


SHARE_CHANNELS = ("linkedin", "link", "pdf", "png", "svg", "json", "email")


class ShareEvent(Base):
    """The learner shared (or downloaded to share) a credential: the share-rate KPI counts these."""

    __tablename__ = "share_events"
    __table_args__ = (
        CheckConstraint(
            "channel IN ('linkedin', 'link', 'pdf', 'png', 'svg', 'json', 'email')", name="channel"
        ),
        Index("ix_share_events_institution_created", "institution_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    institution_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE")
    )
    award_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("awards.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


VERIFICATION_SOURCES = ("page", "paste", "upload", "link", "api")


class VerificationEvent(Base):
    """Someone verified a credential (ours or another issuer's). No visitor data is kept."""

    __tablename__ = "verification_events"
    __table_args__ = (
        CheckConstraint("source IN ('page', 'paste', 'upload', 'link', 'api')", name="source"),
        CheckConstraint("verdict IN ('VALID', 'INVALID')", name="verdict"),
        Index("ix_verification_events_institution_created", "institution_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    # Set when the credential is one of ours: the issuer sees how often its awards are checked.
    institution_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("institutions.id", ondelete="CASCADE")
    )
    award_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("awards.id", ondelete="SET NULL"), index=True
    )
    source: Mapped[str] = mapped_column(String(6))
    verdict: Mapped[str] = mapped_column(String(7))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
