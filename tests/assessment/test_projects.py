"""Project rubrics as graded-response items: validation, cold start, scoring, EAP."""

from __future__ import annotations

import numpy as np
import pytest

from microcred.assessment import irt, projects


def rubric(pass_points: int = 4) -> projects.ProjectRubric:
    return projects.build_rubric(
        [
            ("question", "Question", [("Missing", ""), ("Partial", ""), ("Clear", "")]),
            ("method", "Method", [("Poor", ""), ("Fair", ""), ("Good", ""), ("Expert", "")]),
            ("validation", "Validation", [("None", ""), ("Some", "")]),
        ],
        pass_points=pass_points,
    )


def test_cold_start_thresholds_are_evenly_spread_inside_the_span() -> None:
    assert projects.cold_start_thresholds(2) == (0.0,)
    assert projects.cold_start_thresholds(3) == pytest.approx((-0.5, 0.5))
    assert projects.cold_start_thresholds(4) == pytest.approx((-0.75, 0.0, 0.75))


def test_total_and_scoring() -> None:
    r = rubric()
    assert r.total == 2 + 3 + 1
    low = projects.score(r, {"question": 1, "method": 1, "validation": 0})
    high = projects.score(r, {"question": 2, "method": 3, "validation": 1})
    assert (low.points, low.accepted) == (2, False)
    assert (high.points, high.accepted) == (6, True)
    assert high.theta > low.theta
    assert "6 of 6 rubric points" in high.statement and "accepted" in high.statement


def test_two_level_criteria_give_the_2pl_eap() -> None:
    # A two-category graded response item is a 2PL item with b = its one threshold.
    r = projects.build_rubric(
        [(f"c{i}", f"C{i}", [("No", ""), ("Yes", "")]) for i in range(4)], pass_points=2
    )
    levels = {"c0": 1, "c1": 0, "c2": 1, "c3": 1}
    got = projects.score(r, levels)
    want = irt.eap(np.array([1.0, 0.0, 1.0, 1.0]), np.full(4, 1.5), np.zeros(4))
    assert (got.theta, got.se) == pytest.approx(want, abs=1e-9)


def test_eap_graded_with_nothing_scored_is_the_prior() -> None:
    params = rubric().grm()
    assert irt.eap_graded([None, None, None], params) == (0.0, 1.0)
    with pytest.raises(ValueError, match="outside"):
        irt.eap_graded([5, None, None], params)
    with pytest.raises(ValueError, match="3 items"):
        irt.eap_graded([1], params)


def test_round_trip_and_recalibration() -> None:
    r = rubric()
    again = projects.ProjectRubric.from_dict(r.to_dict())
    assert again == r
    fitted = irt.GRMItemParameters(
        a=np.array([1.0, 2.0, 0.7]),
        thresholds=np.array([[-1.0, 1.0, np.nan], [-2.0, 0.0, 2.0], [0.3, np.nan, np.nan]]),
    )
    updated = r.recalibrated(fitted)
    updated.validate()
    assert updated.criteria[1].a == 2.0 and updated.criteria[1].thresholds == (-2.0, 0.0, 2.0)


@pytest.mark.parametrize(
    ("criteria", "pass_points", "message"),
    [
        ([], 1, "at least one criterion"),
        ([("a", "A", [("x", "")])], 1, "2 to 6 levels"),
        ([("a", "A", [("x", ""), ("y", "")]), ("a", "B", [("x", ""), ("y", "")])], 1, "unique"),
        ([("A B", "A", [("x", ""), ("y", "")])], 1, "usable criterion id"),
        ([("a", " ", [("x", ""), ("y", "")])], 1, "name is empty"),
        ([("a", "A", [("x", ""), (" ", "")])], 1, "needs a label"),
        ([("a", "A", [("x", ""), ("y", "")])], 2, "pass mark"),
        ([("a", "A", [("x", ""), ("y", "")])], 0, "pass mark"),
    ],
)
def test_rubrics_that_cannot_be_used_are_refused(
    criteria: list[tuple[str, str, list[tuple[str, str]]]], pass_points: int, message: str
) -> None:
    with pytest.raises(projects.RubricError, match=message):
        projects.build_rubric(criteria, pass_points=pass_points)


@pytest.mark.parametrize(
    ("levels", "message"),
    [
        ({"question": 1, "method": 1}, "missing: validation"),
        ({"question": 1, "method": 1, "validation": 2}, "between 0 and 1"),
        ({"question": 1, "method": -1, "validation": 0}, "between 0 and 3"),
        ({"question": 1, "method": 1, "validation": 0, "extra": 1}, "not criteria"),
        ({"question": True, "method": 1, "validation": 0}, "whole number"),
    ],
)
def test_reviews_that_do_not_fit_the_rubric_are_refused(
    levels: dict[str, int], message: str
) -> None:
    with pytest.raises(projects.RubricError, match=message):
        projects.score(rubric(), levels)
