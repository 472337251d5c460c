"""Gap and path planning: the cheapest set and order of courses that covers a skill gap.

Pure code (no database, no web): the caller hands in the gap (the target's demanded skills,
weighted, minus what the learner has mastered) and the catalog; `plan` returns the steps.

The model, solved exactly as a mixed-integer program with SciPy's HiGHS (`scipy.optimize.milp`):

* Variables: ``x_c`` in {0, 1} for each usable course (1 = take it), and, when only the essential
  skills are required, ``y_s`` in [0, 1] for each coverable optional skill (1 = covered). ``y_s``
  can stay continuous: it is bounded by an integer sum and rewarded, so it lands on 0 or 1.
* Constraints:
  - coverage: every required skill (essential, or all with ``require="all"``) that some usable
    course teaches is covered, ``sum(x_c for c teaching s) >= 1``; skills taught nowhere are
    reported as uncovered instead, so they never make the problem infeasible;
  - optional coverage: ``y_s <= sum(x_c for c teaching s)``;
  - prerequisites: ``x_c <= x_p`` for each direct prerequisite p of c (transitivity follows);
  - budget ``sum(cost_c x_c) <= budget`` and deadline ``sum(hours_c x_c) <= max_hours``.
* Objective: minimise ``sum(v_c x_c) - eps * sum(w_s y_s)`` where ``v_c`` is the course's hours,
  cost or 1 (the learner's choice). The bonus is lexicographic by scaling: all of it together is
  at most ``1e-4`` of the cheapest course's ``v_c``, so it only breaks ties between plans whose
  primary values differ by less than that (below the precision anyone quotes hours or prices at):
  among the cheapest plans, the one covering more optional weight wins. For "cost" and "count"
  the fewest hours break ties first (scaled the same way for "cost"; for "count" by a second
  solve capped at the optimal count, see `_exact`). Courses dominated on every measure are
  dropped before any solve (see `_undominated`).

Why exact *and* greedy: set cover with prerequisites is NP-hard, but at catalog scale (hundreds of
gap skills, a thousand courses) HiGHS proves optimality in milliseconds, and an exact answer is
what makes "this is the cheapest path" an honest claim. For huge catalogs, or when HiGHS hits its
time limit without a solution, a greedy weighted set cover (cost of the course plus its missing
prerequisites per unit of newly covered required weight, then a pruning pass) answers instead,
and reports how far it may be from optimal against the LP relaxation's lower bound.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

# SciPy ships no type information; these names are Any here and results are cast at the edge.
from scipy.optimize import Bounds, LinearConstraint, milp  # type: ignore[import-untyped]
from scipy.sparse import coo_array  # type: ignore[import-untyped]

Objective = Literal["hours", "cost", "count"]

# Above this many (course, gap skill) pairs "auto" goes greedy: building and solving the MIP
# would no longer fit the interactive budget.
GREEDY_THRESHOLD = 2_000_000
# How much of the cheapest course's value the optional-coverage bonus may add up to (see module
# docstring), and the relative MIP gap HiGHS must close: tight enough to resolve that bonus.
BONUS_FRACTION = 1e-4
MIP_REL_GAP = 1e-7
TOLERANCE = 1e-6


class PlanningError(ValueError):
    """The planning request cannot be answered as asked."""


class CyclicPrerequisites(PlanningError):
    """The prerequisite graph has a cycle: no order of courses can respect it."""

    def __init__(self, cycle: Sequence[str]) -> None:
        self.cycle = list(cycle)
        super().__init__(
            "Prerequisites form a cycle, so no course in it can ever be taken: "
            + " → ".join(self.cycle)
            + " (each needs the next)"
        )


class InfeasiblePlan(PlanningError):
    """No plan covers the required skills within the budget and/or the deadline."""

    def __init__(
        self,
        message: str,
        binds: tuple[str, ...],
        min_budget: float | None,
        min_hours: float | None,
        drop: Sequence[GapSkill] = (),
        drop_sentence: str = "",
    ) -> None:
        self.binds = binds  # which constraints must be relaxed: "budget", "deadline"
        self.min_budget = min_budget  # cheapest budget that makes covering feasible
        self.min_hours = min_hours  # fewest study hours that make covering feasible
        # The other way out: the lightest set of required skills (fewest, at equal weights) whose
        # removal lets the rest fit the limits as given; empty when no plan fits even then.
        self.drop = list(drop)
        self.drop_sentence = drop_sentence
        super().__init__(message)


class PlanningTimeout(PlanningError):
    """The exact solver found no plan within its time limit (method="exact")."""


@dataclass(frozen=True)
class Course:
    id: str
    name: str
    skills: frozenset[str]
    hours: float
    cost: float = 0.0
    prerequisites: frozenset[str] = frozenset()


@dataclass(frozen=True)
class GapSkill:
    uri: str
    label: str
    weight: float
    essential: bool


@dataclass(frozen=True)
class PlanRequest:
    gap: Sequence[GapSkill]
    courses: Sequence[Course]
    objective: Objective = "hours"
    budget: float | None = None
    max_hours: float | None = None  # the deadline, as study hours available before it
    require: Literal["essential", "all"] = "essential"
    method: Literal["auto", "exact", "greedy"] = "auto"
    time_limit_s: float = 2.0


@dataclass(frozen=True)
class Step:
    course: Course
    order: int  # 1-based
    covers: list[GapSkill]  # the gap skills this step is the first to cover
    unlocks: list[str]  # ids of chosen courses that list this one as a prerequisite
    reason: str


@dataclass(frozen=True)
class Plan:
    steps: list[Step]
    objective: Objective
    objective_value: float  # total hours, cost or count of the plan, per `objective`
    lower_bound: float  # proven lower bound on the best possible objective_value
    total_hours: float
    total_cost: float
    count: int
    required_coverage: float  # share of the required gap weight the plan covers, 0..1
    essential_coverage: float  # share of the essential gap skills the plan covers, 0..1
    uncovered: list[GapSkill]  # gap skills no usable course teaches
    unusable: list[str]  # courses left out (a prerequisite is missing), in words
    method: Literal["exact", "greedy"]
    optimal: bool
    gap: float  # relative optimality gap: 0 when proven optimal
    solve_ms: float
    summary: str
    notes: list[str] = field(default_factory=list)
    # Whether the tie-breaks among optimal plans (the secondary measure, then optional weight)
    # were also solved to optimality; the objective's optimality never depends on them.
    tie_break_optimal: bool = True


# ---------------------------------------------------------------------------------------------
# Graph helpers


def find_cycle(prerequisites: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A cycle in the "needs" graph as a closed path (``["A", "B", "A"]``), or None.

    Edges point from a node to its prerequisites; prerequisites that are not keys are leaves.
    Iterative DFS with colours, so deep chains cannot hit the recursion limit.
    """
    white, grey, black = 0, 1, 2
    colour: dict[str, int] = {}
    for root in sorted(prerequisites):
        if colour.get(root, white) != white:
            continue
        path: list[str] = [root]
        stack = [iter(sorted(prerequisites.get(root, ())))]
        colour[root] = grey
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                colour[path.pop()] = black
                continue
            state = colour.get(nxt, white)
            if state == grey:
                return [*path[path.index(nxt) :], nxt]
            if state == white:
                colour[nxt] = grey
                path.append(nxt)
                stack.append(iter(sorted(prerequisites.get(nxt, ()))))
    return None


