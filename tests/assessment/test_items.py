from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microcred.assessment.items import (
    Choice,
    Formula,
    ItemDefinition,
    ItemError,
    Variable,
    grade,
    instance_seed,
    instantiate,
)

SPEED = ItemDefinition(
    kind="numeric",
    stem="A cyclist covers {distance} km in {minutes} minutes. Average speed in km/h?",
    formula="distance / (minutes / 60)",
    variables=(
        Variable("distance", Decimal(5), Decimal(40), Decimal("0.5")),
        Variable("minutes", Decimal(10), Decimal(120), Decimal(5)),
    ),
    tolerance=Decimal("0.01"),
    tolerance_kind="relative",
    unit="km/h",
)
CAPITAL = ItemDefinition(
    kind="single_choice",
    stem="Which clause filters groups after aggregation?",
    choices=(Choice("a", "WHERE"), Choice("b", "HAVING"), Choice("c", "ORDER BY")),
    key=("b",),
)
PRIMES = ItemDefinition(
    kind="multiple_choice",
    stem="Which are prime?",
    choices=(Choice("a", "2"), Choice("b", "4"), Choice("c", "7")),
    key=("a", "c"),
)


def test_numeric_items_differ_per_learner_and_grade_their_own_values() -> None:
    seen = set()
    for attempt_seed in range(20):
        seed = instance_seed(attempt_seed, "item-1")
        shown = instantiate(SPEED, seed=seed)
        distance, minutes = float(shown.values["distance"]), float(shown.values["minutes"])
        assert shown.values["distance"] in shown.stem and shown.unit == "km/h"
        right = distance / (minutes / 60)
        assert grade(SPEED, round(right, 3), seed=seed).correct
        assert grade(SPEED, str(right * 1.009).replace(".", ","), seed=seed).correct
        assert not grade(SPEED, right * 1.02, seed=seed).correct
        seen.add(shown.stem)
    assert len(seen) > 15  # a shared answer is useless to the next learner


def test_instances_are_stable_for_one_attempt() -> None:
    seed = instance_seed(42, "item-1")
    assert instantiate(SPEED, seed=seed) == instantiate(SPEED, seed=seed)
    assert instance_seed(42, "item-1") != instance_seed(43, "item-1")
    assert instance_seed(42, "item-1") != instance_seed(42, "item-2")


def test_choice_items_are_shuffled_per_learner_and_graded_as_sets() -> None:
    orders = {tuple(c.id for c in instantiate(CAPITAL, seed=s).choices) for s in range(30)}
    assert len(orders) > 1
    assert grade(CAPITAL, "b", seed=1).correct
    assert not grade(CAPITAL, "a", seed=1).correct
    assert grade(PRIMES, ["c", "a"], seed=1).correct
    assert not grade(PRIMES, ["a"], seed=1).correct
    with pytest.raises(ItemError, match="unknown choices"):
        grade(PRIMES, ["z"], seed=1)
    with pytest.raises(ItemError, match="one choice id"):
        grade(CAPITAL, ["b"], seed=1)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (
            ItemDefinition(kind="numeric", stem="x", formula="a +", tolerance=Decimal(1)),
            "does not parse",
        ),
        (
            ItemDefinition(
                kind="numeric",
                stem="{a}",
                formula="a * 2",
                variables=(Variable("a", Decimal(0), Decimal(1), Decimal("0.1")),),
                tolerance=Decimal(0),
            ),
            "tolerance greater than zero",
        ),
        (
            ItemDefinition(
                kind="numeric",
                stem="{a}",
                formula="b * 2",
                variables=(Variable("a", Decimal(0), Decimal(1), Decimal("0.1")),),
                tolerance=Decimal(1),
            ),
            "undefined variables: b",
        ),
        (
            ItemDefinition(
                kind="numeric",
                stem="{a}",
                formula="1 / a",
                variables=(Variable("a", Decimal(0), Decimal(1), Decimal("0.1")),),
                tolerance=Decimal(1),
            ),
            "cannot be evaluated",
        ),
        (
            ItemDefinition(
                kind="numeric", stem="{a}", formula="__import__('os')", tolerance=Decimal(1)
            ),
            "allowed functions",
        ),
        (
            ItemDefinition(
                kind="numeric",
                stem="{a}",
                formula="a.real",
                variables=(Variable("a", Decimal(0), Decimal(1), Decimal("0.1")),),
                tolerance=Decimal(1),
            ),
            "only use arithmetic",
        ),
        (
            ItemDefinition(
                kind="numeric",
                stem="{b}",
                formula="a",
                variables=(Variable("a", Decimal(0), Decimal(1), Decimal("0.1")),),
                tolerance=Decimal(1),
            ),
            "stem names undefined variables: b",
        ),
        (
            ItemDefinition(
                kind="single_choice", stem="?", choices=(Choice("a", "x"), Choice("b", "y"))
            ),
            "needs a key",
        ),
        (
            ItemDefinition(
                kind="single_choice",
                stem="?",
                choices=(Choice("a", "x"), Choice("b", "y")),
                key=("a", "b"),
            ),
            "exactly one",
        ),
        (
            ItemDefinition(
                kind="multiple_choice", stem="?", choices=(Choice("a", "x"),), key=("a",)
            ),
            "at least two",
        ),
        (
            ItemDefinition(
                kind="multiple_choice",
                stem="?",
                choices=(Choice("a", "x"), Choice("b", "y")),
                key=("c",),
            ),
            "do not exist",
        ),
    ],
)
def test_malformed_items_are_refused(item: ItemDefinition, message: str) -> None:
    with pytest.raises(ItemError, match=message):
        item.validate()


def test_valid_items_validate() -> None:
    for item in (SPEED, CAPITAL, PRIMES):
        item.validate()


def test_numeric_answers_must_be_numbers() -> None:
    for bad in ("twelve", True, None, ["1"], "inf"):
        with pytest.raises(ItemError):
            grade(SPEED, bad, seed=1)


def test_huge_powers_are_refused_rather_than_computed() -> None:
    with pytest.raises(ItemError, match="cannot be evaluated"):
        Formula.parse("2 ** 100000").evaluate({})


@given(st.text(max_size=60))
def test_formula_parser_never_crashes(source: str) -> None:
    try:
        formula = Formula.parse(source)
        formula.evaluate(dict.fromkeys(formula.names, 1.5))
    except ItemError:
        pass
