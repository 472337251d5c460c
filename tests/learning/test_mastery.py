"""Learner mastery: EM recovers known parameters, hand-computed BKT steps, evidence and pooling."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microcred.learning.mastery import (
    DEFAULT_BKT,
    BKTParams,
    MasteryEstimate,
    combine,
    fit_bkt,
    fit_bkt_per_skill,
    from_ability,
    from_award,
    from_practice,
    from_recognition,
    is_mastered,
    posterior,
    predict_next,
    predict_per_skill,
    update_with_answer,
)


def simulate(params: BKTParams, learners: int, seed: int, max_len: int = 20) -> list[list[int]]:
    """Answer sequences drawn from the BKT model itself."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(learners):
        mastered = rng.random() < params.p_init
        answers = []
        for _ in range(int(rng.integers(3, max_len))):
            p = 1 - params.p_slip if mastered else params.p_guess
            answers.append(int(rng.random() < p))
            if mastered:
                mastered = rng.random() >= params.p_forget
            else:
                mastered = rng.random() < params.p_learn
        out.append(answers)
    return out


def close(fitted: BKTParams, true: BKTParams, tolerance: float) -> list[str]:
    names = ("p_init", "p_learn", "p_guess", "p_slip", "p_forget")
    return [
        f"{n}: {getattr(fitted, n):.3f} vs {getattr(true, n):.3f}"
        for n in names
        if abs(getattr(fitted, n) - getattr(true, n)) > tolerance
    ]


# --- EM ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("true", "seed"),
    [
        (BKTParams(p_init=0.3, p_learn=0.15, p_guess=0.2, p_slip=0.1), 1),
        (BKTParams(p_init=0.6, p_learn=0.05, p_guess=0.3, p_slip=0.15), 2),
    ],
)
def test_em_recovers_known_parameters(true: BKTParams, seed: int) -> None:
    fitted = fit_bkt(simulate(true, 3000, seed))
    assert close(fitted, true, 0.04) == []
    assert fitted.version == "em"


def test_em_with_forgetting_recovers_the_forget_rate() -> None:
    true = BKTParams(p_init=0.4, p_learn=0.2, p_guess=0.2, p_slip=0.1, p_forget=0.08)
    fitted = fit_bkt(simulate(true, 4000, 3, max_len=30), forgetting=True)
    assert close(fitted, true, 0.05) == []
    assert fit_bkt(simulate(true, 200, 3)).p_forget == 0.0  # standard BKT unless asked


def test_em_keeps_guess_and_slip_below_one_half() -> None:
    # Mostly-wrong answers that improve: the degenerate reading (a "mastered" state that answers
    # wrong) must not win.
    rng = np.random.default_rng(4)
    sequences = [[int(rng.random() < 0.1 + 0.02 * t) for t in range(15)] for _ in range(300)]
    fitted = fit_bkt(sequences)
    assert fitted.p_guess < 0.5
    assert fitted.p_slip < 0.5


def test_per_skill_fit_matches_single_skill_fits() -> None:
    a = BKTParams(p_init=0.3, p_learn=0.15, p_guess=0.2, p_slip=0.1)
    b = BKTParams(p_init=0.7, p_learn=0.05, p_guess=0.25, p_slip=0.05)
    rows: list[tuple[str, str, int]] = []
    # Interleave the skills inside each learner's log, as a real log would.
    for i, (xs, ys) in enumerate(zip(simulate(a, 1500, 5), simulate(b, 1500, 6), strict=True)):
        for k in range(max(len(xs), len(ys))):
            if k < len(xs):
                rows.append((f"u{i}", "fractions", xs[k]))
            if k < len(ys):
                rows.append((f"u{i}", "decimals", ys[k]))
    fitted = fit_bkt_per_skill(rows)
    assert set(fitted) == {"fractions", "decimals"}
    assert close(fitted["fractions"], a, 0.05) == []
    assert close(fitted["decimals"], b, 0.05) == []
    alone = fit_bkt(simulate(a, 1500, 5))
    assert close(fitted["fractions"], alone, 1e-6) == []


def test_tiny_skills_stay_near_typical_values() -> None:
    fitted = fit_bkt([[1, 1], [1]])
    assert 0.0 < fitted.p_learn < 1.0
    assert fitted.p_guess < 0.5
    assert fitted.p_slip < 0.5


# --- Tracing -----------------------------------------------------------------------------------

HAND = BKTParams(p_init=0.5, p_learn=0.2, p_guess=0.2, p_slip=0.1)