def topological_order(
    prerequisites: Mapping[str, Collection[str]],
    pick: Callable[[list[str]], str] | None = None,
) -> list[str]:
    """The keys ordered so that every node comes after its prerequisites (Kahn's algorithm).

    Prerequisites that are not keys are ignored. ``pick`` chooses among the nodes that are ready
    (default: the smallest id, for determinism); it may depend on what was already ordered.
    Raises CyclicPrerequisites naming a cycle when there is one.
    """
    nodes = set(prerequisites)
    missing = {n: {p for p in prerequisites[n] if p in nodes} for n in nodes}
    dependants: dict[str, list[str]] = {n: [] for n in nodes}
    for node, needs in missing.items():
        for p in needs:
            dependants[p].append(node)
    ready = sorted(n for n, needs in missing.items() if not needs)
    order: list[str] = []
    while ready:
        chosen = pick(ready) if pick is not None else ready[0]
        ready.remove(chosen)
        order.append(chosen)
        for d in dependants[chosen]:
            missing[d].discard(chosen)
            if not missing[d]:
                ready.append(d)
        ready.sort()
    if len(order) < len(nodes):
        rest = {n: [p for p in prerequisites[n] if p in nodes] for n in nodes - set(order)}
        cycle = find_cycle(rest)
        raise CyclicPrerequisites(cycle or sorted(rest))
    return order


# ---------------------------------------------------------------------------------------------
# The model


_Vector = np.ndarray[Any, np.dtype[np.float64]]


@dataclass
class _Model:
    courses: list[Course]  # usable courses relevant to the gap (teach it, or lead to one that does)
    index: dict[str, int]
    required: list[GapSkill]  # coverable and required
    optional: list[GapSkill]  # coverable, not required (bonus only)
    teachers: dict[str, list[int]]  # gap skill uri -> course indices teaching it
    prereq_pairs: list[tuple[int, int]]  # (course, direct prerequisite)
    hours: np.ndarray[Any, np.dtype[np.float64]]
    costs: np.ndarray[Any, np.dtype[np.float64]]

    def values(self, objective: Objective) -> np.ndarray[Any, np.dtype[np.float64]]:
        if objective == "hours":
            return self.hours
        if objective == "cost":
            return self.costs
        return np.ones(len(self.courses))


@dataclass
class _Solution:
    status: Literal["optimal", "feasible", "infeasible", "no_solution"]
    chosen: set[int]
    bound: float  # lower bound on the primary objective
    gap: float


def _validate(request: PlanRequest) -> None:
    seen: set[str] = set()
    for c in request.courses:
        if c.id in seen:
            raise ValueError(f"duplicate course id {c.id!r}")
        seen.add(c.id)
        for name, value in (("hours", c.hours), ("cost", c.cost)):
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"course {c.id!r} has invalid {name} {value!r}: must be >= 0")
    uris: set[str] = set()
    for s in request.gap:
        if s.uri in uris:
            raise ValueError(f"duplicate gap skill {s.uri!r}")
        uris.add(s.uri)
        if not math.isfinite(s.weight) or s.weight <= 0:
            raise ValueError(f"gap skill {s.uri!r} has weight {s.weight!r}: must be > 0")
    for name, limit in (("budget", request.budget), ("max_hours", request.max_hours)):
        if limit is not None and (not math.isfinite(limit) or limit < 0):
            raise ValueError(f"{name} must be a number >= 0, got {limit!r}")
    if not request.time_limit_s > 0:
        raise ValueError("time_limit_s must be > 0")
    if request.objective not in ("hours", "cost", "count"):
        raise ValueError(f"unknown objective {request.objective!r}")


