"""Item definitions and grading, pure: choice items, numeric items with per-learner values, and
short-text items graded against a rubric (`text_grading`).

A numeric item's stem names variables (`{mass}`) that are drawn for each learner and attempt
from declared ranges, so an answer cannot be guessed from a friend's or shared online; the
key is a formula over those variables, evaluated by a small arithmetic interpreter (never
`eval`), and an answer is right within a stated tolerance.
"""

from __future__ import annotations

import ast
import hashlib
import math
import operator
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from microcred.assessment import text_grading

ItemKind = Literal["single_choice", "multiple_choice", "numeric", "short_text"]

MAX_FORMULA_LENGTH = 500
MAX_VARIABLES = 20
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,30}$")
_PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]{0,30})\}")

_BINARY: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.Mod: operator.mod,
}
_UNARY: dict[type[ast.unaryop], Callable[[float], float]] = {
    ast.UAdd: operator.pos,
    ast.USub: operator.neg,
}
_FUNCTIONS: dict[str, Callable[..., float]] = {
    "sqrt": math.sqrt,
    "exp": math.exp,
    "log": math.log,
    "log10": math.log10,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "abs": abs,
    "min": min,
    "max": max,
    "round": round,
}
_CONSTANTS = {"pi": math.pi, "e": math.e}


class ItemError(ValueError):
    """An item definition or an answer that cannot be used, with the precise reason."""


# --- formulas ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Formula:
    """An arithmetic expression over named variables, parsed once and checked up front."""

    source: str
    tree: ast.Expression = field(repr=False, compare=False)
    names: frozenset[str]

    @classmethod
    def parse(cls, source: str) -> Formula:
        if not source.strip():
            raise ItemError("the formula is empty")
        if len(source) > MAX_FORMULA_LENGTH:
            raise ItemError(f"the formula is longer than {MAX_FORMULA_LENGTH} characters")
        try:
            tree = ast.parse(source, mode="eval")
        except SyntaxError as exc:
            raise ItemError(f"the formula does not parse: {exc.msg}") from None
        names: set[str] = set()
        for node in ast.walk(tree):
            _check_node(node, names)
        return cls(source=source, tree=tree, names=frozenset(names))

    def evaluate(self, values: Mapping[str, float]) -> float:
        missing = sorted(self.names - set(values))
        if missing:
            raise ItemError(f"the formula uses undefined variables: {', '.join(missing)}")
        try:
            result = _evaluate(self.tree.body, values)
        except (ArithmeticError, ValueError) as exc:
            raise ItemError(f"the formula cannot be evaluated: {exc}") from None
        if not math.isfinite(result):
            raise ItemError("the formula does not give a finite number")
        return result


def _check_node(node: ast.AST, names: set[str]) -> None:
    allowed = (
        ast.Expression,
        ast.BinOp,
        ast.UnaryOp,
        ast.Constant,
        ast.Name,
        ast.Call,
        ast.Load,
        *_BINARY,
        *_UNARY,
    )
    if not isinstance(node, allowed):
        raise ItemError(f"the formula may only use arithmetic, not {type(node).__name__}")
    if isinstance(node, ast.Constant) and not isinstance(node.value, int | float):
        raise ItemError("the formula may only contain numbers")
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
            raise ItemError(f"allowed functions: {', '.join(sorted(_FUNCTIONS))}")
        if node.keywords:
            raise ItemError("functions take plain arguments")
    if isinstance(node, ast.Name) and node.id not in _FUNCTIONS and node.id not in _CONSTANTS:
        names.add(node.id)


def _evaluate(node: ast.expr, values: Mapping[str, float]) -> float:
    if isinstance(node, ast.Constant):
        if not isinstance(node.value, int | float):  # pragma: no cover - refused by parse()
            raise ValueError("not a number")
        return float(node.value)
    if isinstance(node, ast.Name):
        return float(_CONSTANTS[node.id] if node.id in _CONSTANTS else values[node.id])
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, values))
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, values), _evaluate(node.right, values)
        if isinstance(node.op, ast.Pow) and abs(right) > 100:
            raise ValueError("exponent too large")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        return float(_FUNCTIONS[node.func.id](*(_evaluate(a, values) for a in node.args)))
    raise ValueError(f"unsupported expression {type(node).__name__}")  # pragma: no cover


# --- item definitions -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Variable:
    """A per-learner value drawn uniformly from [low, high] on a grid of `step`."""

    name: str
    low: Decimal
    high: Decimal
    step: Decimal

    def draw(self, rng: random.Random) -> Decimal:
        count = int((self.high - self.low) / self.step)
        return self.low + self.step * rng.randint(0, count)