def test_predict_next_matches_a_hand_computed_example() -> None:
    # Answer 1: P(correct) = 0.5 * 0.9 + 0.5 * 0.2 = 0.55. Right, so P(mastered) = 0.45 / 0.55
    # = 9/11, then learning: 9/11 + 2/11 * 0.2 = 47/55. Answer 2: 47/55 * 0.9 + 8/55 * 0.2.
    p2 = Fraction(47, 55)
    expected = [0.55, float(p2 * Fraction(9, 10) + (1 - p2) * Fraction(1, 5))]
    assert predict_next(HAND, [1, 0]) == pytest.approx(expected, abs=1e-12)
    # Wrong second answer: P(mastered) = p2 * 0.1 / (p2 * 0.1 + (1 - p2) * 0.8), then learning.
    f = p2 * Fraction(1, 10) / (p2 * Fraction(1, 10) + (1 - p2) * Fraction(4, 5))
    assert posterior(HAND, [1, 0]) == pytest.approx(float(f + (1 - f) * Fraction(1, 5)))
    assert posterior(HAND, []) == HAND.p_init
    assert predict_next(HAND, []).shape == (0,)


def test_posterior_rises_with_right_answers_and_falls_with_wrong_ones() -> None:
    right = [posterior(DEFAULT_BKT, [1] * n) for n in range(6)]
    wrong = [posterior(DEFAULT_BKT, [0] * n) for n in range(3)]
    assert right == sorted(right)
    assert right[-1] > 0.95
    assert wrong[1] < wrong[0]
    assert posterior(DEFAULT_BKT, [1, 1, 1, 0]) < posterior(DEFAULT_BKT, [1, 1, 1])


def test_predict_per_skill_matches_predict_next_per_learner_and_skill() -> None:
    params = {"a": HAND, "b": BKTParams(0.2, 0.3, 0.25, 0.05)}
    rows = [
        ("u1", "a", 1),
        ("u1", "b", 0),
        ("u2", "a", 0),
        ("u1", "a", 0),
        ("u1", "c", 1),  # unknown skill: defaults
        ("u1", "b", 1),
        ("u2", "a", 1),
    ]
    got = predict_per_skill(params, rows)
    expected = np.empty(len(rows))
    expected[[0, 3]] = predict_next(HAND, [1, 0])
    expected[[2, 6]] = predict_next(HAND, [0, 1])
    expected[[1, 5]] = predict_next(params["b"], [0, 1])
    expected[4] = predict_next(DEFAULT_BKT, [1])[0]
    assert got == pytest.approx(expected, abs=1e-12)


probability = st.floats(min_value=0.0, max_value=1.0)
bounded = st.floats(min_value=0.0, max_value=0.49)


@settings(max_examples=200, deadline=None)
@given(
    p_init=probability,
    p_learn=probability,
    p_guess=bounded,
    p_slip=bounded,
    p_forget=st.floats(min_value=0.0, max_value=0.5),
    answers=st.lists(st.integers(min_value=0, max_value=1), max_size=30),
)
def test_probabilities_stay_in_range_and_right_beats_wrong(
    p_init: float,
    p_learn: float,
    p_guess: float,
    p_slip: float,
    p_forget: float,
    answers: list[int],
) -> None:
    params = BKTParams(p_init, p_learn, p_guess, p_slip, p_forget)
    predicted = predict_next(params, answers)
    assert np.all((predicted >= 0) & (predicted <= 1))
    p = posterior(params, answers)
    assert 0.0 <= p <= 1.0
    # With forgetting no likelier than learning's complement, a right answer never leaves the
    # learner less likely mastered than a wrong one would.
    if 1 - p_forget >= p_learn:
        assert posterior(params, [*answers, 1]) >= posterior(params, [*answers, 0]) - 1e-12
    estimate = from_practice(params, answers)
    assert 0.0 <= estimate.low <= estimate.probability <= estimate.high <= 1.0


# --- Evidence and estimates -------------------------------------------------------------------


def test_practice_estimate_reports_its_evidence() -> None:
    estimate = from_practice(DEFAULT_BKT, [1, 1, 0, 1, 1, 1, 1])
    assert estimate.source == "practice"
    assert estimate.evidence_count == 7
    assert estimate.reasons[0].startswith("7 practice answers, 6 correct: P(mastered) ")
    assert f"{estimate.probability:.2f} by knowledge tracing" in estimate.reasons[0]
    fewer = from_practice(DEFAULT_BKT, [1, 1])
    assert estimate.high - estimate.low < fewer.high - fewer.low
    assert from_practice(DEFAULT_BKT, [1]).reasons[0].startswith("1 practice answer, 1 correct")


def test_from_ability_is_one_half_at_the_cut_and_narrows_with_the_standard_error() -> None:
    at_cut = from_ability(0.4, 0.5, 0.4, n_items=12)
    assert at_cut.probability == pytest.approx(0.5)
    assert at_cut.low < 0.5 < at_cut.high
    precise = from_ability(0.4, 0.2, 0.4)
    assert precise.high - precise.low < at_cut.high - at_cut.low
    assert from_ability(1.0, 0.5, 0.0).probability == pytest.approx(0.97725, abs=1e-4)
    assert from_ability(-1.0, 0.5, 0.0).probability < 0.05
    assert at_cut.source == "assessment"
    assert at_cut.evidence_count == 12
    assert "12 items" in at_cut.reasons[0]