def _usable(courses: Sequence[Course]) -> tuple[dict[str, Course], list[str]]:
    """Courses whose prerequisites all exist (transitively), and why the others are left out."""
    by_id = {c.id: c for c in courses}
    graph = {c.id: sorted(c.prerequisites) for c in courses}
    cycle = find_cycle(graph)
    if cycle is not None:
        raise CyclicPrerequisites(cycle)
    usable: dict[str, Course] = {}
    notes: list[str] = []
    for cid in topological_order(graph):
        course = by_id[cid]
        absent = sorted(p for p in course.prerequisites if p not in by_id)
        blocked = sorted(p for p in course.prerequisites if p in by_id and p not in usable)
        if absent:
            notes.append(
                f"'{course.name}' cannot be taken: its prerequisite {absent[0]!r} "
                "is not in the catalog"
            )
        elif blocked:
            notes.append(
                f"'{course.name}' cannot be taken: its prerequisite "
                f"'{by_id[blocked[0]].name}' cannot be taken"
            )
        else:
            usable[cid] = course
    return usable, notes


def _build(
    request: PlanRequest, usable: dict[str, Course]
) -> tuple[_Model, list[GapSkill], list[GapSkill]]:
    gap_uris = {s.uri for s in request.gap}
    teaching = [c for c in usable.values() if c.skills & gap_uris]
    # Keep the courses that teach a gap skill and everything they (transitively) need.
    keep: set[str] = set()
    todo = [c.id for c in teaching]
    while todo:
        cid = todo.pop()
        if cid not in keep:
            keep.add(cid)
            todo.extend(usable[cid].prerequisites)
    courses = [c for c in request.courses if c.id in keep]
    index = {c.id: i for i, c in enumerate(courses)}
    teachers: dict[str, list[int]] = {}
    for i, c in enumerate(courses):
        for uri in c.skills & gap_uris:
            teachers.setdefault(uri, []).append(i)
    coverable = [s for s in request.gap if s.uri in teachers]
    uncovered = [s for s in request.gap if s.uri not in teachers]
    required = [s for s in coverable if request.require == "all" or s.essential]
    optional = [s for s in coverable if not (request.require == "all" or s.essential)]
    pairs = [(index[c.id], index[p]) for c in courses for p in sorted(c.prerequisites)]
    model = _Model(
        courses=courses,
        index=index,
        required=required,
        optional=optional,
        teachers=teachers,
        prereq_pairs=pairs,
        hours=np.array([c.hours for c in courses], dtype=np.float64),
        costs=np.array([c.cost for c in courses], dtype=np.float64),
    )
    return model, coverable, uncovered


def _closures(model: _Model) -> list[int]:
    """Each course's strict transitive prerequisites, as a bitmask over course indices."""
    n = len(model.courses)
    needs: list[list[int]] = [[] for _ in range(n)]
    for course, prereq in model.prereq_pairs:
        needs[course].append(prereq)
    closure: list[int | None] = [None] * n
    for root in range(n):  # iterative post-order DFS: the graph is a DAG, checked upstream
        stack = [root]
        while stack:
            i = stack[-1]
            if closure[i] is not None:
                stack.pop()
                continue
            pending = [p for p in needs[i] if closure[p] is None]
            if pending:
                stack.extend(pending)
                continue
            mask = 0
            for p in needs[i]:
                mask |= (closure[p] or 0) | (1 << p)
            closure[i] = mask
            stack.pop()
    return [mask or 0 for mask in closure]


def _undominated(model: _Model, skills: Collection[str], vectors: Sequence[_Vector]) -> list[int]:
    """The courses that no other course dominates, in model order.

    Course b dominates course a when b teaches every one of ``skills`` that a teaches, is no
    worse on every vector (hours, cost, ...), needs no prerequisite outside a's own transitive
    prerequisites, and a is nobody's prerequisite. Swapping a for b in any plan then keeps it
    prerequisite-closed (a's prerequisites stay in it), covering, and no worse on any vector, so
    some optimal plan uses only undominated courses. Exact ties are broken by a strict key, which
    keeps the relation acyclic and transitive: every dropped course has an undominated dominator.
    """
    n = len(model.courses)
    closure = _closures(model)
    is_prereq = [False] * n
    for _course, prereq in model.prereq_pairs:
        is_prereq[prereq] = True
    wanted = set(skills)
    mine = [c.skills & wanted for c in model.courses]
    teach_mask: dict[str, int] = {}
    for i, taught in enumerate(mine):
        for u in taught:
            teach_mask[u] = teach_mask.get(u, 0) | (1 << i)
    rows = [tuple(float(v[i]) for v in vectors) for i in range(n)]
    key = [(*rows[i], -len(mine[i]), closure[i].bit_count(), model.courses[i].id) for i in range(n)]
    everyone = (1 << n) - 1
    keep: list[int] = []
    for i in range(n):
        if is_prereq[i]:
            keep.append(i)
            continue
        candidates = everyone & ~(1 << i)
        for u in mine[i]:
            candidates &= teach_mask[u]
        dominated = False
        while candidates and not dominated:
            low = candidates & -candidates
            j = low.bit_length() - 1
            candidates ^= low
            dominated = (
                key[j] < key[i]
                and all(a <= b for a, b in zip(rows[j], rows[i], strict=True))
                and not closure[j] & ~closure[i]
            )
        if not dominated:
            keep.append(i)
    return keep