@dataclass(frozen=True, slots=True)
class Choice:
    id: str
    text: str


@dataclass(frozen=True, slots=True)
class ItemDefinition:
    """What an author writes. `validate()` refuses anything that could not be graded fairly."""

    kind: ItemKind
    stem: str
    choices: tuple[Choice, ...] = ()
    key: tuple[str, ...] = ()
    formula: str | None = None
    variables: tuple[Variable, ...] = ()
    tolerance: Decimal | None = None
    tolerance_kind: Literal["absolute", "relative"] = "absolute"
    unit: str | None = None
    rubric: text_grading.Rubric | None = None
    model_answer: str | None = None  # for assessors and feedback after the test, never live

    def validate(self) -> None:
        if not self.stem.strip():
            raise ItemError("the stem is empty")
        if self.kind in ("single_choice", "multiple_choice"):
            self._validate_choices()
        elif self.kind == "numeric":
            self._validate_numeric()
        elif self.kind == "short_text":
            self._validate_short_text()
        else:
            raise ItemError(f"unknown item kind {self.kind!r}")

    def _validate_short_text(self) -> None:
        if self.rubric is None:
            raise ItemError("a short-text item needs a rubric")
        try:
            self.rubric.validate()
        except text_grading.RubricError as exc:
            raise ItemError(f"the rubric cannot be used: {exc}") from None
        if self.model_answer is not None:
            # An item whose own model answer fails its rubric cannot be graded fairly.
            try:
                graded = text_grading.grade_text(self.rubric, self.model_answer)
            except text_grading.AnswerError as exc:
                raise ItemError(f"the model answer cannot be graded: {exc}") from None
            if not graded.correct:
                raise ItemError(
                    f"the model answer earns {graded.points} of {graded.total} points, below "
                    f"the {graded.credit} the rubric needs: the rubric's concepts do not match it"
                )

    def _validate_choices(self) -> None:
        ids = [c.id for c in self.choices]
        if len(ids) < 2:
            raise ItemError("a choice item needs at least two choices")
        if len(set(ids)) != len(ids):
            raise ItemError("choice ids must be unique")
        if not self.key:
            raise ItemError("a choice item needs a key (the right choice or choices)")
        unknown = sorted(set(self.key) - set(ids))
        if unknown:
            raise ItemError(f"the key names choices that do not exist: {', '.join(unknown)}")
        if self.kind == "single_choice" and len(self.key) != 1:
            raise ItemError("a single-choice item has exactly one right choice")

    def _validate_numeric(self) -> None:
        if not self.formula:
            raise ItemError("a numeric item needs a formula for its answer")
        formula = Formula.parse(self.formula)
        if self.tolerance is None or self.tolerance <= 0:
            raise ItemError("a numeric item needs a tolerance greater than zero")
        if len(self.variables) > MAX_VARIABLES:
            raise ItemError(f"at most {MAX_VARIABLES} variables")
        names = [v.name for v in self.variables]
        if len(set(names)) != len(names):
            raise ItemError("variable names must be unique")
        for variable in self.variables:
            if not _NAME.match(variable.name) or variable.name in _FUNCTIONS | _CONSTANTS:
                raise ItemError(f"{variable.name!r} is not a usable variable name")
            if variable.step <= 0 or variable.high < variable.low:
                raise ItemError(f"variable {variable.name}: needs low <= high and step > 0")
            if (variable.high - variable.low) / variable.step > 1_000_000:
                raise ItemError(f"variable {variable.name}: too many grid points")
        undefined = sorted(formula.names - set(names))
        if undefined:
            raise ItemError(f"the formula uses undefined variables: {', '.join(undefined)}")
        in_stem = set(_PLACEHOLDER.findall(self.stem))
        if in_stem - set(names):
            raise ItemError(
                f"the stem names undefined variables: {', '.join(sorted(in_stem - set(names)))}"
            )
        # Every corner of the ranges must evaluate, or some learner would get an item
        # nobody can answer.
        for corner in ("low", "high"):
            formula.evaluate({v.name: float(getattr(v, corner)) for v in self.variables})


# --- per-learner instances and grading -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class ItemInstance:
    """The item as one learner sees it in one attempt: stem filled in, no key."""

    stem: str
    choices: tuple[Choice, ...]
    values: Mapping[str, str]
    unit: str | None


