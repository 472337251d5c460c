"""Who is acting: passed explicitly to every service call that changes state."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Literal

from microcred.kit.errors import Forbidden

PrincipalKind = Literal["staff", "learner", "api_token", "system"]


@dataclass(frozen=True, slots=True)
class Principal:
    kind: PrincipalKind
    id: uuid.UUID | None
    institution_id: uuid.UUID | None
    roles: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] = field(default_factory=frozenset)
    label: str = ""

    @classmethod
    def system(cls, institution_id: uuid.UUID, *, roles: set[str], label: str) -> Principal:
        """The platform acting for an institution (a job, the assessment engine)."""
        return cls(
            kind="system",
            id=None,
            institution_id=institution_id,
            roles=frozenset(roles),
            label=label,
        )

    def require_role(self, *roles: str) -> None:
        """Admins may do anything within their institution; others need one of `roles`."""
        if self.kind == "system" or "admin" in self.roles or self.roles.intersection(roles):
            return
        raise Forbidden(f"this action needs one of the roles: {', '.join(sorted(roles))}")

    def require_scope(self, scope: str) -> None:
        if self.kind != "api_token" or scope in self.scopes:
            return
        raise Forbidden(f"this API token lacks the scope {scope!r}")

    @property
    def tenant(self) -> uuid.UUID:
        """The institution whose data this principal may touch; every tenant query needs it."""
        if self.institution_id is None:
            raise Forbidden("this action needs an institution's account")
        return self.institution_id

    @property
    def audit_actor(self) -> str:
        return f"{self.kind}:{self.id}" if self.id else self.kind


SYSTEM = Principal(kind="system", id=None, institution_id=None, label="system")