def _restrict(model: _Model, keep: Sequence[int]) -> _Model:
    """The model on a subset of its courses (which must hold every kept course's prerequisites)."""
    new = {old: k for k, old in enumerate(keep)}
    courses = [model.courses[i] for i in keep]
    teachers = {u: [new[i] for i in lst if i in new] for u, lst in model.teachers.items()}
    teachers = {u: lst for u, lst in teachers.items() if lst}
    return _Model(
        courses=courses,
        index={c.id: k for k, c in enumerate(courses)},
        required=[s for s in model.required if s.uri in teachers],
        optional=[s for s in model.optional if s.uri in teachers],
        teachers=teachers,
        prereq_pairs=[(new[c], new[p]) for c, p in model.prereq_pairs if c in new],
        hours=model.hours[list(keep)] if keep else np.zeros(0),
        costs=model.costs[list(keep)] if keep else np.zeros(0),
    )


class _Rows:
    """Sparse constraint rows for one MIP, collected as COO triplets."""

    def __init__(self) -> None:
        self.rows: list[int] = []
        self.cols: list[int] = []
        self.vals: list[float] = []
        self.lower: list[float] = []
        self.upper: list[float] = []

    def add(self, entries: Iterable[tuple[int, float]], lo: float, hi: float) -> None:
        r = len(self.lower)
        for col, v in entries:
            self.rows.append(r)
            self.cols.append(col)
            self.vals.append(v)
        self.lower.append(lo)
        self.upper.append(hi)

    def constraints(self, width: int) -> list[Any]:
        if not self.lower:
            return []
        shape = (len(self.lower), width)
        matrix = coo_array((self.vals, (self.rows, self.cols)), shape=shape).tocsr()
        return [LinearConstraint(matrix, np.array(self.lower), np.array(self.upper))]


def _common_rows(model: _Model, caps: Sequence[tuple[_Vector, float]]) -> _Rows:
    """Prerequisite rows and the caps (budget, deadline, a primary optimum) on course columns."""
    rows = _Rows()
    for course, prereq in model.prereq_pairs:
        rows.add([(course, 1.0), (prereq, -1.0)], -np.inf, 0.0)
    for vector, limit in caps:
        rows.add(((i, float(v)) for i, v in enumerate(vector) if v), -np.inf, limit)
    return rows


def _run_milp(
    c: _Vector, rows: _Rows, n_integer: int, integer: bool, time_limit: float
) -> tuple[int, Any]:
    integrality = np.zeros(len(c))
    if integer:
        integrality[:n_integer] = 1
    result = milp(
        c=c,
        integrality=integrality,
        bounds=Bounds(np.zeros(len(c)), np.ones(len(c))),
        constraints=rows.constraints(len(c)),
        options={"time_limit": max(time_limit, 1e-3), "mip_rel_gap": MIP_REL_GAP},
    )
    return int(result.status), result


def _caps(
    model: _Model, budget: float | None, max_hours: float | None
) -> list[tuple[_Vector, float]]:
    caps: list[tuple[_Vector, float]] = []
    if budget is not None:
        caps.append((model.costs, budget))
    if max_hours is not None:
        caps.append((model.hours, max_hours))
    return caps


def _solve_mip(
    model: _Model,
    values: _Vector,
    *,
    bonus: bool,
    budget: float | None,
    max_hours: float | None,
    integer: bool,
    time_limit: float,
    caps: Sequence[tuple[_Vector, float]] = (),
) -> _Solution:
    """Minimise ``values`` over covering, prerequisite-closed plans within the limits; with
    ``bonus``, minus a tie-breaking reward for optional coverage (see module docstring)."""
    n = len(model.courses)
    optional = model.optional if bonus else []
    m = n + len(optional)
    c = np.zeros(m)
    c[:n] = values
    if optional:
        positive = values[values > 0]
        delta = BONUS_FRACTION * float(positive.min()) if positive.size else 1.0
        total = sum(s.weight for s in optional)
        c[n:] = [-delta * s.weight / total for s in optional]
    rows = _common_rows(model, [*_caps(model, budget, max_hours), *caps])
    for s in model.required:
        rows.add(((i, 1.0) for i in model.teachers[s.uri]), 1.0, np.inf)
    for k, s in enumerate(optional):
        rows.add([(n + k, 1.0), *((i, -1.0) for i in model.teachers[s.uri])], -np.inf, 0.0)
    status, result = _run_milp(c, rows, n, integer, time_limit)
    if status == 2:
        return _Solution("infeasible", set(), math.inf, math.inf)
    if result.x is None:
        return _Solution("no_solution", set(), -math.inf, math.inf)
    x = np.asarray(result.x, dtype=np.float64)
    chosen = {i for i in range(n) if x[i] > 0.5}
    fun = float(result.fun)
    dual = getattr(result, "mip_dual_bound", None)
    # The bonus only subtracts, so the solver's bound on the full objective is also a bound on
    # the primary one (see module docstring).
    bound = fun if status == 0 or dual is None or not integer else float(dual)
    raw_gap = getattr(result, "mip_gap", None)
    gap = 0.0 if not integer or raw_gap is None else max(0.0, float(raw_gap))
    return _Solution("optimal" if status == 0 else "feasible", chosen, bound, gap)


