"""Project rubrics, pure: criteria with ordered levels that an assessor scores.

Each criterion is a graded-response-model item (Samejima): its level is a category, so a
reviewed project yields an ability estimate on the same θ scale as the adaptive test, with its
standard error. Until enough projects have been reviewed to calibrate the criteria, their
parameters come from the rubric's shape (evenly spaced thresholds); the pass decision itself
rests on the points the assessor gave against the brief's pass mark, which a person can read
and check, and the θ is reported beside it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from microcred.assessment import irt

MAX_CRITERIA = 12
MIN_LEVELS, MAX_LEVELS = 2, 6
COLD_START_SLOPE = 1.5
# Cold-start thresholds span this θ range: the lowest level is for clearly weak work and the
# highest for clearly strong work, whatever the number of levels.
COLD_START_SPAN = (-1.5, 1.5)
_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


class RubricError(ValueError):
    """A rubric or a review that cannot be used, with the precise reason."""


@dataclass(frozen=True, slots=True)
class Level:
    label: str
    descriptor: str


@dataclass(frozen=True, slots=True)
class RubricCriterion:
    """One criterion; reaching level k earns k points (the first level earns none)."""

    id: str
    name: str
    levels: tuple[Level, ...]
    a: float = COLD_START_SLOPE
    thresholds: tuple[float, ...] = ()

    @property
    def max_points(self) -> int:
        return len(self.levels) - 1


def cold_start_thresholds(n_levels: int) -> tuple[float, ...]:
    low, high = COLD_START_SPAN
    return tuple(float(t) for t in np.linspace(low, high, n_levels - 1 + 2)[1:-1])


@dataclass(frozen=True, slots=True)
class ProjectRubric:
    criteria: tuple[RubricCriterion, ...]
    pass_points: int

    @property
    def total(self) -> int:
        return sum(c.max_points for c in self.criteria)

    def validate(self) -> None:
        if not self.criteria:
            raise RubricError("a rubric needs at least one criterion")
        if len(self.criteria) > MAX_CRITERIA:
            raise RubricError(f"at most {MAX_CRITERIA} criteria")
        ids = [c.id for c in self.criteria]
        if len(set(ids)) != len(ids):
            raise RubricError("criterion ids must be unique")
        for criterion in self.criteria:
            if not _ID.match(criterion.id):
                raise RubricError(f"{criterion.id!r} is not a usable criterion id")
            if not criterion.name.strip():
                raise RubricError(f"criterion {criterion.id}: the name is empty")
            if not MIN_LEVELS <= len(criterion.levels) <= MAX_LEVELS:
                raise RubricError(
                    f"criterion {criterion.id}: needs {MIN_LEVELS} to {MAX_LEVELS} levels"
                )
            if any(not level.label.strip() for level in criterion.levels):
                raise RubricError(f"criterion {criterion.id}: every level needs a label")
            if len(criterion.thresholds) != criterion.max_points:
                raise RubricError(
                    f"criterion {criterion.id}: needs {criterion.max_points} thresholds"
                )
            if not criterion.a > 0 or any(
                b <= a for a, b in zip(criterion.thresholds, criterion.thresholds[1:], strict=False)
            ):
                raise RubricError(
                    f"criterion {criterion.id}: slope must be positive and thresholds increase"
                )
        if not 1 <= self.pass_points <= self.total:
            raise RubricError(f"the pass mark must be between 1 and {self.total} points")

    def grm(self) -> irt.GRMItemParameters:
        width = max(c.max_points for c in self.criteria)
        thresholds = np.full((len(self.criteria), width), np.nan)
        for j, criterion in enumerate(self.criteria):
            thresholds[j, : criterion.max_points] = criterion.thresholds
        return irt.GRMItemParameters(
            a=np.array([c.a for c in self.criteria]), thresholds=thresholds
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "criteria": [
                {
                    "id": c.id,
                    "name": c.name,
                    "levels": [{"label": lv.label, "descriptor": lv.descriptor} for lv in c.levels],
                    "a": c.a,
                    "thresholds": list(c.thresholds),
                }
                for c in self.criteria
            ],
            "pass_points": self.pass_points,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProjectRubric:
        return cls(
            criteria=tuple(
                RubricCriterion(
                    id=c["id"],
                    name=c["name"],
                    levels=tuple(
                        Level(lv["label"], lv.get("descriptor", "")) for lv in c["levels"]
                    ),
                    a=float(c["a"]),
                    thresholds=tuple(float(t) for t in c["thresholds"]),
                )
                for c in data["criteria"]
            ),
            pass_points=int(data["pass_points"]),
        )

    def recalibrated(self, params: irt.GRMItemParameters) -> ProjectRubric:
        """The same rubric with calibrated slopes and thresholds."""
        criteria = []
        for j, criterion in enumerate(self.criteria):
            a, thresholds = params.item(j)
            criteria.append(
                RubricCriterion(
                    criterion.id,
                    criterion.name,
                    criterion.levels,
                    a=a,
                    thresholds=tuple(float(t) for t in thresholds),
                )
            )
        return ProjectRubric(tuple(criteria), self.pass_points)


def build_rubric(
    criteria: Sequence[tuple[str, str, Sequence[tuple[str, str]]]], *, pass_points: int
) -> ProjectRubric:
    """A rubric from `(id, name, [(label, descriptor), ...])` with cold-start parameters."""
    rubric = ProjectRubric(
        criteria=tuple(
            RubricCriterion(
                id=cid,
                name=name,
                levels=tuple(Level(label, descriptor) for label, descriptor in levels),
                thresholds=cold_start_thresholds(len(levels)) if len(levels) >= 2 else (),
            )
            for cid, name, levels in criteria
        ),
        pass_points=pass_points,
    )
    rubric.validate()
    return rubric


@dataclass(frozen=True, slots=True)
class ProjectScore:
    points: int
    total: int
    pass_points: int
    accepted: bool
    theta: float
    se: float
    levels: Mapping[str, int]
    statement: str


def score(rubric: ProjectRubric, levels: Mapping[str, int]) -> ProjectScore:
    """Score a review: every criterion must have a level; the points decide, θ is reported."""
    known = {c.id for c in rubric.criteria}
    unknown = sorted(set(levels) - known)
    if unknown:
        raise RubricError(f"not criteria of this rubric: {', '.join(unknown)}")
    missing = [c.id for c in rubric.criteria if c.id not in levels]
    if missing:
        raise RubricError(f"give a level for every criterion; missing: {', '.join(missing)}")
    categories: list[int | None] = []
    for criterion in rubric.criteria:
        level = levels[criterion.id]
        if isinstance(level, bool) or not isinstance(level, int):
            raise RubricError(f"criterion {criterion.id}: the level must be a whole number")
        if not 0 <= level <= criterion.max_points:
            raise RubricError(
                f"criterion {criterion.id}: level must be between 0 and {criterion.max_points}"
            )
        categories.append(level)
    theta, se = irt.eap_graded(categories, rubric.grm())
    points = sum(c for c in categories if c is not None)
    accepted = points >= rubric.pass_points
    statement = (
        f"{points} of {rubric.total} rubric points; the pass mark is {rubric.pass_points}: "
        + ("accepted" if accepted else "returned for another attempt")
    )
    return ProjectScore(
        points=points,
        total=rubric.total,
        pass_points=rubric.pass_points,
        accepted=accepted,
        theta=theta,
        se=se,
        levels=dict(levels),
        statement=statement,
    )
