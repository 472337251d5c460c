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
  among the cheapest plans, the one covering more optional weight wins.

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
    ) -> None:
        self.binds = binds  # which constraints must be relaxed: "budget", "deadline"
        self.min_budget = min_budget  # cheapest budget that makes covering feasible
        self.min_hours = min_hours  # fewest study hours that make covering feasible
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


def _solve_mip(
    model: _Model,
    values: np.ndarray[Any, np.dtype[np.float64]],
    *,
    bonus: bool,
    budget: float | None,
    max_hours: float | None,
    integer: bool,
    time_limit: float,
) -> _Solution:
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
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    lower: list[float] = []
    upper: list[float] = []

    def add_row(entries: Iterable[tuple[int, float]], lo: float, hi: float) -> None:
        r = len(lower)
        for col, v in entries:
            rows.append(r)
            cols.append(col)
            vals.append(v)
        lower.append(lo)
        upper.append(hi)

    for s in model.required:
        add_row(((i, 1.0) for i in model.teachers[s.uri]), 1.0, np.inf)
    for k, s in enumerate(optional):
        add_row([(n + k, 1.0), *((i, -1.0) for i in model.teachers[s.uri])], -np.inf, 0.0)
    for course, prereq in model.prereq_pairs:
        add_row([(course, 1.0), (prereq, -1.0)], -np.inf, 0.0)
    if budget is not None:
        add_row(((i, float(v)) for i, v in enumerate(model.costs)), -np.inf, budget)
    if max_hours is not None:
        add_row(((i, float(v)) for i, v in enumerate(model.hours)), -np.inf, max_hours)

    constraints = []
    if lower:
        matrix = coo_array((vals, (rows, cols)), shape=(len(lower), m)).tocsr()
        constraints.append(LinearConstraint(matrix, np.array(lower), np.array(upper)))
    integrality = np.zeros(m)
    if integer:
        integrality[:n] = 1
    result = milp(
        c=c,
        integrality=integrality,
        bounds=Bounds(np.zeros(m), np.ones(m)),
        constraints=constraints,
        options={"time_limit": time_limit, "mip_rel_gap": MIP_REL_GAP},
    )
    status = int(result.status)
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
            gain = sum(weight[u] for u in model.courses[ids[cid]].skills if u in weight)
            gain -= sum(weight[u] for u in covered if u in model.courses[ids[cid]].skills)
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
    return InfeasiblePlan(" ".join(sentences), tuple(sorted(binds)), min_budget, min_hours)


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
    values = model.values(request.objective)
    limit = request.time_limit_s

    method: Literal["exact", "greedy"]
    method = "greedy" if request.method == "greedy" else "exact"
    if request.method == "auto" and len(model.courses) * len(request.gap) > GREEDY_THRESHOLD:
        method = "greedy"
    notes: list[str] = []
    chosen: set[int] = set()
    optimal, gap, bound = True, 0.0, 0.0
    if model.required or model.optional:
        if method == "exact":
            sol = _solve_mip(
                model,
                values,
                bonus=True,
                budget=request.budget,
                max_hours=request.max_hours,
                integer=True,
                time_limit=limit,
            )
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
                sol = _solve_mip(
                    model,
                    values,
                    bonus=True,
                    budget=request.budget,
                    max_hours=request.max_hours,
                    integer=True,
                    time_limit=limit,
                )
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
    )