def _tie_key(model: _Model, chosen: set[int]) -> tuple[float, float]:
    covered = set().union(*(model.courses[i].skills for i in chosen)) if chosen else set()
    bonus = sum(s.weight for s in model.optional if s.uri in covered)
    return (round(float(sum(model.hours[i] for i in chosen)), 9), -bonus)


def _with_hours(values: _Vector, hours: _Vector) -> _Vector:
    """``values`` plus an hours tie-break scaled below any difference in ``values`` worth
    quoting (all of it together is at most BONUS_FRACTION of the smallest positive value)."""
    positive = values[values > 0]
    total = float(hours.sum())
    if total <= 0:
        return values
    if not positive.size:  # every course free: hours decide outright
        return hours.copy()
    return values + BONUS_FRACTION * float(positive.min()) * hours / total


def _exact(model: _Model, request: PlanRequest) -> tuple[_Solution, bool]:
    """The exact optimum, lexicographically: objective, then hours (for "cost" and "count"), then
    optional weight. Returns the solution in the model's indices and whether the tie-breaks were
    solved to optimality too.

    "hours" and "cost" are one solve of the scaled sum (see module docstring). "count" is two:
    the first, on the count alone, keeps the objective integral, which lets HiGHS round its
    bounds up and prune, and may drop every course dominated on the required skills alone
    (hours no longer matter there); a weighted sum would lose both and, on a random
    1,000-course catalog, leave a gap of several percent at the time limit. The second caps the
    count at that optimum and minimises the tie-breaks; it can only return another optimal
    plan, so running out of time there costs the tie-breaks, never optimality.
    """
    started = time.perf_counter()
    limit = request.time_limit_s
    objective = request.objective
    values = model.values(objective)
    if objective != "count":
        combined = _with_hours(values, model.hours) if objective == "cost" else values
        sol = _solve_mip(
            model,
            combined,
            bonus=True,
            budget=request.budget,
            max_hours=request.max_hours,
            integer=True,
            time_limit=limit,
        )
        return sol, sol.status == "optimal"
    limited = [
        v
        for v, cap in ((model.costs, request.budget), (model.hours, request.max_hours))
        if cap is not None
    ]
    keep = _undominated(model, {s.uri for s in model.required}, limited)
    sub = _restrict(model, keep)
    first = _solve_mip(
        sub,
        sub.values(objective),
        bonus=False,
        budget=request.budget,
        max_hours=request.max_hours,
        integer=True,
        time_limit=limit,
    )
    if first.status in ("infeasible", "no_solution"):
        return first, False
    chosen = {keep[i] for i in first.chosen}
    if first.status != "optimal":
        return _Solution(first.status, chosen, first.bound, first.gap), False
    primary = len(chosen)
    remaining = limit - (time.perf_counter() - started)
    second = _solve_mip(
        model,
        model.hours,
        bonus=True,
        budget=request.budget,
        max_hours=request.max_hours,
        integer=True,
        time_limit=max(remaining, 0.1 * limit),
        # Half a course of slack keeps the cap clear of the solver's feasibility tolerance
        # while still admitting no plan with one course more.
        caps=[(values, primary + 0.5)],
    )
    done = False
    if second.status in ("optimal", "feasible"):
        if len(second.chosen) <= primary and _tie_key(model, second.chosen) <= _tie_key(
            model, chosen
        ):
            chosen = second.chosen
        done = second.status == "optimal"
    return _Solution("optimal", chosen, float(primary), 0.0), done


def _drop(request: PlanRequest, model: _Model) -> tuple[list[GapSkill], float] | None:
    """The required skills to leave out so the rest fits the limits as given: the plan within
    the limits that covers the most required weight, cheapest (on the objective) among those.
    Returns the skills it leaves uncovered and that plan's objective value, or None when the
    solver finds nothing in time."""
    n = len(model.courses)
    required = model.required
    values = model.values(request.objective)
    c = np.zeros(n + len(required))
    weights = np.array([s.weight for s in required])
    c[n:] = -weights
    # Lexicographic by scaling, as for the optional bonus: all plan value together is worth less
    # than a 1e-4 share of the lightest skill.
    total = float(values.sum())
    if total > 0:
        c[:n] = BONUS_FRACTION * float(weights.min()) * values / total
    rows = _common_rows(model, _caps(model, request.budget, request.max_hours))
    for k, s in enumerate(required):
        rows.add([(n + k, 1.0), *((i, -1.0) for i in model.teachers[s.uri])], -np.inf, 0.0)
    status, result = _run_milp(c, rows, n, True, request.time_limit_s)
    if status == 2 or result.x is None:
        return None
    x = np.asarray(result.x, dtype=np.float64)
    chosen = [i for i in range(n) if x[i] > 0.5]
    covered = set().union(*(model.courses[i].skills for i in chosen)) if chosen else set()
    return [s for s in required if s.uri not in covered], float(values[chosen].sum())


