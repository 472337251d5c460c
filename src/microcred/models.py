"""Imports every context's ORM models so that `Base.metadata` is complete (Alembic, tests)."""

from microcred.ask import models as ask_models
from microcred.assessment import models as assessment_models
from microcred.catalog import models as catalog_models
from microcred.credentials import models as credentials_models
from microcred.identity import models as identity_models
from microcred.kit import audit, jobs
from microcred.kit.db import Base
from microcred.learning import models as learning_models

__all__ = [
    "Base",
    "ask_models",
    "assessment_models",
    "audit",
    "catalog_models",
    "credentials_models",
    "identity_models",
    "jobs",
    "learning_models",
]