def instance_seed(attempt_seed: int, item_id: str) -> int:
    """Stable per attempt and item, different across attempts and items."""
    digest = hashlib.sha256(f"{attempt_seed}:{item_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big")


def instantiate(item: ItemDefinition, *, seed: int) -> ItemInstance:
    """Draw the variables (deterministically from `seed`) and fill in the stem."""
    rng = random.Random(seed)  # noqa: S311 - item variety, not secrecy
    values = {v.name: v.draw(rng) for v in item.variables}
    shown = {name: _plain(value) for name, value in values.items()}
    stem = _PLACEHOLDER.sub(lambda m: shown.get(m.group(1), m.group(0)), item.stem)
    choices = item.choices
    if choices:
        order = list(choices)
        rng.shuffle(order)  # shuffled per learner so "the answer is C" cannot be shared
        choices = tuple(order)
    return ItemInstance(stem=stem, choices=choices, values=shown, unit=item.unit)


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


@dataclass(frozen=True, slots=True)
class Grade:
    correct: bool
    expected: str  # for the assessor's review; never shown while the assessment is live
    detail: str
    # A short-text answer's rubric grade: points per criterion, evidence, confidence.
    grading: Mapping[str, Any] | None = None


def grade(item: ItemDefinition, answer: Any, *, seed: int) -> Grade:
    """Grade one answer. Raises ItemError when the answer has the wrong shape."""
    if item.kind == "single_choice":
        if not isinstance(answer, str):
            raise ItemError("answer with one choice id")
        return _grade_choices(item, {answer})
    if item.kind == "multiple_choice":
        if (
            not isinstance(answer, Sequence)
            or isinstance(answer, str)
            or not all(isinstance(a, str) for a in answer)
        ):
            raise ItemError("answer with a list of choice ids")
        return _grade_choices(item, set(answer))
    if item.kind == "short_text":
        return _grade_text(item, answer)
    return _grade_numeric(item, answer, seed=seed)


def _grade_text(item: ItemDefinition, answer: Any) -> Grade:
    if not isinstance(answer, str):
        raise ItemError("answer with text")
    if item.rubric is None:  # pragma: no cover - refused by validate()
        raise ItemError("this item has no rubric")
    try:
        graded = text_grading.grade_text(item.rubric, answer)
    except text_grading.AnswerError as exc:
        raise ItemError(str(exc)) from None
    return Grade(
        graded.correct,
        item.model_answer or f"{graded.credit} of {graded.total} rubric points",
        f"{graded.points} of {graded.total} rubric points (credit from {graded.credit})",
        grading=grading_record(graded),
    )


def grading_record(graded: text_grading.TextGrade) -> dict[str, Any]:
    """The grade as stored beside the response and shown to assessors."""
    return {
        "points": graded.points,
        "total": graded.total,
        "credit": graded.credit,
        "correct": graded.correct,
        "confidence": round(graded.confidence, 3),
        "needs_review": graded.needs_review,
        "criteria": [
            {
                "id": c.id,
                "points": c.points,
                "evidence": c.evidence,
                "reason": c.reason,
                "confidence": round(c.confidence, 3),
            }
            for c in graded.criteria
        ],
    }


def _grade_choices(item: ItemDefinition, chosen: set[str]) -> Grade:
    known = {c.id for c in item.choices}
    if not chosen <= known:
        raise ItemError(f"unknown choices: {', '.join(sorted(chosen - known))}")
    correct = chosen == set(item.key)
    return Grade(
        correct, ",".join(sorted(item.key)), "right" if correct else "not the keyed choice(s)"
    )


def _grade_numeric(item: ItemDefinition, answer: Any, *, seed: int) -> Grade:
    if isinstance(answer, bool) or not isinstance(answer, int | float | str):
        raise ItemError("answer with a number")
    try:
        given = float(str(answer).strip().replace(",", "."))
    except ValueError:
        raise ItemError(f"{answer!r} is not a number") from None
    if not math.isfinite(given):
        raise ItemError("answer with a finite number")
    rng = random.Random(seed)  # noqa: S311 - the same draw as instantiate()
    values = {v.name: float(v.draw(rng)) for v in item.variables}
    expected = Formula.parse(item.formula or "").evaluate(values)
    tolerance = float(item.tolerance or 0)
    bound = tolerance * abs(expected) if item.tolerance_kind == "relative" else tolerance
    correct = abs(given - expected) <= bound
    return Grade(
        correct,
        f"{expected:.6g}",
        f"{given:.6g} is {'within' if correct else 'outside'} ±{bound:.3g} of the answer",
    )