def _greedy(model: _Model, values: np.ndarray[Any, np.dtype[np.float64]]) -> set[int]:
    """Weighted set cover: repeatedly take the course whose price (itself plus its missing
    prerequisites) per unit of newly covered required weight is lowest."""
    n = len(model.courses)
    needs: list[list[int]] = [[] for _ in range(n)]
    for course, prereq in model.prereq_pairs:
        needs[course].append(prereq)
    closure: list[list[int]] = []
    for i in range(n):  # course plus all its transitive prerequisites (the graph is a DAG)
        seen = {i}
        todo = list(needs[i])
        while todo:
            p = todo.pop()
            if p not in seen:
                seen.add(p)
                todo.extend(needs[p])
        closure.append(sorted(seen))
    weight = {s.uri: s.weight for s in model.required}
    skill_sets = [c.skills & weight.keys() for c in model.courses]
    uncovered = set(weight)
    chosen: set[int] = set()
    while uncovered:
        best: tuple[float, float, str, list[int]] | None = None
        for i in range(n):
            if i in chosen or (not skill_sets[i] & uncovered and not needs[i]):
                continue
            added = [p for p in closure[i] if p not in chosen]
            gained: set[str] = set()
            for p in added:
                gained |= skill_sets[p] & uncovered
            if not gained:
                continue
            gain = sum(weight[u] for u in gained)
            price = float(sum(values[p] for p in added))
            key = (price / gain, -gain, model.courses[i].id, added)
            if best is None or key[:3] < best[:3]:
                best = key
        if best is None:  # cannot happen: every required skill here is coverable
            break
        for p in best[3]:
            chosen.add(p)
            uncovered -= skill_sets[p]
    return chosen


def _prune(
    model: _Model,
    chosen: set[int],
    values: np.ndarray[Any, np.dtype[np.float64]],
    keep_optional: bool,
) -> set[int]:
    """Drop chosen courses that nothing needs: no chosen course requires them and every skill
    stays covered without them (optional skills too when ``keep_optional``). Never raises the
    objective, so an exact optimum stays optimal; it mainly cleans up greedy picks."""
    chosen = set(chosen)
    guarded = {s.uri for s in model.required}
    if keep_optional:
        guarded |= {s.uri for s in model.optional}
    changed = True
    while changed:
        changed = False
        needed = {p for c, p in model.prereq_pairs if c in chosen}
        for i in sorted(chosen, key=lambda j: (-values[j], model.courses[j].id)):
            if i in needed:
                continue
            rest = chosen - {i}
            mine = model.courses[i].skills & guarded
            if all(any(j in rest for j in model.teachers[u]) for u in mine):
                chosen = rest
                changed = True
                break
    return chosen


# ---------------------------------------------------------------------------------------------
# Output


def _num(x: float) -> str:
    text = f"{x:,.2f}".rstrip("0").rstrip(".")
    return text if text != "-0" else "0"


def _labels(skills: Sequence[GapSkill]) -> str:
    return ", ".join(s.label for s in skills)


def _plural(k: int, word: str) -> str:
    return f"{k} {word}" if k == 1 else f"{k} {word}s"


def _reason(covers: list[GapSkill], unlocks: list[Course]) -> str:
    essential = [s for s in covers if s.essential]
    optional = [s for s in covers if not s.essential]
    parts: list[str] = []
    if essential and optional:
        parts.append(
            f"Covers {_plural(len(essential), 'essential skill')} ({_labels(essential)}) "
            f"and {_plural(len(optional), 'optional skill')} ({_labels(optional)}) of the job"
        )
    elif essential:
        parts.append(
            f"Covers {_plural(len(essential), 'essential skill')} of the job: {_labels(essential)}"
        )
    elif optional:
        parts.append(
            f"Covers {_plural(len(optional), 'optional skill')} of the job: {_labels(optional)}"
        )
    if unlocks:
        names = ", ".join(f"'{c.name}'" for c in unlocks)
        parts.append(f"needed before {names}" if parts else f"Needed before {names}")
    return "; ".join(parts) if parts else "Adds no new gap skill"


def _steps(model: _Model, chosen: set[int]) -> list[Step]:
    ids = {model.courses[i].id: i for i in chosen}
    graph = {
        cid: sorted(p for p in model.courses[i].prerequisites if p in ids) for cid, i in ids.items()
    }
    weight = {s.uri: s.weight for s in model.required}
    covered: set[str] = set()

    def pick(ready: list[str]) -> str:
        # Ties between courses that are ready: the one covering most remaining required weight.
        def score(cid: str) -> tuple[float, str]:
            skills = model.courses[ids[cid]].skills
            gain = sum(weight[u] for u in skills if u in weight and u not in covered)
            return (-gain, cid)

        best = min(ready, key=score)
        covered.update(u for u in model.courses[ids[best]].skills if u in weight)
        return best

    order = topological_order(graph, pick)
    gap_by_uri = {s.uri: s for s in (*model.required, *model.optional)}
    seen: set[str] = set()
    steps: list[Step] = []
    for k, cid in enumerate(order, start=1):
        course = model.courses[ids[cid]]
        covers = [gap_by_uri[u] for u in gap_by_uri if u in course.skills and u not in seen]
        seen.update(s.uri for s in covers)
        unlock_courses = [model.courses[ids[d]] for d in order if cid in graph[d]]
        steps.append(
            Step(
                course=course,
                order=k,
                covers=covers,
                unlocks=[c.id for c in unlock_courses],
                reason=_reason(covers, unlock_courses),
            )
        )
    return steps


