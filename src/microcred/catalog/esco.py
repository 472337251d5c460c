"""The bundled ESCO subset: labels for skill URIs (see data/ATTRIBUTION.md)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files

ESCO_SKILL_URI = re.compile(
    r"^http://data\.europa\.eu/esco/skill/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
)


@dataclass(frozen=True, slots=True)
class EscoSkill:
    uri: str
    label: str
    skill_type: str
    description: str


@lru_cache(maxsize=1)
def bundled_skills() -> dict[str, EscoSkill]:
    text = (files("microcred.catalog") / "data" / "esco_digital_skills.csv").read_text("utf-8")
    return {
        row["uri"]: EscoSkill(row["uri"], row["label"], row["skill_type"], row["description"])
        for row in csv.DictReader(text.splitlines())
    }


def search(query: str, *, limit: int = 20) -> list[EscoSkill]:
    """Case-insensitive label search over the bundled subset: prefix matches first."""
    needle = query.strip().lower()
    if not needle:
        return []
    hits = [s for s in bundled_skills().values() if needle in s.label.lower()]
    hits.sort(key=lambda s: (not s.label.lower().startswith(needle), len(s.label), s.label))
    return hits[:limit]
