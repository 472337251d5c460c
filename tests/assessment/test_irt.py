"""IRT maths against closed forms, brute-force integration and simulated recovery (issue 4).

Pure NumPy/SciPy; girth and catsim are benchmark-only and deliberately not imported here.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from microcred.assessment import irt
from microcred.assessment.irt import CalibrationError, ItemParameters


def rmse(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(x) - np.asarray(y)) ** 2)))


def simulate(theta: np.ndarray, a, b, c=0.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    p = irt.p_correct(theta, a, b, c)
    return (rng.random(p.shape) < p).astype(float)


def simulate_grm(theta: np.ndarray, a: np.ndarray, thr: np.ndarray, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = np.zeros((theta.size, a.size), dtype=np.int64)
    for j in range(a.size):
        probs = irt.grm_probabilities(theta, a[j], thr[j])
        out[:, j] = (rng.random(theta.size)[:, None] > np.cumsum(probs, axis=1)).sum(axis=1)
    return out


# ---------------------------------------------------------------------------- closed forms


def test_2pl_at_the_difficulty_is_one_half_with_information_a_squared_over_four() -> None:
    assert irt.p_correct(0.0, 1.5, 0.0) == pytest.approx(0.5)
    assert irt.item_information(0.0, 1.5, 0.0) == pytest.approx(0.5625)


def test_logistic_metric_has_no_scaling_constant() -> None:
    # D = 1: P(θ = 1 | a = 1, b = 0) is the plain logistic 1 / (1 + e^-1).
    assert irt.p_correct(1.0, 1.0, 0.0) == pytest.approx(1 / (1 + math.exp(-1)))


def test_3pl_by_hand() -> None:
    a, b, c, theta = 1.2, 0.5, 0.2, 1.0
    star = 1 / (1 + math.exp(-a * (theta - b)))
    p = c + (1 - c) * star
    info = a**2 * ((1 - p) / p) * ((p - c) / (1 - c)) ** 2
    assert irt.p_correct(theta, a, b, c) == pytest.approx(p, rel=1e-12)
    assert irt.item_information(theta, a, b, c) == pytest.approx(info, rel=1e-12)
    # c = 0.2 at θ = b: P = 0.2 + 0.8 / 2 = 0.6.
    assert irt.p_correct(b, a, b, c) == pytest.approx(0.6)


def test_broadcasting_theta_rows_against_item_columns() -> None:
    theta = np.array([-1.0, 0.0, 1.0, 2.0])
    a = np.array([1.0, 2.0, 0.5])
    b = np.array([0.0, 1.0, -1.0])
    p = irt.p_correct(theta, a, b)
    assert p.shape == (4, 3)
    assert p[3, 1] == pytest.approx(1 / (1 + math.exp(-2.0 * (2.0 - 1.0))))
    assert irt.p_correct(0.0, a, b).shape == (3,)
    assert irt.p_correct(theta, 1.0, 0.0).shape == (4,)
    assert irt.item_information(theta, a, b, 0.1).shape == (4, 3)
    with pytest.raises(ValueError, match="scalar or 1-D"):
        irt.p_correct(np.zeros((2, 2)), a, b)
    with pytest.raises(ValueError, match="c must lie"):
        irt.p_correct(0.0, 1.0, 0.0, 1.0)


def test_information_is_stable_far_from_the_item() -> None:
    info = irt.item_information(np.array([-800.0, 800.0]), 1.0, 0.0)
    assert np.all(np.isfinite(info)) and np.all(info >= 0)


def test_information_matches_numerical_derivative_for_3pl() -> None:
    a, b, c = 1.7, -0.3, 0.25
    for theta in (-2.0, 0.0, 1.3):
        h = 1e-5
        dp = (irt.p_correct(theta + h, a, b, c) - irt.p_correct(theta - h, a, b, c)) / (2 * h)
        p = irt.p_correct(theta, a, b, c)
        assert irt.item_information(theta, a, b, c) == pytest.approx(dp**2 / (p * (1 - p)), 1e-6)


@settings(max_examples=50, deadline=None)
@given(
    theta=st.floats(-6, 6),
    a=st.floats(0.2, 3.0),
    thresholds=st.lists(st.floats(-3, 3), min_size=1, max_size=5, unique=True),
)
def test_grm_probabilities_sum_to_one_and_information_is_positive(
    theta: float, a: float, thresholds: list[float]
) -> None:
    thr = np.sort(np.array(thresholds))
    if thr.size > 1 and np.min(np.diff(thr)) < 1e-3:
        return
    probs = irt.grm_probabilities(np.array([theta]), a, thr)
    assert probs.shape == (1, thr.size + 1)
    assert probs.sum() == pytest.approx(1.0)
    assert np.all(probs >= 0)
    assert irt.grm_information(theta, a, thr) > 0


def test_grm_with_two_categories_is_the_2pl() -> None:
    theta = np.linspace(-3, 3, 7)
    probs = irt.grm_probabilities(theta, 1.3, [0.4])
    np.testing.assert_allclose(probs[:, 1], irt.p_correct(theta, 1.3, 0.4))
    np.testing.assert_allclose(
        irt.grm_information(theta, 1.3, [0.4]), irt.item_information(theta, 1.3, 0.4)
    )
    with pytest.raises(ValueError, match="strictly increasing"):
        irt.grm_probabilities(0.0, 1.0, [0.5, 0.1])


def test_grm_information_matches_its_definition_numerically() -> None:
    a, thr, theta, h = 1.4, np.array([-1.0, 0.2, 1.5]), 0.3, 1e-5
    dp = (irt.grm_probabilities(theta + h, a, thr) - irt.grm_probabilities(theta - h, a, thr)) / (
        2 * h
    )
    expected = np.sum(dp**2 / irt.grm_probabilities(theta, a, thr))
    assert irt.grm_information(theta, a, thr) == pytest.approx(expected, rel=1e-6)


# ---------------------------------------------------------------------------- EAP


def brute_force_eap(responses, a, b, c, mean=0.0, sd=1.0) -> tuple[float, float]:
    def like(t: float) -> float:
        val = stats.norm.pdf(t, mean, sd)
        for u, aj, bj, cj in zip(responses, a, b, c, strict=True):
            if np.isnan(u):
                continue
            p = cj + (1 - cj) / (1 + math.exp(-aj * (t - bj)))
            val *= p if u == 1 else 1 - p
        return val

    lo, hi = mean - 10 * sd, mean + 10 * sd
    z = integrate.quad(like, lo, hi, limit=200)[0]
    m = integrate.quad(lambda t: t * like(t), lo, hi, limit=200)[0] / z
    v = integrate.quad(lambda t: (t - m) ** 2 * like(t), lo, hi, limit=200)[0] / z
    return m, math.sqrt(v)


def test_eap_matches_brute_force_integration() -> None:
    a = np.array([1.0, 1.5, 0.8, 2.0, 1.2, 0.6])
    b = np.array([-1.0, 0.0, 0.5, 1.0, -0.5, 2.0])
    c = np.array([0.0, 0.2, 0.0, 0.25, 0.1, 0.0])
    responses = np.array([1, 1, 0, np.nan, 1, 0])
    mean, sd = irt.eap(responses, a, b, c)
    ref_mean, ref_sd = brute_force_eap(responses, a, b, c)
    assert mean == pytest.approx(ref_mean, abs=1e-4)
    assert sd == pytest.approx(ref_sd, abs=1e-4)
    # A different prior, 2PL (c=None), all wrong.
    mean, sd = irt.eap(np.zeros(4), a[:4], b[:4], prior_mean=0.5, prior_sd=1.5)
    ref_mean, ref_sd = brute_force_eap(np.zeros(4), a[:4], b[:4], np.zeros(4), 0.5, 1.5)
    assert (mean, sd) == pytest.approx((ref_mean, ref_sd), abs=1e-4)


def test_eap_with_nothing_administered_is_the_prior() -> None:
    assert irt.eap(np.full(3, np.nan), [1, 1, 1], [0, 0, 0], prior_mean=0.3) == (0.3, 1.0)


def test_eap_rejects_bad_responses() -> None:
    with pytest.raises(ValueError, match="0, 1 or NaN"):
        irt.eap(np.array([2.0, 1.0]), [1, 1], [0, 0])
    with pytest.raises(ValueError, match="3 responses for 2 items"):
        irt.eap(np.array([1.0, 1.0, 0.0]), [1, 1], [0, 0])


def test_eap_scores_agree_with_eap_per_person() -> None:
    rng = np.random.default_rng(5)
    a, b = rng.uniform(0.8, 2, 10), rng.normal(0, 1, 10)
    x = simulate(rng.normal(0, 1, 20), a, b, seed=5)
    x[0, :3] = np.nan
    means, sds = irt.eap_scores(x, ItemParameters(a, b, np.zeros(10), "2PL"))
    for i in (0, 7):
        assert (means[i], sds[i]) == pytest.approx(irt.eap(x[i], a, b), abs=1e-12)


# ---------------------------------------------------------------------------- calibration


@pytest.fixture(scope="module")
def two_pl_data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(20240401)
    a = rng.lognormal(0.0, 0.3, 30)
    b = rng.normal(0.0, 1.0, 30)
    x = simulate(rng.normal(0.0, 1.0, 3000), a, b, seed=1)
    return x, a, b


def test_2pl_recovery(two_pl_data) -> None:
    x, a, b = two_pl_data
    cal = irt.calibrate(x)
    assert cal.converged and cal.params.model == "2PL"
    # Expected RMSE at N = 3,000 is about the mean SE (≈ 0.06 for a, 0.07 for b): 0.10 leaves
    # room for sampling noise but catches any bias.
    assert rmse(cal.params.a, a) < 0.10
    assert rmse(cal.params.b, b) < 0.10
    # The XPD standard errors describe the actual estimation error.
    assert 0.6 < rmse(cal.params.b, b) / np.sqrt(np.mean(cal.se_b**2)) < 1.6
    assert 0.6 < rmse(cal.params.a, a) / np.sqrt(np.mean(cal.se_a**2)) < 1.6
    assert np.all(np.isnan(cal.se_c))
    assert np.all(cal.params.c == 0)


def test_lsat7_style_patterns_collapse_to_the_same_answer() -> None:
    # Few items: identical rows are collapsed; the estimates must equal the expanded fit's.
    rng = np.random.default_rng(3)
    a, b = np.array([1.0, 1.1, 1.7, 0.8, 0.7]), np.array([-1.9, -0.7, -1.1, -0.6, -2.5])
    x = simulate(rng.normal(0, 1, 1000), a, b, seed=3)
    collapsed = irt.calibrate(x)
    shuffled = irt.calibrate(x[rng.permutation(1000)])
    np.testing.assert_allclose(collapsed.params.a, shuffled.params.a, atol=1e-8)
    assert collapsed.log_likelihood == pytest.approx(shuffled.log_likelihood)


def test_1pl_estimates_one_common_slope() -> None:
    rng = np.random.default_rng(11)
    b = rng.normal(0, 1, 20)
    x = simulate(rng.normal(0, 1, 2000), 1.3, b, seed=11)
    cal = irt.calibrate(x, model="1PL")
    assert cal.converged
    assert np.ptp(cal.params.a) == 0
    assert cal.params.a[0] == pytest.approx(1.3, abs=0.1)
    assert rmse(cal.params.b, b) < 0.08
    assert np.all(cal.se_a == cal.se_a[0]) and cal.se_a[0] < 0.05


def test_3pl_smoke_recovery_with_its_priors() -> None:
    rng = np.random.default_rng(12)
    a, b, c = rng.uniform(0.8, 2.0, 20), rng.normal(0, 1, 20), np.full(20, 0.2)
    x = simulate(rng.normal(0, 1, 5000), a, b, c, seed=12)
    cal = irt.calibrate(x, model="3PL")
    assert cal.converged
    assert cal.priors == irt.Priors.default("3PL")
    assert rmse(cal.params.a, a) < 0.2
    assert rmse(cal.params.b, b) < 0.15
    assert rmse(cal.params.c, c) < 0.06
    assert np.all(np.isfinite(cal.se_c))


def test_missing_responses_are_ignored_not_scored_wrong(two_pl_data) -> None:
    x, a, b = two_pl_data
    sparse = x.copy()
    rng = np.random.default_rng(4)
    sparse[rng.random(x.shape) < 0.3] = np.nan
    sparse[0] = np.nan  # a person with no responses at all is dropped
    cal = irt.calibrate(sparse)
    assert cal.converged and cal.n_persons == x.shape[0] - 1
    assert rmse(cal.params.a, a) < 0.12
    assert rmse(cal.params.b, b) < 0.12


def test_fixed_anchor_calibration_puts_new_items_on_the_old_scale() -> None:
    rng = np.random.default_rng(21)
    a, b = rng.uniform(0.8, 2.0, 24), rng.normal(0, 1, 24)
    # The new cohort is abler and more spread than the calibration sample that set the scale.
    x = simulate(rng.normal(0.6, 1.25, 3000), a, b, seed=21)
    anchors = {j: (float(a[j]), float(b[j]), 0.0) for j in range(12)}
    cal = irt.calibrate(x, fixed=anchors)
    assert cal.fixed == tuple(range(12))
    np.testing.assert_array_equal(cal.params.a[:12], a[:12])
    assert cal.population_mean == pytest.approx(0.6, abs=0.1)
    assert cal.population_sd == pytest.approx(1.25, abs=0.1)
    assert rmse(cal.params.b[12:], b[12:]) < 0.08
    assert rmse(cal.params.a[12:], a[12:]) < 0.12
    assert np.all(np.isnan(cal.se_b[:12])) and np.all(np.isfinite(cal.se_b[12:]))
    # Without anchors the same data land on the cohort's own scale: b off by about 0.6.
    free = irt.calibrate(x)
    assert np.mean(b[12:] - free.params.b[12:]) > 0.3


def test_mean_sigma_links_a_separate_calibration() -> None:
    rng = np.random.default_rng(22)
    a, b = rng.uniform(0.8, 2.0, 20), rng.normal(0, 1, 20)
    x = simulate(rng.normal(0.5, 1.2, 3000), a, b, seed=22)
    new = irt.calibrate(x).params
    old = ItemParameters(a, b, np.zeros(20), "2PL")
    idx = np.arange(10)
    anchor_old = ItemParameters(old.a[idx], old.b[idx], old.c[idx], "2PL")
    anchor_new = ItemParameters(new.a[idx], new.b[idx], new.c[idx], "2PL")
    link = irt.link_mean_sigma(anchor_old, anchor_new)
    assert pytest.approx(1.2, abs=0.12) == link.A
    assert pytest.approx(0.5, abs=0.12) == link.B
    linked = link.apply(new)
    assert rmse(linked.b[10:], b[10:]) < 0.1
    assert link.theta(0.0) == pytest.approx(link.B)
    with pytest.raises(CalibrationError, match="at least two anchor"):
        irt.link_mean_sigma(
            ItemParameters(a[:1], b[:1], np.zeros(1), "2PL"),
            ItemParameters(a[:1], b[:1], np.zeros(1), "2PL"),
        )


def test_grm_recovery_and_items_with_fewer_categories() -> None:
    rng = np.random.default_rng(31)
    n_items = 15
    a = rng.uniform(0.8, 2.0, n_items)
    thr = np.sort(rng.normal(0, 1, (n_items, 3)), axis=1) + np.array([-0.6, 0.0, 0.6])
    x = simulate_grm(rng.normal(0, 1, 3000), a, thr, seed=31)
    x[:, 4] = np.minimum(x[:, 4], 1)  # a dichotomous item among graded ones
    x[rng.random(x.shape) < 0.1] = -1  # missing
    cal = irt.calibrate_grm(x)
    assert cal.converged
    others = np.arange(n_items) != 4
    assert rmse(cal.params.a[others], a[others]) < 0.12
    assert rmse(cal.params.thresholds[others], thr[others]) < 0.1
    assert list(cal.params.n_categories) == [4] * 4 + [2] + [4] * 10
    assert np.isnan(cal.params.thresholds[4, 1:]).all()
    assert np.all(np.isfinite(cal.se_a)) and np.nanmax(cal.se_thresholds) < 0.3
    a0, thr0 = cal.params.item(0)
    assert irt.grm_probabilities(0.0, a0, thr0).shape == (4,)


# ---------------------------------------------------------------------------- item fit


def test_item_fit_flags_an_item_from_a_different_model() -> None:
    rng = np.random.default_rng(41)
    n_persons, n_items = 3000, 20
    a, b = rng.uniform(0.8, 2.0, n_items), rng.normal(0, 1, n_items)
    theta = rng.normal(0, 1, n_persons)
    x = simulate(theta, a, b, seed=41)
    # Item 0 is not monotone in θ: the middle of the scale does best (a distractor that attracts
    # the strongest learners) — no 2PL curve can describe it.
    p_odd = 0.15 + 0.7 * np.exp(-((theta - 0.2) ** 2))
    x[:, 0] = (rng.random(n_persons) < p_odd).astype(float)
    cal = irt.calibrate(x)
    fit = irt.item_fit(x, cal.params)
    assert fit.p_value[0] < 1e-6
    assert 0 in fit.flagged(0.01)
    assert sum(fit.p_value[1:] < 0.01) <= 1
    assert np.all(fit.df[1:] >= 5)


def test_item_fit_statistic_is_calibrated_under_the_model(two_pl_data) -> None:
    x, a, b = two_pl_data
    fit = irt.item_fit(x, ItemParameters(a, b, np.zeros(a.size), "2PL"))
    # With the true parameters S-X² / df averages about 1 and p-values spread over (0, 1).
    assert 0.7 < np.mean(fit.statistic / fit.df) < 1.3
    assert stats.kstest(fit.p_value, "uniform").pvalue > 0.001


# ---------------------------------------------------------------------------- cold start


def test_cold_start_maps_author_difficulty_to_provisional_parameters() -> None:
    assert irt.cold_start(3) == (irt.COLD_START_SLOPE, 0.0, 0.0)
    assert irt.cold_start("very hard") == (irt.COLD_START_SLOPE, 2.0, 0.0)
    assert irt.cold_start("Easy")[1] == -1.0
    assert irt.cold_start(1.5)[1] == -1.5
    assert irt.cold_start("medium", n_choices=4)[2] == 0.25
    for bad in (0, 6, "impossible", True):
        with pytest.raises(ValueError):
            irt.cold_start(bad)  # type: ignore[arg-type]


def test_enough_responses_threshold() -> None:
    assert irt.enough_responses(200)
    assert not irt.enough_responses(199)
    assert not irt.enough_responses([250, 199, 400])
    assert irt.enough_responses([250, 300], min=250)
    assert not irt.enough_responses([])
    with pytest.raises(ValueError):
        irt.enough_responses([10], min=10)


# ---------------------------------------------------------------------------- bad input


def good_matrix() -> np.ndarray:
    rng = np.random.default_rng(7)
    return simulate(rng.normal(0, 1, 300), np.ones(5), np.linspace(-1, 1, 5), seed=7)


def with_values(x: np.ndarray, **cells: float) -> np.ndarray:
    y = x.copy()
    for key, value in cells.items():
        i, j = (int(v) for v in key[1:].split("_"))
        y[i, j] = value
    return y


def constant_column(value: float) -> np.ndarray:
    x = good_matrix()
    x[:, 2] = value
    return x


@pytest.mark.parametrize(
    ("responses", "kwargs", "message"),
    [
        (np.zeros(10), {}, r"2-D array \(persons x items\); got shape \(10,\)"),
        (
            with_values(good_matrix(), c3_1=2.0),
            {},
            r"0, 1 or NaN .* found 2\.0 at person 3, item 1",
        ),
        ([["a", "b", "c"]], {}, "must be numeric"),
        (good_matrix()[:, :2], {}, "at least 3 items"),
        (good_matrix()[:40], {}, r"too few responses .* items \[0, 1, 2, 3, 4\] .* at least 50"),
        (good_matrix(), {"min_responses": 500}, "at least 500 responses per item"),
        (constant_column(1.0), {}, r"items \[2\] were answered correctly by everyone"),
        (constant_column(0.0), {}, r"items \[2\] were answered wrongly by everyone"),
        (good_matrix(), {"model": "4PL"}, "model must be"),
        (good_matrix(), {"fixed": {9: (1.0, 0.0, 0.0)}}, "fixed item index 9 is outside"),
        (good_matrix(), {"fixed": {1: (1.0, 0.0, 1.5)}}, "fixed item 1 has unusable parameters"),
        (
            good_matrix(),
            {"fixed": dict.fromkeys(range(5), (1.0, 0.0, 0.0))},
            "nothing to calibrate",
        ),
        (good_matrix(), {"max_iter": 0}, "max_iter"),
    ],
)
def test_calibration_refuses_bad_input(responses, kwargs, message) -> None:
    with pytest.raises(CalibrationError, match=message):
        irt.calibrate(responses, **kwargs)


def test_a_fixed_item_may_be_constant() -> None:
    # An anchor answered right by everyone is harmless: its parameters are not estimated.
    cal = irt.calibrate(constant_column(1.0), fixed={2: (1.0, -4.0, 0.0)})
    assert cal.params.b[2] == pytest.approx(-4.0)


def test_calibration_error_is_a_value_error() -> None:
    assert issubclass(CalibrationError, ValueError)


@pytest.mark.parametrize(
    ("responses", "message"),
    [
        (np.zeros(5, dtype=int), "2-D array"),
        (np.full((100, 3), -2), r"categories 0, 1, 2, … or -1 \(missing\); found -2"),
        (np.full((100, 3), np.nan), "-1 for missing, not NaN"),
        (np.full((100, 3), 0.5), "whole-number"),
        (np.zeros((30, 3), dtype=int), "too few responses"),
        (np.tile(np.array([[0, 1, 2], [0, 1, 0]]), (50, 1)), "item 0 has no information"),
        (
            np.tile(np.array([[0, 2, 1], [1, 0, 0]]), (50, 1)),
            r"item 1 .*no responses in categories \[1\]",
        ),
    ],
)
def test_grm_calibration_refuses_bad_input(responses, message) -> None:
    with pytest.raises(CalibrationError, match=message):
        irt.calibrate_grm(responses)


def test_item_fit_needs_complete_responses() -> None:
    x = good_matrix()
    x[:, 0] = np.nan
    params = ItemParameters(np.ones(5), np.zeros(5), np.zeros(5), "2PL")
    with pytest.raises(CalibrationError, match="at least 100 persons with complete responses"):
        irt.item_fit(x, params)
    with pytest.raises(CalibrationError, match="6 items; the parameters have 5"):
        irt.item_fit(np.zeros((200, 6)), params)