def _summary(
    request: PlanRequest,
    steps: list[Step],
    uncovered: list[GapSkill],
    unusable_count: int,
    method: str,
    optimal: bool,
    gap: float,
) -> str:
    if not request.gap:
        return "There is no skill gap to close: nothing to learn."
    essential = [s for s in request.gap if s.essential]
    lost = [s for s in uncovered if s.essential]
    sentences: list[str] = []
    if essential:
        taught = len(essential) - len(lost)
        pct = round(100 * taught / len(essential))
        if taught == 0:
            sentences.append(
                f"None of this job's {_plural(len(essential), 'essential skill')} "
                "is taught in this catalog."
            )
        elif lost:
            which = "this one is" if len(lost) == 1 else f"these {len(lost)} are"
            sentences.append(
                f"The catalog covers {pct}% of this job's essential skills; "
                f"{which} taught nowhere here: {_labels(lost)}."
            )
        else:
            sentences.append("The catalog covers all of this job's essential skills.")
    else:
        sentences.append("This job lists no essential skills missing from your profile.")
    other = [s for s in uncovered if not s.essential]
    if other:
        sentences.append(
            f"{_plural(len(other), 'optional skill')} taught nowhere here: {_labels(other)}."
        )
    if unusable_count:
        sentences.append(
            f"{_plural(unusable_count, 'course')} left out because a prerequisite is missing."
        )
    if not steps:
        sentences.append("No course is needed from this catalog.")
    else:
        hours = sum(s.course.hours for s in steps)
        cost = sum(s.course.cost for s in steps)
        text = f"The plan: {_plural(len(steps), 'course')}, {_num(hours)} hours"
        sentences.append(text + (f", cost {_num(cost)}." if cost else "."))
        if not optimal:
            how = "Found greedily" if method == "greedy" else "Best found within the time limit"
            sentences.append(f"{how}; at most {round(100 * gap)}% above the best possible.")
    return " ".join(sentences)


def _infeasible(request: PlanRequest, model: _Model) -> InfeasiblePlan:
    """Say which constraint binds and the cheapest relaxation of it."""
    what = "essential" if request.require == "essential" else "required"
    skills = _plural(len(model.required), f"{what} skill")
    limit = request.time_limit_s

    def minimum(objective: Objective, budget: float | None, hours: float | None) -> float | None:
        sol = _solve_mip(
            model,
            model.values(objective),
            bonus=False,
            budget=budget,
            max_hours=hours,
            integer=True,
            time_limit=limit,
        )
        if sol.status in ("infeasible", "no_solution"):
            return None
        return round(float(sum(model.values(objective)[i] for i in sol.chosen)), 6)

    # Relax one constraint at a time: the minimum of the relaxed quantity is the cheapest fix.
    min_budget = minimum("cost", None, request.max_hours) if request.budget is not None else None
    min_hours = minimum("hours", request.budget, None) if request.max_hours is not None else None
    sentences: list[str] = []
    binds: list[str] = []
    if min_hours is not None:
        within = " within your budget" if request.budget is not None else ""
        sentences.append(
            f"Covering the {skills}{within} needs at least {_num(min_hours)} hours; "
            f"you have {_num(request.max_hours or 0)}. Extend the deadline to "
            f"{_num(min_hours)} hours."
        )
        binds.append("deadline")
    if min_budget is not None:
        within = " within your deadline" if request.max_hours is not None else ""
        sentences.append(
            ("Alternatively, covering" if sentences else "Covering")
            + f" the {skills}{within} needs a budget of at least {_num(min_budget)}; "
            f"you have {_num(request.budget or 0)}. Raise the budget to {_num(min_budget)}."
        )
        binds.append("budget")
    if not sentences:
        # Neither relaxation alone is enough: both must move. Report each unconstrained minimum.
        min_budget = minimum("cost", None, None)
        min_hours = minimum("hours", None, None)
        binds = ["budget", "deadline"]
        sentences.append(
            f"Neither the budget ({_num(request.budget or 0)}) nor the deadline "
            f"({_num(request.max_hours or 0)} hours) alone can be relaxed enough to cover the "
            f"{skills}: the cheapest plan costs {_num(min_budget or 0)} and the shortest takes "
            f"{_num(min_hours or 0)} hours. Raise both."
        )
    drop: list[GapSkill] = []
    drop_sentence = ""
    found = _drop(request, model)
    if found is not None and found[0]:
        drop = found[0]
        limits = " and ".join(
            name
            for name, cap in (("budget", request.budget), ("deadline", request.max_hours))
            if cap is not None
        )
        if len(drop) == len(model.required):
            drop_sentence = f"Within your {limits} no plan covers any of the {skills}."
        else:
            kept = len(model.required) - len(drop)
            drop_sentence = (
                f"Or leave out {_plural(len(drop), f'{what} skill')} ({_labels(drop)}): "
                f"the other {kept} fit within your {limits}."
            )
        sentences.append(drop_sentence)
    return InfeasiblePlan(
        " ".join(sentences), tuple(sorted(binds)), min_budget, min_hours, drop, drop_sentence
    )


