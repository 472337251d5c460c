"""Test data made through the real services (never shared mutable fixtures)."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from microcred.catalog import service as catalog
from microcred.catalog.models import Achievement
from microcred.catalog.schemas import AchievementIn, AlignmentIn, ResultDescriptionIn
from microcred.identity import service as identity
from microcred.identity.models import Institution, Learner
from microcred.kit.principal import SYSTEM, Principal

_counter = itertools.count()
PYTHON_SKILL = "http://data.europa.eu/esco/skill/ccd0a1d9-afda-43d9-b901-96344886e14d"
SQL_SKILL = "http://data.europa.eu/esco/skill/598de5b0-5b58-4ea7-8058-a4bc4d18c742"
PASSWORD = "correct horse battery"


@dataclass
class Tenant:
    institution: Institution
    admin: Principal
    token: str

    @property
    def id(self) -> uuid.UUID:
        return self.institution.id

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def tenant(session: Session, *, did_method: str = "key", scopes: list[str] | None = None) -> Tenant:
    n = next(_counter)
    institution = identity.create_institution(
        session,
        actor=SYSTEM,
        slug=f"inst-{n}-{uuid.uuid4().hex[:6]}",
        name=f"Institution {n}",
        url="https://example.edu",
        did_method=did_method,
    )
    member = identity.create_staff_member(
        session,
        actor=SYSTEM,
        institution_id=institution.id,
        email=f"admin{n}@example.edu",
        display_name="Admin",
        roles=["admin", "issuer"],
        password=PASSWORD,
    )
    admin = Principal(
        kind="staff",
        id=member.id,
        institution_id=institution.id,
        roles=frozenset(member.roles),
        label="Admin",
    )
    token, _ = identity.create_api_token(
        session,
        actor=admin,
        institution_id=institution.id,
        staff_member_id=member.id,
        name="tests",
        scopes=scopes or list(identity.API_SCOPES),
    )
    session.flush()
    return Tenant(institution=institution, admin=admin, token=token)


def learner(session: Session, t: Tenant, **kwargs: Any) -> Learner:
    n = next(_counter)
    values: dict[str, Any] = {"email": f"learner{n}@example.org", "display_name": f"Learner {n}"}
    values.update(kwargs)
    return identity.create_learner(session, actor=t.admin, institution_id=t.id, **values)


def achievement(session: Session, t: Tenant, **kwargs: Any) -> Achievement:
    n = next(_counter)
    values: dict[str, Any] = {
        "slug": f"achievement-{n}",
        "name": f"Python data analysis {n}",
        "description": "Analyses tabular data with Python.",
        "criteria_narrative": "Passed the adaptive assessment.",
        "hours": Decimal("12.5"),
        "alignments": [
            AlignmentIn(target_url=PYTHON_SKILL),  # type: ignore[arg-type]
            AlignmentIn(target_url=SQL_SKILL),
        ],  # type: ignore[arg-type]
        "result_descriptions": [
            ResultDescriptionIn(
                key="score",
                name="Scaled score",
                result_type="ScaledScore",
                value_min="0",
                value_max="100",
            )
        ],
    }
    values.update(kwargs)
    return catalog.create_achievement(
        session, actor=t.admin, institution_id=t.id, data=AchievementIn(**values)
    )