def test_recognition_and_award_are_explicit_priors() -> None:
    low = from_recognition(0.9, "low", assessor="J. Smith")
    high = from_recognition(0.9, "high")
    assert low.probability == high.probability == 0.9
    assert high.high - high.low < low.high - low.low
    assert low.source == "prior_learning"
    assert "J. Smith" in low.reasons[0]
    assert "low confidence" in low.reasons[0]
    award = from_award("Data Analysis Level 2")
    assert award.source == "award"
    assert is_mastered(award)
    assert "Data Analysis Level 2" in award.reasons[0]


def test_practice_updates_on_top_of_a_prior() -> None:
    prior = from_recognition(0.7, "medium")
    after = update_with_answer(prior, 1)
    assert after.probability > prior.probability
    assert after.source == "combined"
    assert after.evidence_count == 2
    assert after.strength == prior.strength + 1
    assert after.reasons[0] == prior.reasons[0]
    assert "practice answer right" in after.reasons[-1]
    assert update_with_answer(prior, 0).probability < prior.probability
    practice = update_with_answer(from_practice(DEFAULT_BKT, [1]), True)
    assert practice.source == "practice"
    assert practice.probability == pytest.approx(posterior(DEFAULT_BKT, [1, 1]))


def test_combine_pools_pseudo_counts() -> None:
    practice = from_practice(DEFAULT_BKT, [1, 1, 1, 1, 1, 1])  # strength 8
    test = from_ability(-0.5, 0.5, 0.0)  # strength 16
    pooled = combine([practice, test])
    weighted = (practice.probability * 8 + test.probability * 16) / 24
    assert pooled.probability == pytest.approx(weighted)
    assert pooled.strength == pytest.approx(24)
    assert pooled.source == "combined"
    assert pooled.evidence_count == practice.evidence_count + test.evidence_count
    assert pooled.reasons[:2] == [practice.reasons[0], test.reasons[0]]
    assert "2 estimates pooled by evidence weight" in pooled.reasons[-1]
    # Order does not matter, and agreeing evidence narrows the interval.
    assert combine([test, practice]).probability == pytest.approx(pooled.probability)
    one, two = from_recognition(0.8, "low"), from_recognition(0.8, "low")
    both = combine([one, two])
    assert both.source == "prior_learning"
    assert both.probability == pytest.approx(0.8)
    assert both.high - both.low < one.high - one.low
    assert combine([practice]) is practice


def test_is_mastered_uses_the_threshold() -> None:
    estimate = from_recognition(0.85)
    assert is_mastered(estimate)
    assert not is_mastered(estimate, threshold=0.9)


# --- Refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: BKTParams(1.2, 0.1, 0.2, 0.1), "p_init must be a probability between 0 and 1"),
        (lambda: BKTParams(0.2, -0.1, 0.2, 0.1), "p_learn must be a probability"),
        (lambda: BKTParams(0.2, 0.1, 0.2, 0.1, math.nan), "p_forget must be a probability"),
        (lambda: predict_next(DEFAULT_BKT, [1, 2]), r"answers must be 0 \(wrong\) or 1"),
        (lambda: posterior(DEFAULT_BKT, [0.5]), "answers must be 0"),  # type: ignore[list-item]
        (lambda: fit_bkt([[1, 0, 3]]), "answers must be 0"),
        (lambda: fit_bkt([[], []]), "at least one non-empty"),
        (lambda: fit_bkt([[1]], restarts=0), "restarts must be at least 1"),
        (lambda: fit_bkt_per_skill([("u", "s", 2)]), "got 2 in row 0"),
        (lambda: from_ability(0.0, 0.0, 0.0), "standard_error must be positive"),
        (lambda: from_ability(math.inf, 0.3, 0.0), "must be finite"),
        (lambda: from_recognition(1.5), "level must be a probability"),
        (lambda: from_recognition(0.5, "certain"), "confidence must be low, medium or high"),  # type: ignore[arg-type]
        (lambda: combine([]), "at least one estimate"),
        (lambda: is_mastered(from_award("x"), threshold=2), "threshold must be a probability"),
        (lambda: update_with_answer(from_award("x"), 5), "answers must be 0"),
    ],
)
def test_invalid_inputs_are_refused_with_clear_messages(build: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()  # type: ignore[operator]


def test_estimates_are_immutable() -> None:
    estimate = from_award("x")
    assert isinstance(estimate, MasteryEstimate)
    with pytest.raises(AttributeError):
        estimate.probability = 0.1  # type: ignore[misc]