def _within_limits(request: PlanRequest, model: _Model, chosen: set[int]) -> bool:
    cost = float(sum(model.costs[i] for i in chosen))
    hours = float(sum(model.hours[i] for i in chosen))
    return (request.budget is None or cost <= request.budget + TOLERANCE) and (
        request.max_hours is None or hours <= request.max_hours + TOLERANCE
    )


def plan(request: PlanRequest) -> Plan:
    """The cheapest ordered set of courses covering the required gap skills (see module doc).

    Raises ValueError on malformed input, CyclicPrerequisites on a cyclic catalog, InfeasiblePlan
    when the budget or deadline rules every covering plan out, PlanningTimeout when
    ``method="exact"`` finds nothing in time.
    """
    started = time.perf_counter()
    _validate(request)
    usable, unusable = _usable(request.courses)
    model, _coverable, uncovered = _build(request, usable)
    # Dominated courses can never improve any plan on any measure, under any limit: drop them
    # once for every solver below (greedy included).
    gap_uris = {s.uri for s in (*model.required, *model.optional)}
    model = _restrict(model, _undominated(model, gap_uris, [model.hours, model.costs]))
    values = model.values(request.objective)
    limit = request.time_limit_s

    method: Literal["exact", "greedy"]
    method = "greedy" if request.method == "greedy" else "exact"
    if request.method == "auto" and len(model.courses) * len(request.gap) > GREEDY_THRESHOLD:
        method = "greedy"
    notes: list[str] = []
    chosen: set[int] = set()
    optimal, gap, bound = True, 0.0, 0.0
    tie_break_optimal = True
    if model.required or model.optional:
        if method == "exact":
            sol, tie_break_optimal = _exact(model, request)
            if sol.status == "infeasible":
                raise _infeasible(request, model)
            if sol.status == "no_solution":
                if request.method == "exact":
                    raise PlanningTimeout(
                        f"The exact solver found no plan within {_num(limit)} s; "
                        "try method='greedy' or a longer time limit."
                    )
                notes.append("The exact solver ran out of time; the greedy plan is shown.")
                method = "greedy"
            else:
                chosen = _prune(model, sol.chosen, values, keep_optional=True)
                optimal = sol.status == "optimal"
                gap, bound = sol.gap, sol.bound
        if method == "greedy":
            chosen = _prune(model, _greedy(model, values), values, keep_optional=False)
            if not _within_limits(request, model, chosen):
                # Greedy ignores the budget and deadline; an exact solve settles whether any
                # plan fits, and says which constraint binds when none does.
                sol, tie_break_optimal = _exact(model, request)
                if sol.status == "infeasible":
                    raise _infeasible(request, model)
                if sol.status == "no_solution":
                    raise PlanningError(
                        "The greedy plan exceeds the budget or deadline and the exact solver "
                        f"found no plan within {_num(limit)} s."
                    )
                method = "exact"
                chosen = _prune(model, sol.chosen, values, keep_optional=True)
                optimal, gap, bound = sol.status == "optimal", sol.gap, sol.bound
            else:
                relaxed = _solve_mip(
                    model,
                    values,
                    bonus=False,
                    budget=request.budget,
                    max_hours=request.max_hours,
                    integer=False,
                    time_limit=limit,
                )
                value = float(sum(values[i] for i in chosen))
                bound = relaxed.bound if relaxed.status == "optimal" else 0.0
                bound = min(max(bound, 0.0), value)
                gap = (value - bound) / value if value > TOLERANCE else 0.0
                optimal = gap <= TOLERANCE

    steps = _steps(model, chosen)
    value = float(sum(values[i] for i in chosen))
    if optimal:
        bound = value
    covered = {s.uri for st in steps for s in st.covers}
    required = [s for s in request.gap if request.require == "all" or s.essential]
    req_weight = sum(s.weight for s in required)
    essential = [s for s in request.gap if s.essential]
    return Plan(
        steps=steps,
        objective=request.objective,
        objective_value=value,
        lower_bound=min(bound, value),
        total_hours=float(sum(model.hours[i] for i in chosen)),
        total_cost=float(sum(model.costs[i] for i in chosen)),
        count=len(chosen),
        required_coverage=(
            sum(s.weight for s in required if s.uri in covered) / req_weight if req_weight else 1.0
        ),
        essential_coverage=(
            sum(1 for s in essential if s.uri in covered) / len(essential) if essential else 1.0
        ),
        uncovered=uncovered,
        unusable=unusable,
        method=method,
        optimal=optimal,
        gap=gap,
        solve_ms=(time.perf_counter() - started) * 1000,
        summary=_summary(request, steps, uncovered, len(unusable), method, optimal, gap),
        notes=notes,
        tie_break_optimal=optimal and tie_break_optimal,
    )
