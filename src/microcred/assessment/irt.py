"""Item response theory: models, ability estimation, calibration, item fit, linking, cold start.

Pure NumPy/SciPy: no database, no I/O. Every function is deterministic given its inputs.

Conventions (contracts every caller relies on):

* **Logistic metric, D = 1.** ``P(θ) = c + (1 - c) / (1 + exp(-a (θ - b)))``; no 1.702 scaling
  constant anywhere, so slopes are about 1.7 times larger than normal-ogive slopes.
* **Ability scale.** Unless items are linked to an existing scale (``fixed=`` in :func:`calibrate`),
  the scale is set by the calibration sample: θ ~ N(0, 1).
* **Responses.** Dichotomous matrices are persons x items of 0/1 with ``NaN`` for "not
  administered"; graded (GRM) matrices are persons x items of integer categories ``0..K-1`` with
  ``-1`` for "not administered". Missing responses are ignored (missing at random / by design),
  never scored as wrong.
* **Broadcasting** of the probability and information functions: item parameters broadcast against
  each other to an item shape (scalar or 1-D); ``theta`` is scalar or 1-D; the result has shape
  ``theta.shape + items.shape``, i.e. ``theta[:, None]`` against ``items[None, :]``.
* **Bad input to calibration** raises :class:`CalibrationError` (a ``ValueError``) with a message
  that names the offending items or values; nothing is estimated from data that cannot support it.
  Bad input to the scoring functions (``eap``, ``p_correct`` …) raises plain ``ValueError``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal, TypeAlias, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import chdtrc, expit, log_expit  # type: ignore[import-untyped]

FloatArray: TypeAlias = NDArray[np.float64]
IntArray: TypeAlias = NDArray[np.int64]
Model: TypeAlias = Literal["1PL", "2PL", "3PL"]

__all__ = [
    "COLD_START_SLOPE",
    "DEFAULT_MIN_RESPONSES",
    "MIN_RESPONSES_PER_ITEM",
    "Calibration",
    "CalibrationError",
    "GRMCalibration",
    "GRMItemParameters",
    "ItemFit",
    "ItemParameters",
    "Linking",
    "Priors",
    "Quadrature",
    "calibrate",
    "calibrate_grm",
    "cold_start",
    "eap",
    "eap_scores",
    "enough_responses",
    "grm_information",
    "grm_probabilities",
    "item_fit",
    "item_information",
    "link_mean_sigma",
    "p_correct",
]

#: Responses per item below which :func:`calibrate` refuses outright: with fewer, slope estimates
#: are noise (SE(a) ≳ 0.3) and a single lucky guess moves b by tenths.
MIN_RESPONSES_PER_ITEM: Final = 50
#: Responses per item a calibration *job* waits for before it replaces provisional (cold-start)
#: parameters; at 200 responses SE(a) ≈ 0.15 and SE(b) ≈ 0.15 for a typical item.
DEFAULT_MIN_RESPONSES: Final = 200
#: Fewest items a calibration accepts: with one or two items the latent scale is not identified.
MIN_ITEMS: Final = 3

# Parameter boxes inside the optimiser. |z| = |aθ + d| ≤ 10·6 + 50 keeps every logistic term
# above 1e-48, so no probability underflows and no division below needs clipping. An estimate on
# a bound means the item is degenerate (perfectly or not at all discriminating).
_A_MAX: Final = 10.0
_A_MIN_POSITIVE: Final = 1e-3  # only where a log-normal prior on a requires a > 0
_D_MAX: Final = 50.0
_C_MIN: Final = 1e-6
_C_MAX: Final = 0.95
_GRID_BOUND: Final = 6.0


class CalibrationError(ValueError):
    """Responses or settings from which item parameters cannot (or must not) be estimated."""


# --------------------------------------------------------------------------------------------------
# Quadrature
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Quadrature:
    """Equally spaced nodes with normal-density weights that sum to one.

    ``Σ weights · g(nodes)`` approximates ``E[g(θ)]`` for θ ~ N(mean, sd²). The rectangle rule on an
    equally spaced grid is spectrally accurate for smooth integrands that vanish at the ends, which
    the normal density does at ±6 SD (φ(6) ≈ 6e-9); it is also what Bock-Aitkin EM uses.
    """

    nodes: FloatArray
    weights: FloatArray

    @classmethod
    def normal(
        cls, points: int = 41, *, mean: float = 0.0, sd: float = 1.0, bound: float = _GRID_BOUND
    ) -> Quadrature:
        """``points`` nodes over ``mean ± bound·sd`` with weights ∝ the N(mean, sd²) density."""
        if points < 5:
            raise ValueError(f"a quadrature needs at least 5 points; got {points}")
        if not (sd > 0 and np.isfinite(sd) and np.isfinite(mean)):
            raise ValueError(f"quadrature mean and sd must be finite with sd > 0; got {mean}, {sd}")
        z = np.linspace(-bound, bound, points)
        w = np.exp(-0.5 * z * z)
        nodes = mean + sd * z
        weights = w / w.sum()
        nodes.flags.writeable = False
        weights.flags.writeable = False
        return cls(nodes=nodes, weights=weights)

    @property
    def log_weights(self) -> FloatArray:
        """Natural log of the weights (all finite)."""
        return cast(FloatArray, np.log(self.weights))


@lru_cache(maxsize=16)
def _standard_quadrature(points: int) -> Quadrature:
    # Cached and read-only: eap() runs after every answer in an adaptive test.
    return Quadrature.normal(points)


# --------------------------------------------------------------------------------------------------
# Dichotomous models: probability and information
# --------------------------------------------------------------------------------------------------


def _as_float(x: ArrayLike, name: str, *, max_ndim: int = 1) -> FloatArray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim > max_ndim:
        raise ValueError(f"{name} must be a scalar or 1-D; got shape {arr.shape}")
    return arr


def _items(a: ArrayLike, b: ArrayLike, c: ArrayLike) -> tuple[FloatArray, FloatArray, FloatArray]:
    a_, b_, c_ = (_as_float(v, n) for v, n in ((a, "a"), (b, "b"), (c, "c")))
    try:
        a_, b_, c_ = np.broadcast_arrays(a_, b_, c_)
    except ValueError:
        raise ValueError(
            f"item parameters a, b, c must have matching lengths; got {a_.shape}, {b_.shape}, "
            f"{c_.shape}"
        ) from None
    if np.any((c_ < 0) | (c_ >= 1)):
        raise ValueError("the guessing parameter c must lie in [0, 1)")
    return a_, b_, c_


def _outer_z(theta: FloatArray, a: FloatArray, b: FloatArray) -> FloatArray:
    # theta[..., None] against items[None, ...]: shape theta.shape + items.shape.
    th = theta.reshape(theta.shape + (1,) * a.ndim)
    return a * (th - b)


def p_correct(theta: ArrayLike, a: ArrayLike, b: ArrayLike, c: ArrayLike = 0.0) -> FloatArray:
    """Probability of a correct response under the 3PL (2PL when ``c = 0``; D = 1).

    ``P = c + (1 - c) · logistic(a (θ - b))``. ``a``, ``b``, ``c`` broadcast to one item shape
    (scalar or 1-D); ``theta`` is a scalar or 1-D; the result has shape ``theta.shape +
    items.shape`` — for arrays, ``result[i, j] = P(theta[i], item j)``. Raises ``ValueError`` for
    arrays of more than one dimension or ``c`` outside [0, 1).
    """
    th = _as_float(theta, "theta")
    a_, b_, c_ = _items(a, b, c)
    return cast(FloatArray, c_ + (1.0 - c_) * expit(_outer_z(th, a_, b_)))


def item_information(
    theta: ArrayLike, a: ArrayLike, b: ArrayLike, c: ArrayLike = 0.0
) -> FloatArray:
    """Fisher information of a 3PL item at θ (same broadcasting as :func:`p_correct`).

    Exact 3PL formula ``I = a² · (Q / P) · ((P - c) / (1 - c))²``, computed in the equivalent form
    ``a² (1 - c) P*² Q* / P`` (``P*`` the logistic part, ``Q* = 1 - P*``) so that nothing is
    subtracted from a number close to it. With ``c = 0`` it is exactly ``a² P Q``.
    """
    th = _as_float(theta, "theta")
    a_, b_, c_ = _items(a, b, c)
    z = _outer_z(th, a_, b_)
    s = expit(z)
    f = expit(-z)
    p = c_ + (1.0 - c_) * s
    # s / p ≤ 1 / (1 - c); p is 0 only when c = 0 and s underflows, where the limit of s / p is 1.
    ratio = np.divide(s, p, out=np.ones_like(s), where=p > 0)
    return cast(FloatArray, a_ * a_ * (1.0 - c_) * s * f * ratio)


def _log_pq(
    z: FloatArray, c: FloatArray | float
) -> tuple[FloatArray, FloatArray]:  # log P and log Q, accurate in both tails
    log_s = log_expit(z)
    log_f = log_expit(-z)
    c_arr = np.asarray(c, dtype=np.float64)
    if not np.any(c_arr):
        return log_s, log_f
    log_1mc = np.log1p(-c_arr)
    with np.errstate(divide="ignore"):  # log(0) = -inf for items without guessing is intended
        log_c = np.log(c_arr)
    return np.logaddexp(log_c, log_1mc + log_s), log_1mc + log_f


# --------------------------------------------------------------------------------------------------
# Graded response model (Samejima): probability and information
# --------------------------------------------------------------------------------------------------


def _grm_check(a: float, thresholds: ArrayLike) -> FloatArray:
    thr = np.asarray(thresholds, dtype=np.float64)
    if thr.ndim != 1 or thr.size < 1:
        raise ValueError(f"thresholds must be a non-empty 1-D array; got shape {thr.shape}")
    if not np.all(np.isfinite(thr)) or not np.isfinite(a):
        raise ValueError("a and the thresholds must be finite")
    if thr.size > 1 and np.any(np.diff(thr) <= 0):
        raise ValueError(f"GRM thresholds must be strictly increasing; got {thr.tolist()}")
    return thr


def _grm_boundaries(th: FloatArray, a: float, thr: FloatArray) -> FloatArray:
    # P*(X ≥ k) for k = 0..K, with P*(X ≥ 0) = 1 and P*(X ≥ K) = 0: shape (n, K + 1).
    inner = expit(a * (th[:, None] - thr[None, :]))
    ones = np.ones((th.size, 1))
    return np.concatenate([ones, inner, np.zeros((th.size, 1))], axis=1)


def grm_probabilities(theta: ArrayLike, a: float, thresholds: ArrayLike) -> FloatArray:
    """Category probabilities of one graded-response item (D = 1).

    ``thresholds`` are the K - 1 strictly increasing boundaries b_k with ``P(X ≥ k | θ) =
    logistic(a (θ - b_k))``. Returns shape ``(n, K)`` for 1-D ``theta`` (``(K,)`` for a scalar);
    rows sum to one.
    """
    th = _as_float(theta, "theta")
    thr = _grm_check(a, thresholds)
    star = _grm_boundaries(np.atleast_1d(th), float(a), thr)
    probs = np.clip(star[:, :-1] - star[:, 1:], 0.0, 1.0)
    return cast(FloatArray, probs[0] if th.ndim == 0 else probs)


def grm_information(theta: ArrayLike, a: float, thresholds: ArrayLike) -> FloatArray:
    """Fisher information of one graded-response item: ``Σ_k (∂P_k/∂θ)² / P_k``.

    With ``W_k = P*_k (1 - P*_k)``, ``∂P_k/∂θ = a (W_k - W_{k+1})``. Categories whose probability
    underflows to zero contribute zero (their derivative vanishes faster). Shape of ``theta``.
    """
    th = _as_float(theta, "theta")
    thr = _grm_check(a, thresholds)
    star = _grm_boundaries(np.atleast_1d(th), float(a), thr)
    w = star * (1.0 - star)
    dp = a * (w[:, :-1] - w[:, 1:])
    p = star[:, :-1] - star[:, 1:]
    terms = np.divide(dp * dp, p, out=np.zeros_like(p), where=p > 0)
    info = terms.sum(axis=1)
    return cast(FloatArray, info[0] if th.ndim == 0 else info)


# --------------------------------------------------------------------------------------------------
# Parameter containers
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ItemParameters:
    """Dichotomous item parameters on the logistic metric (D = 1), one entry per item.

    ``c`` is all zeros for 1PL/2PL. For ``"1PL"`` all ``a`` of calibrated items are equal (a common
    slope estimated from the data, not fixed at 1). Arrays are 1-D of equal length.
    """

    a: FloatArray
    b: FloatArray
    c: FloatArray
    model: Model

    def __post_init__(self) -> None:
        shapes = {np.shape(self.a), np.shape(self.b), np.shape(self.c)}
        if len(shapes) != 1 or np.ndim(self.a) != 1:
            raise ValueError(f"a, b, c must be 1-D of equal length; got shapes {sorted(shapes)}")
        if self.model not in ("1PL", "2PL", "3PL"):
            raise ValueError(f"model must be '1PL', '2PL' or '3PL'; got {self.model!r}")

    def __len__(self) -> int:
        return int(self.a.size)

    def item(self, j: int) -> tuple[float, float, float]:
        """``(a, b, c)`` of item ``j`` as plain floats (the form ``fixed=`` takes)."""
        return float(self.a[j]), float(self.b[j]), float(self.c[j])


@dataclass(frozen=True, eq=False)
class GRMItemParameters:
    """Graded-response items: slope ``a`` (items,) and ``thresholds`` (items, max K - 1).

    Items with fewer categories than the widest item have their trailing thresholds as ``NaN``.
    """

    a: FloatArray
    thresholds: FloatArray

    def __post_init__(self) -> None:
        if np.ndim(self.a) != 1 or np.ndim(self.thresholds) != 2:
            raise ValueError("a must be 1-D and thresholds 2-D (items x max categories - 1)")
        if self.thresholds.shape[0] != self.a.size:
            raise ValueError("a and thresholds must describe the same number of items")

    def __len__(self) -> int:
        return int(self.a.size)

    @property
    def n_categories(self) -> IntArray:
        """Number of response categories of each item."""
        return cast(IntArray, (np.sum(~np.isnan(self.thresholds), axis=1) + 1).astype(np.int64))

    def item(self, j: int) -> tuple[float, FloatArray]:
        """``(a, thresholds)`` of item ``j`` without padding (for :func:`grm_probabilities`)."""
        thr = self.thresholds[j]
        return float(self.a[j]), cast(FloatArray, thr[~np.isnan(thr)])


@dataclass(frozen=True)
class Priors:
    """Priors on dichotomous item parameters (MAP-within-EM). ``None`` switches one off.

    * ``log_a = (mean, sd)``: ln a ~ N(mean, sd²) (forces a > 0);
    * ``b = (mean, sd)``: b ~ N(mean, sd²);
    * ``c = (alpha, beta)``: c ~ Beta(alpha, beta).

    ``Priors()`` is plain marginal maximum likelihood. :meth:`default` gives what
    :func:`calibrate` uses unless told otherwise.
    """

    log_a: tuple[float, float] | None = None
    b: tuple[float, float] | None = None
    c: tuple[float, float] | None = None

    @classmethod
    def default(cls, model: Model) -> Priors:
        """1PL/2PL: none (pure MML, comparable with girth/mirt). 3PL: the BILOG-MG style set
        ln a ~ N(0, 0.5²), b ~ N(0, 2²) (weak), c ~ Beta(5, 17) (mode 0.2, for 4-5 option items),
        without which the 3PL lower asymptote is barely identified."""
        if model == "3PL":
            return cls(log_a=(0.0, 0.5), b=(0.0, 2.0), c=(5.0, 17.0))
        return cls()


@dataclass(frozen=True, eq=False)
class Calibration:
    """Result of :func:`calibrate`.

    ``se_a``, ``se_b``, ``se_c`` are standard errors from the inverse of the cross-product (XPD)
    information ``Σ_persons s sᵀ`` of the per-person marginal score vectors, plus the prior's
    information; ``se_b`` by the delta method from the (a, intercept) covariance. They are ``NaN``
    for fixed items, for ``c`` outside 3PL, and everywhere when ``standard_errors=False`` or the
    information matrix is singular. Under 1PL every item reports the SE of the common slope.
    """

    params: ItemParameters
    se_a: FloatArray
    se_b: FloatArray
    se_c: FloatArray
    log_likelihood: float
    iterations: int
    converged: bool
    n_persons: int
    fixed: tuple[int, ...]
    population_mean: float
    population_sd: float
    priors: Priors
    se_method: str = "cross-product (XPD) of per-person scores + prior information"


@dataclass(frozen=True, eq=False)
class GRMCalibration:
    """Result of :func:`calibrate_grm`; SEs as in :class:`Calibration` (XPD), thresholds by the
    delta method, NaN where an item has fewer categories."""

    params: GRMItemParameters
    se_a: FloatArray
    se_thresholds: FloatArray
    log_likelihood: float
    iterations: int
    converged: bool
    n_persons: int


@dataclass(frozen=True, eq=False)
class ItemFit:
    """Orlando-Thissen S-X² per item (see :func:`item_fit`). ``p_value`` is NaN where df < 1."""

    statistic: FloatArray
    df: IntArray
    p_value: FloatArray
    n_persons: int

    def flagged(self, alpha: float = 0.01) -> list[int]:
        """Indices of items whose fit is rejected at level ``alpha``."""
        return [int(j) for j in np.flatnonzero(self.p_value < alpha)]


@dataclass(frozen=True)
class Linking:
    """Linear transformation from a new scale to an old one: ``θ_old = A θ_new + B``.

    Item parameters move as ``b_old = A b_new + B``, ``a_old = a_new / A``, ``c`` unchanged.
    """

    A: float
    B: float

    def theta(self, theta_new: ArrayLike) -> FloatArray:
        """Abilities on the new scale expressed on the old one."""
        return self.A * np.asarray(theta_new, dtype=np.float64) + self.B

    def apply(self, params: ItemParameters) -> ItemParameters:
        """Item parameters estimated on the new scale, expressed on the old one."""
        return ItemParameters(
            a=params.a / self.A, b=self.A * params.b + self.B, c=params.c.copy(), model=params.model
        )


# --------------------------------------------------------------------------------------------------
# Ability estimation
# --------------------------------------------------------------------------------------------------


def eap(
    responses: ArrayLike,
    a: ArrayLike,
    b: ArrayLike,
    c: ArrayLike | None = None,
    *,
    prior_mean: float = 0.0,
    prior_sd: float = 1.0,
    points: int = 61,
) -> tuple[float, float]:
    """Expected a posteriori ability and posterior SD for ONE person.

    ``responses`` is 1-D over the items described by ``a``, ``b``, ``c`` (``c=None`` means 2PL):
    1 correct, 0 wrong, ``NaN`` not administered. The prior is N(prior_mean, prior_sd²), integrated
    on ``points`` equally spaced nodes over prior_mean ± 6·prior_sd (61 nodes: spacing 0.2 SD,
    accurate to ~1e-4 for posteriors with SD ≥ 0.2). With nothing administered it returns the prior
    exactly. Costs tens of microseconds: meant to run after every answer.
    """
    u = np.asarray(responses, dtype=np.float64)
    if u.ndim != 1:
        raise ValueError(f"responses must be 1-D for one person; got shape {u.shape}")
    a_, b_, c_ = _items(a, b, 0.0 if c is None else c)
    if a_.shape != u.shape:
        raise ValueError(f"{u.size} responses for {a_.size if a_.ndim else 1} items")
    administered = ~np.isnan(u)
    if np.any((u[administered] != 0) & (u[administered] != 1)):
        raise ValueError("responses must be 0, 1 or NaN (not administered)")
    if not (prior_sd > 0 and np.isfinite(prior_sd) and np.isfinite(prior_mean)):
        raise ValueError(f"prior_sd must be positive and finite; got {prior_sd}")
    if not administered.any():
        return float(prior_mean), float(prior_sd)
    quad = _standard_quadrature(points)
    nodes = prior_mean + prior_sd * quad.nodes
    uo = u[administered]
    log_p, log_q = _log_pq(_outer_z(nodes, a_[administered], b_[administered]), c_[administered])
    log_post = log_p @ uo + log_q @ (1.0 - uo) + quad.log_weights
    post = np.exp(log_post - log_post.max())
    post /= post.sum()
    mean = float(post @ nodes)
    sd = float(np.sqrt(max(post @ (nodes - mean) ** 2, 0.0)))
    return mean, sd


def eap_graded(
    categories: Sequence[int | None],
    params: GRMItemParameters,
    *,
    prior_mean: float = 0.0,
    prior_sd: float = 1.0,
    points: int = 61,
) -> tuple[float, float]:
    """EAP ability and posterior SD for ONE person scored on graded-response items.

    ``categories[j]`` is the category 0..K_j - 1 reached on item ``j`` (``None``: not scored).
    Same quadrature and prior as :func:`eap`; with nothing scored it returns the prior.
    """
    if len(categories) != len(params):
        raise ValueError(f"{len(categories)} scores for {len(params)} items")
    if not (prior_sd > 0 and np.isfinite(prior_sd) and np.isfinite(prior_mean)):
        raise ValueError(f"prior_sd must be positive and finite; got {prior_sd}")
    quad = _standard_quadrature(points)
    nodes = prior_mean + prior_sd * quad.nodes
    log_post = quad.log_weights.copy()
    scored = False
    for j, category in enumerate(categories):
        if category is None:
            continue
        a, thresholds = params.item(j)
        if not 0 <= category <= thresholds.size:
            raise ValueError(f"item {j}: category {category} outside 0..{thresholds.size}")
        probs = grm_probabilities(nodes, a, thresholds)[:, category]
        log_post += np.log(np.maximum(probs, 1e-300))
        scored = True
    if not scored:
        return float(prior_mean), float(prior_sd)
    post = np.exp(log_post - log_post.max())
    post /= post.sum()
    mean = float(post @ nodes)
    sd = float(np.sqrt(max(post @ (nodes - mean) ** 2, 0.0)))
    return mean, sd


def eap_scores(
    responses: ArrayLike, params: ItemParameters, *, points: int = 61
) -> tuple[FloatArray, FloatArray]:
    """EAP ability and posterior SD for every row of a persons x items matrix (N(0, 1) prior)."""
    x = _dichotomous_matrix(responses, n_items=len(params))
    quad = _standard_quadrature(points)
    mask = ~np.isnan(x)
    xc = np.where(mask, x, 0.0)
    xw = mask - xc
    log_p, log_q = _log_pq(_outer_z(quad.nodes, params.a, params.b), params.c)
    post, _ = _posterior(xc, xw, log_p, log_q, quad.log_weights)
    mean = post @ quad.nodes
    var = post @ quad.nodes**2 - mean**2
    return mean, np.sqrt(np.maximum(var, 0.0))


# --------------------------------------------------------------------------------------------------
# Calibration (dichotomous): Bock-Aitkin EM
# --------------------------------------------------------------------------------------------------


def _dichotomous_matrix(responses: ArrayLike, *, n_items: int | None = None) -> FloatArray:
    try:
        x = np.array(responses, dtype=np.float64)
    except (TypeError, ValueError):
        raise CalibrationError("responses must be numeric: 0, 1 or NaN (missing)") from None
    if x.ndim != 2:
        raise CalibrationError(
            f"responses must be a 2-D array (persons x items); got shape {x.shape}"
        )
    if n_items is not None and x.shape[1] != n_items:
        raise CalibrationError(f"responses have {x.shape[1]} items; the parameters have {n_items}")
    bad = ~np.isnan(x) & (x != 0) & (x != 1)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise CalibrationError(
            f"responses must be 0, 1 or NaN (missing); found {float(x[i, j])!r} at person {i}, "
            f"item {j} ({int(bad.sum())} such values)"
        )
    return x


def _posterior(
    xc: FloatArray, xw: FloatArray, log_p: FloatArray, log_q: FloatArray, log_w: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """E-step: posterior weights over nodes (persons x nodes) and log marginal likelihoods.

    Log-likelihoods are two matrix products: correct responses against log P, observed wrong
    responses against log Q; missing cells are zero in both and drop out.
    """
    log_lik = xc @ log_p.T
    log_lik += xw @ log_q.T
    log_lik += log_w
    top = log_lik.max(axis=1, keepdims=True)
    log_lik -= top
    np.exp(log_lik, out=log_lik)
    total = log_lik.sum(axis=1, keepdims=True)
    log_lik /= total
    return log_lik, (top + np.log(total))[:, 0]


def _prior_terms(
    a: FloatArray, d: FloatArray, c: FloatArray, priors: Priors, *, include_log_a: bool = True
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Log prior per item, its gradient (items, 3) and a positive information (items, 3, 3),
    in the optimiser's (a, d, c) parametrisation, d = -a·b. The b prior's information uses the
    Gauss-Newton form J Jᵀ / sd² (J = ∂b/∂(a, d)), which is positive and exact at the prior mean."""
    n = a.size
    lp = np.zeros(n)
    grad = np.zeros((n, 3))
    info = np.zeros((n, 3, 3))
    if priors.log_a is not None and include_log_a:
        m, s = priors.log_a
        la = np.log(a)
        lp -= (la - m) ** 2 / (2 * s * s)
        grad[:, 0] -= (la - m) / (s * s * a)
        info[:, 0, 0] += 1.0 / (s * s * a * a)
    if priors.b is not None:
        m, s = priors.b
        b = -d / a
        jac = np.stack([-b / a, -1.0 / a], axis=1)  # ∂b/∂a, ∂b/∂d
        lp -= (b - m) ** 2 / (2 * s * s)
        grad[:, :2] -= ((b - m) / (s * s))[:, None] * jac
        info[:, :2, :2] += jac[:, :, None] * jac[:, None, :] / (s * s)
    if priors.c is not None:
        al, be = priors.c
        lp += (al - 1) * np.log(c) + (be - 1) * np.log1p(-c)
        grad[:, 2] += (al - 1) / c - (be - 1) / (1 - c)
        info[:, 2, 2] += (al - 1) / (c * c) + (be - 1) / ((1 - c) ** 2)
    return lp, grad, info


def _item_objective(
    nodes: FloatArray, r: FloatArray, w: FloatArray, a: FloatArray, d: FloatArray, c: FloatArray
) -> FloatArray:
    # Expected complete-data log-likelihood of each item given the E-step counts.
    log_p, log_q = _log_pq(np.multiply.outer(nodes, a) + d, c)
    return cast(FloatArray, (r * log_p + w * log_q).sum(axis=0))


def _derivatives(
    nodes: FloatArray, a: FloatArray, d: FloatArray, c: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """P, P·Q and h = (∂P/∂(a, d, c)) / (P·Q) on the grid: shapes (Q, J), (Q, J), (3, Q, J).

    With h the score of one response is (x - P)·h and its expected information n·P·Q·h hᵀ. The
    parameter boxes keep P ≥ 1e-48, so the divisions are safe.
    """
    z = np.multiply.outer(nodes, a) + d
    s = expit(z)
    f = expit(-z)
    p = c + (1.0 - c) * s
    pq = p * (1.0 - c) * f
    s_over_p = s / p
    h = np.stack([nodes[:, None] * s_over_p, s_over_p, 1.0 / (p * (1.0 - c))])
    return p, pq, h


def _score_info(
    nodes: FloatArray,
    r: FloatArray,
    w: FloatArray,
    a: FloatArray,
    d: FloatArray,
    c: FloatArray,
    k: int,
) -> tuple[FloatArray, FloatArray]:
    """Gradient (J, k) and expected information (J, k, k) of the M-step objective; k = 2 for
    (a, d), 3 for (a, d, c). Fisher scoring: equals Newton for the 2PL (canonical link)."""
    p, pq, h = _derivatives(nodes, a, d, c)
    h = h[:k]
    n = r + w
    grad = np.einsum("qj,kqj->jk", r - n * p, h)
    info = np.einsum("qj,kqj,lqj->jkl", n * pq, h, h)
    return cast(FloatArray, grad), cast(FloatArray, info)


@dataclass
class _State:
    a: FloatArray
    d: FloatArray
    c: FloatArray

    def copy(self) -> _State:
        return _State(self.a.copy(), self.d.copy(), self.c.copy())


def _clip(st: _State, free: NDArray[np.bool_], model: Model, priors: Priors) -> None:
    a_lo = _A_MIN_POSITIVE if (priors.log_a is not None or priors.b is not None) else -_A_MAX
    st.a[free] = np.clip(st.a[free], a_lo, _A_MAX)
    st.d[free] = np.clip(st.d[free], -_D_MAX, _D_MAX)
    if model == "3PL":
        st.c[free] = np.clip(st.c[free], _C_MIN, _C_MAX)


def _mstep(
    nodes: FloatArray,
    r: FloatArray,
    w: FloatArray,
    st: _State,
    free: NDArray[np.bool_],
    model: Model,
    priors: Priors,
    inner: int = 4,
) -> None:
    """Maximise each free item's expected complete-data log-posterior in place: a few Fisher-
    scoring steps, vectorised over items, each halved until the item's objective does not drop."""
    rf, wf = r[:, free], w[:, free]
    k = 3 if model == "3PL" else 2
    one_pl = model == "1PL"

    def objective(a: FloatArray, d: FloatArray, c: FloatArray) -> FloatArray:
        lp, _, _ = _prior_terms(a, d, c, priors, include_log_a=not one_pl)
        val = _item_objective(nodes, rf, wf, a, d, c) + lp
        if one_pl:  # one scalar objective; the slope prior counts once
            lp_a, _, _ = _prior_terms(a[:1], d[:1], c[:1], Priors(log_a=priors.log_a))
            return cast(FloatArray, np.array([val.sum() + lp_a.sum()]))
        return val

    for _ in range(inner):
        a, d, c = st.a[free], st.d[free], st.c[free]
        grad, info = _score_info(nodes, rf, wf, a, d, c, k)
        _, pg, pi = _prior_terms(a, d, c, priors, include_log_a=not one_pl)
        grad = grad + pg[:, :k]
        info = info + pi[:, :k, :k]
        if one_pl:
            # Common slope + item intercepts: an arrow-shaped Hessian solved by its Schur
            # complement, so the common slope costs nothing extra.
            _, ag, ai = _prior_terms(a[:1], d[:1], c[:1], Priors(log_a=priors.log_a))
            g_a = grad[:, 0].sum() + ag[0, 0]
            h_aa = info[:, 0, 0].sum() + ai[0, 0, 0]
            h_ad, h_dd, g_d = info[:, 0, 1], info[:, 1, 1] + 1e-10, grad[:, 1]
            step_a = (g_a - np.sum(h_ad * g_d / h_dd)) / (h_aa - np.sum(h_ad * h_ad / h_dd))
            step = np.stack([np.full_like(g_d, step_a), (g_d - h_ad * step_a) / h_dd], axis=1)
        else:
            ridge = 1e-10 * np.eye(k)
            step = np.linalg.solve(info + ridge, grad[:, :, None])[:, :, 0]
        old = objective(a, d, c)
        t = np.ones(old.shape)
        accepted = np.zeros(old.shape, dtype=bool)
        for _ in range(12):
            trial = st.copy()
            tt = t if not one_pl else np.full(a.size, t[0])
            trial.a[free] = a + tt * step[:, 0]
            trial.d[free] = d + tt * step[:, 1]
            if k == 3:
                trial.c[free] = c + tt * step[:, 2]
            _clip(trial, free, model, priors)
            new = objective(trial.a[free], trial.d[free], trial.c[free])
            ok = (new >= old - 1e-9 * np.abs(old)) & ~accepted
            sel = ok if not one_pl else np.full(a.size, bool(ok[0]))
            fa, fd, fc = st.a[free], st.d[free], st.c[free]
            fa[sel], fd[sel], fc[sel] = trial.a[free][sel], trial.d[free][sel], trial.c[free][sel]
            st.a[free], st.d[free], st.c[free] = fa, fd, fc
            accepted |= ok
            if accepted.all():
                break
            t = np.where(accepted, t, t / 2)
        if np.max(np.abs(step)) < 1e-7:
            break


def _patterns(x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Correct and observed-wrong indicator matrices of the distinct response patterns, with
    their counts. Collapsing identical rows makes short tests (LSAT: 1,000 persons, 32 patterns)
    almost free; when most rows are distinct it is skipped."""
    code = np.where(np.isnan(x), 2, x).astype(np.int8)
    if x.shape[1] <= 40:
        uniq, counts = np.unique(code, axis=0, return_counts=True)
        if uniq.shape[0] < 0.7 * code.shape[0]:
            code = uniq
            return (
                (code == 1).astype(np.float64),
                (code == 0).astype(np.float64),
                counts.astype(np.float64),
            )
    return (code == 1).astype(np.float64), (code == 0).astype(np.float64), np.ones(code.shape[0])


def _fixed_items(
    fixed: Mapping[int, tuple[float, float, float]] | None, n_items: int
) -> dict[int, tuple[float, float, float]]:
    out: dict[int, tuple[float, float, float]] = {}
    for key, value in (fixed or {}).items():
        j = int(key)
        if not 0 <= j < n_items:
            raise CalibrationError(f"fixed item index {key} is outside 0..{n_items - 1}")
        if len(value) != 3:
            raise CalibrationError(f"fixed item {j} must be given as (a, b, c); got {value!r}")
        fa, fb, fc = (float(v) for v in value)
        if not (np.isfinite(fa) and np.isfinite(fb) and 0 <= fc < 1 and 0 < abs(fa) <= _A_MAX):
            raise CalibrationError(
                f"fixed item {j} has unusable parameters (a={fa}, b={fb}, c={fc}): need finite "
                f"a with 0 < |a| ≤ {_A_MAX}, finite b and 0 ≤ c < 1"
            )
        out[j] = (fa, fb, fc)
    return out


def _check_free_items(
    x: FloatArray, free: NDArray[np.bool_], min_responses: int
) -> tuple[FloatArray, FloatArray]:
    observed = np.sum(~np.isnan(x), axis=0).astype(np.float64)
    correct = np.nansum(x, axis=0)
    few = np.flatnonzero(free & (observed < min_responses))
    if few.size:
        counts = ", ".join(str(int(observed[j])) for j in few[:10])
        raise CalibrationError(
            f"too few responses to calibrate items {few[:10].tolist()}"
            f"{' …' if few.size > 10 else ''} (responses: {counts}); calibration needs at least "
            f"{min_responses} responses per item — keep their provisional parameters until then"
        )
    all_right = np.flatnonzero(free & (correct == observed))
    all_wrong = np.flatnonzero(free & (correct == 0))
    if all_right.size or all_wrong.size:
        parts = []
        if all_right.size:
            parts.append(f"items {all_right.tolist()} were answered correctly by everyone")
        if all_wrong.size:
            parts.append(f"items {all_wrong.tolist()} were answered wrongly by everyone")
        raise CalibrationError(
            "; ".join(parts) + ": such items carry no information about their parameters "
            "(remove them or fix their parameters)"
        )
    return observed, correct


def _initial_slopes(x: FloatArray) -> FloatArray:
    # Item-rest correlations turned into logistic slopes (a ≈ 1.7 r / √(1 - r²)): starting near
    # the answer saves a third of the EM cycles.
    mask = ~np.isnan(x)
    xz = np.where(mask, x, 0.0)
    answered = mask.sum(axis=1)
    rest = np.divide(
        xz.sum(axis=1, keepdims=True) - xz,
        answered[:, None] - mask,
        out=np.full(x.shape, np.nan),
        where=(answered[:, None] - mask) > 0,
    )
    slopes = np.ones(x.shape[1])
    for j in range(x.shape[1]):
        ok = mask[:, j] & ~np.isnan(rest[:, j])
        if ok.sum() > 2 and np.std(xz[ok, j]) > 0 and np.std(rest[ok, j]) > 0:
            rho = float(np.corrcoef(xz[ok, j], rest[ok, j])[0, 1])
            slopes[j] = 1.7 * rho / np.sqrt(max(1.0 - rho * rho, 0.05))
    return cast(FloatArray, np.clip(slopes, 0.3, 3.0))


def _xpd_covariance(
    scores: FloatArray, counts: FloatArray, prior_info: FloatArray
) -> FloatArray | None:
    info = scores.T @ (scores * counts[:, None]) + prior_info
    try:
        cov = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return None
    if not np.all(np.isfinite(cov)) or np.any(np.diag(cov) <= 0):
        return None
    return cast(FloatArray, cov)


def calibrate(
    responses: ArrayLike,
    *,
    model: Model = "2PL",
    fixed: Mapping[int, tuple[float, float, float]] | None = None,
    max_iter: int = 500,
    tol: float = 1e-4,
    points: int = 41,
    priors: Priors | Literal["default"] = "default",
    min_responses: int = MIN_RESPONSES_PER_ITEM,
    standard_errors: bool = True,
) -> Calibration:
    """Marginal maximum likelihood (MAP with ``priors``) item calibration by Bock-Aitkin EM.

    ``responses``: persons x items, 0/1 with ``NaN`` for missing (persons with no response at all
    are dropped). Abilities are integrated on ``points`` nodes over [-6, 6] with N(μ, σ²) weights.

    * ``"1PL"``: one slope common to all calibrated items, estimated (equivalent to the Rasch model
      with a free latent variance); ``"2PL"``; ``"3PL"`` (see :meth:`Priors.default`).
    * ``fixed={item: (a, b, c)}`` keeps those items' parameters as given (fixed-anchor
      calibration): the free items land on the anchors' scale. The population mean and SD are then
      estimated each EM cycle (Kim 2006, multiple-prior-update FIPC) instead of being N(0, 1).
    * Converged when no free a, b or c moves more than ``tol`` between EM cycles; otherwise
      ``converged=False`` after ``max_iter`` cycles (no warning: check the flag).
    * Item slopes are kept in [-10, 10] (a > 0 with an a or b prior), intercepts a·b in [-50, 50],
      c in [1e-6, 0.95].

    Raises :class:`CalibrationError` for non-0/1 values, a matrix that is not 2-D, fewer than three
    items, a free item with fewer than ``min_responses`` responses, a free item answered all right
    or all wrong, unusable ``fixed`` entries, or nothing left to calibrate.
    """
    if model not in ("1PL", "2PL", "3PL"):
        raise CalibrationError(f"model must be '1PL', '2PL' or '3PL'; got {model!r}")
    if max_iter < 1 or not tol > 0 or points < 5:
        raise CalibrationError(
            f"need max_iter ≥ 1, tol > 0 and points ≥ 5; got {max_iter}, {tol}, {points}"
        )
    pri = Priors.default(model) if priors == "default" else priors
    x = _dichotomous_matrix(responses)
    x = x[~np.all(np.isnan(x), axis=1)]
    n_persons, n_items = x.shape
    if n_items < MIN_ITEMS:
        raise CalibrationError(
            f"calibration needs at least {MIN_ITEMS} items to identify the scale; got {n_items}"
        )
    fixed_items = _fixed_items(fixed, n_items)
    free = np.ones(n_items, dtype=bool)
    free[list(fixed_items)] = False
    if not free.any():
        raise CalibrationError("every item is fixed: there is nothing to calibrate")
    observed, correct = _check_free_items(x, free, min_responses)

    # Starting values: slopes from item-rest correlations (a common mean slope under 1PL),
    # intercepts from proportions correct, c at the prior's mean.
    c0 = 0.0
    if model == "3PL":
        c0 = pri.c[0] / (pri.c[0] + pri.c[1]) if pri.c is not None else 0.1
    a0 = _initial_slopes(x)
    if model == "1PL":
        a0[:] = float(np.mean(a0[free]))
    p = np.clip((correct / np.maximum(observed, 1) - c0) / (1 - c0), 0.02, 0.98)
    d0 = np.log(p / (1 - p)) * np.sqrt(1 + 0.35 * a0 * a0)
    st = _State(a0, d0, np.full(n_items, c0))
    for j, (fa, fb, fc) in fixed_items.items():
        st.a[j], st.d[j], st.c[j] = fa, -fa * fb, fc
    _clip(st, free, model, pri)

    xc, xw, counts = _patterns(x)
    quad = Quadrature.normal(points)
    nodes = quad.nodes
    log_w = quad.log_weights.copy()
    estimate_population = bool(fixed_items)
    mu, sigma = 0.0, 1.0
    total = counts.sum()

    def current_b(s: _State) -> FloatArray:
        return -s.d / s.a

    converged = False
    iteration = 0
    for iteration in range(1, max_iter + 1):  # noqa: B007 - reported after the loop
        log_p, log_q = _log_pq(np.multiply.outer(nodes, st.a) + st.d, st.c)
        post, _ = _posterior(xc, xw, log_p, log_q, log_w)
        weighted = post * counts[:, None]
        r = weighted.T @ xc
        w = weighted.T @ xw
        if estimate_population:
            marginal = weighted.sum(axis=0) / total
            mu = float(marginal @ nodes)
            sigma = float(np.sqrt(max(marginal @ (nodes - mu) ** 2, 1e-6)))
            z = (nodes - mu) / sigma
            log_w = -0.5 * z * z - np.log(np.sum(np.exp(-0.5 * z * z)))
        before = st.copy()
        _mstep(nodes, r, w, st, free, model, pri)
        change = max(
            float(np.max(np.abs(st.a[free] - before.a[free]))),
            float(np.max(np.abs(current_b(st)[free] - current_b(before)[free]))),
            float(np.max(np.abs(st.c[free] - before.c[free]))),
        )
        if change < tol:
            converged = True
            break

    log_p, log_q = _log_pq(np.multiply.outer(nodes, st.a) + st.d, st.c)
    post, log_marg = _posterior(xc, xw, log_p, log_q, log_w)
    log_likelihood = float(counts @ log_marg)

    b = current_b(st)
    se_a = np.full(n_items, np.nan)
    se_b = np.full(n_items, np.nan)
    se_c = np.full(n_items, np.nan)
    if standard_errors:
        se_a, se_b, se_c = _dichotomous_se(xc, xw, counts, post, nodes, st, b, free, model, pri)
    params = ItemParameters(a=st.a.copy(), b=b, c=st.c.copy(), model=model)
    return Calibration(
        params=params,
        se_a=se_a,
        se_b=se_b,
        se_c=se_c,
        log_likelihood=log_likelihood,
        iterations=iteration,
        converged=converged,
        n_persons=n_persons,
        fixed=tuple(sorted(fixed_items)),
        population_mean=mu,
        population_sd=sigma,
        priors=pri,
    )


def _dichotomous_se(
    xc: FloatArray,
    xw: FloatArray,
    counts: FloatArray,
    post: FloatArray,
    nodes: FloatArray,
    st: _State,
    b: FloatArray,
    free: NDArray[np.bool_],
    model: Model,
    pri: Priors,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Standard errors from the XPD information: per-person scores
    ``s = Σ_q post(q) (x - P_q) h_q`` as matrix products over the grid."""
    n_items = st.a.size
    k = 3 if model == "3PL" else 2
    idx = np.flatnonzero(free)
    p, _, h = _derivatives(nodes, st.a[idx], st.d[idx], st.c[idx])
    xo = xc[:, idx]
    mo = xo + xw[:, idx]
    blocks = [xo * (post @ h[t]) - mo * (post @ (p * h[t])) for t in range(k)]
    lp_info = _prior_terms(st.a[idx], st.d[idx], st.c[idx], pri, include_log_a=model != "1PL")[2]
    m = idx.size
    if model == "1PL":
        scores = np.concatenate([blocks[0].sum(axis=1, keepdims=True), blocks[1]], axis=1)
        prior = np.zeros((m + 1, m + 1))
        prior[0, 0] = lp_info[:, 0, 0].sum()
        prior[0, 1:] = prior[1:, 0] = lp_info[:, 0, 1]
        prior[1:, 1:] = np.diag(lp_info[:, 1, 1])
        if pri.log_a is not None:
            one = idx[:1]
            prior[0, 0] += _prior_terms(st.a[one], st.d[one], st.c[one], Priors(log_a=pri.log_a))[
                2
            ][0, 0, 0]
        cov = _xpd_covariance(scores, counts, prior)
        var_a = np.full(m, np.nan if cov is None else cov[0, 0])
        var_d = np.full(m, np.nan) if cov is None else np.diag(cov)[1:]
        cov_ad = np.full(m, np.nan) if cov is None else cov[0, 1:]
        var_c = np.full(m, np.nan)
    else:
        scores = np.concatenate(blocks, axis=1)  # columns: all a, then all d, (then all c)
        prior = np.zeros((k * m, k * m))
        for s in range(k):
            for t in range(k):
                prior[s * m : (s + 1) * m, t * m : (t + 1) * m] = np.diag(lp_info[:, s, t])
        cov = _xpd_covariance(scores, counts, prior)
        if cov is None:
            var_a = var_d = cov_ad = var_c = np.full(m, np.nan)
        else:
            dg = np.diag(cov)
            var_a, var_d = dg[:m], dg[m : 2 * m]
            cov_ad = np.diag(cov[:m, m : 2 * m])
            var_c = dg[2 * m :] if k == 3 else np.full(m, np.nan)
    a_f, b_f = st.a[idx], b[idx]
    var_b = (b_f * b_f * var_a + 2 * b_f * cov_ad + var_d) / (a_f * a_f)
    se_a = np.full(n_items, np.nan)
    se_b = np.full(n_items, np.nan)
    se_c = np.full(n_items, np.nan)
    se_a[idx] = np.sqrt(np.maximum(var_a, 0.0))
    se_b[idx] = np.sqrt(np.maximum(var_b, 0.0))
    se_c[idx] = np.sqrt(np.maximum(var_c, 0.0))
    return se_a, se_b, se_c


# --------------------------------------------------------------------------------------------------
# Linking separate calibrations
# --------------------------------------------------------------------------------------------------


def link_mean_sigma(anchor_old: ItemParameters, anchor_new: ItemParameters) -> Linking:
    """Mean/sigma linking (Marco 1977) from the anchor items' difficulties on both scales.

    ``anchor_old[j]`` and ``anchor_new[j]`` are the same item calibrated separately. Returns
    ``A = sd(b_old) / sd(b_new)``, ``B = mean(b_old) - A · mean(b_new)`` (population SDs), so
    ``Linking.apply`` puts the new calibration on the old scale. Needs at least two anchors with
    distinct difficulties; raises :class:`CalibrationError` otherwise. (Fixed-anchor calibration,
    ``calibrate(fixed=…)``, is usually more precise; this is for calibrations already done.)
    """
    if len(anchor_old) != len(anchor_new):
        raise CalibrationError(
            f"anchor sets differ in length: {len(anchor_old)} old vs {len(anchor_new)} new"
        )
    if len(anchor_old) < 2:
        raise CalibrationError("mean/sigma linking needs at least two anchor items")
    sd_new = float(np.std(anchor_new.b))
    sd_old = float(np.std(anchor_old.b))
    if not (sd_new > 0 and sd_old > 0 and np.isfinite(sd_new) and np.isfinite(sd_old)):
        raise CalibrationError("anchor difficulties must be finite and not all equal")
    big_a = sd_old / sd_new
    big_b = float(np.mean(anchor_old.b)) - big_a * float(np.mean(anchor_new.b))
    return Linking(A=big_a, B=big_b)


# --------------------------------------------------------------------------------------------------
# Graded response model calibration
# --------------------------------------------------------------------------------------------------


def _graded_matrix(responses: ArrayLike) -> IntArray:
    raw = np.asarray(responses)
    if raw.ndim != 2:
        raise CalibrationError(
            f"responses must be a 2-D array (persons x items); got shape {raw.shape}"
        )
    if raw.dtype.kind == "f":
        if np.any(np.isnan(raw)):
            raise CalibrationError("graded responses use -1 for missing, not NaN")
        if np.any(raw != np.round(raw)):
            raise CalibrationError("graded responses must be whole-number categories 0, 1, 2, …")
    elif raw.dtype.kind not in "iub":
        raise CalibrationError("graded responses must be integer categories (-1 for missing)")
    x = raw.astype(np.int64)
    if np.any(x < -1):
        i, j = (int(v) for v in np.argwhere(x < -1)[0])
        raise CalibrationError(
            f"graded responses must be categories 0, 1, 2, … or -1 (missing); found {x[i, j]} "
            f"at person {i}, item {j}"
        )
    return x


def _grm_logs(
    nodes: FloatArray, a: FloatArray, d: FloatArray, valid_d: NDArray[np.bool_]
) -> tuple[FloatArray, FloatArray]:
    """log P(X = k) on the grid, shape (Q, J, K), and W*_k = P*_k (1 - P*_k) for k = 0..K (with
    the sentinels P*_0 = 1, P*_K = 0, and padded boundaries at -inf, hence W* = 0 there).

    ``P_k = P*_k - P*_{k+1}`` is evaluated as ``P*_k · (1 - P*_{k+1}) · (1 - e^{d_{k+1} - d_k})``:
    aθ cancels in the last factor, so nothing is subtracted from a number close to it."""
    n_items, kmax1 = d.shape
    z_inner = np.where(valid_d[None], nodes[:, None, None] * a[None, :, None] + d[None], -np.inf)
    q = nodes.size
    z = np.concatenate(
        [np.full((q, n_items, 1), np.inf), z_inner, np.full((q, n_items, 1), -np.inf)], axis=2
    )
    # log(1 - e^{d_{k+1} - d_k}) is 0 at the ends (one side infinite) and finite inside because
    # intercepts are kept strictly decreasing; padded pairs are masked out by log P* = -inf.
    gap = np.zeros((n_items, kmax1 + 1))
    inner = valid_d[:, 1:] & valid_d[:, :-1]
    diff = np.where(inner, d[:, 1:] - d[:, :-1], -1.0)
    gap[:, 1:kmax1] = np.where(inner, np.log(-np.expm1(diff)), 0.0)
    log_p = log_expit(z[:, :, :-1]) + log_expit(-z[:, :, 1:]) + gap[None]
    s = expit(z)
    w_star = s * expit(-z)
    return cast(FloatArray, log_p), cast(FloatArray, w_star)


def _grm_derivatives(
    nodes: FloatArray, w_star: FloatArray, kmax: int
) -> FloatArray:  # ∂P_k/∂(a, d_1..d_{K-1}): shape (Q, J, K categories, K parameters)
    q, n_items, _ = w_star.shape
    der = np.zeros((q, n_items, kmax, kmax))
    der[:, :, :, 0] = (w_star[:, :, :-1] - w_star[:, :, 1:]) * nodes[:, None, None]
    for k in range(1, kmax):
        der[:, :, k, k] += w_star[:, :, k]
        der[:, :, k - 1, k] -= w_star[:, :, k]
    return der


def calibrate_grm(
    responses: ArrayLike,
    *,
    max_iter: int = 500,
    tol: float = 1e-4,
    points: int = 41,
    min_responses: int = MIN_RESPONSES_PER_ITEM,
    standard_errors: bool = True,
) -> GRMCalibration:
    """Samejima graded response model by Bock-Aitkin EM (θ ~ N(0, 1), D = 1, no priors).

    ``responses``: persons x items of integer categories 0..K_j - 1, ``-1`` for missing; each item
    must use every category from 0 to its highest observed one (recode otherwise). Parametrised
    internally as ``P(X ≥ k) = logistic(a θ + d_k)`` with strictly decreasing d_k (thresholds
    ``b_k = -d_k / a``); the M-step is Fisher scoring over all items at once with step halving
    that keeps the intercepts ordered. Raises :class:`CalibrationError` on bad input as
    :func:`calibrate` does.
    """
    if max_iter < 1 or not tol > 0 or points < 5:
        raise CalibrationError(
            f"need max_iter ≥ 1, tol > 0 and points ≥ 5; got {max_iter}, {tol}, {points}"
        )
    x = _graded_matrix(responses)
    x = x[~np.all(x < 0, axis=1)]
    n_persons, n_items = x.shape
    if n_items < MIN_ITEMS:
        raise CalibrationError(
            f"calibration needs at least {MIN_ITEMS} items to identify the scale; got {n_items}"
        )
    observed = np.sum(x >= 0, axis=0)
    few = np.flatnonzero(observed < min_responses)
    if few.size:
        raise CalibrationError(
            f"too few responses to calibrate items {few[:10].tolist()} (responses: "
            f"{', '.join(str(int(observed[j])) for j in few[:10])}); calibration needs at least "
            f"{min_responses} responses per item"
        )
    n_cat = x.max(axis=0) + 1
    for j in range(n_items):
        used = np.bincount(x[x[:, j] >= 0, j], minlength=int(n_cat[j]))
        if n_cat[j] < 2 or np.any(used == 0):
            missing = np.flatnonzero(used == 0).tolist()
            raise CalibrationError(
                f"item {j} has no information: "
                + (
                    "every response is in the same category"
                    if n_cat[j] < 2 or np.count_nonzero(used) < 2
                    else f"no responses in categories {missing}; recode categories consecutively"
                )
            )
    kmax = int(n_cat.max())
    valid_d = np.arange(1, kmax)[None, :] < n_cat[:, None]  # (J, K-1)
    onehot = np.stack([(x == k).astype(np.float64) for k in range(kmax)], axis=2)  # (N, J, K)

    # Start: a = 1, intercepts from cumulative proportions (strictly decreasing by construction).
    props = onehot.sum(axis=0) / observed[:, None]
    cum = np.clip(1.0 - np.cumsum(props, axis=1)[:, :-1], 0.005, 0.995)
    a = np.ones(n_items)
    d = np.where(valid_d, np.log(cum / (1 - cum)) * 1.2, 0.0)

    quad = Quadrature.normal(points)
    nodes, log_w = quad.nodes, quad.log_weights
    flat = onehot.reshape(n_persons, n_items * kmax)

    def estep(a: FloatArray, d: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        log_p, w_star = _grm_logs(nodes, a, d, valid_d)
        safe = np.where(np.isfinite(log_p), log_p, 0.0).reshape(nodes.size, -1)
        log_lik = flat @ safe.T + log_w
        top = log_lik.max(axis=1, keepdims=True)
        post = np.exp(log_lik - top)
        total = post.sum(axis=1, keepdims=True)
        post /= total
        return post, (top + np.log(total))[:, 0], w_star

    def objective(r: FloatArray, a: FloatArray, d: FloatArray) -> FloatArray:
        log_p, _ = _grm_logs(nodes, a, d, valid_d)
        # Padded categories have log P = -inf and no responses: they contribute nothing.
        safe = np.where(np.isfinite(log_p), log_p, 0.0)
        return cast(FloatArray, (r * safe).sum(axis=(0, 2)))

    pad = np.concatenate([np.zeros((n_items, 1), dtype=bool), ~valid_d], axis=1)  # (J, K params)
    converged = False
    iteration = 0
    for iteration in range(1, max_iter + 1):  # noqa: B007 - reported after the loop
        post, _, _ = estep(a, d)
        r = (post.T @ flat).reshape(nodes.size, n_items, kmax)  # expected counts per category
        n = r.sum(axis=2)
        a_old, d_old = a.copy(), d.copy()
        for _ in range(4):
            log_p, w_star = _grm_logs(nodes, a, d, valid_d)
            p = np.exp(log_p)
            der = _grm_derivatives(nodes, w_star, kmax)
            ratio = np.divide(r, p, out=np.zeros_like(r), where=p > 0)
            grad = np.einsum("qjk,qjkp->jp", ratio, der)
            inv_p = np.divide(1.0, p, out=np.zeros_like(p), where=p > 0)
            info = np.einsum("qj,qjk,qjkp,qjks->jps", n, inv_p, der, der)
            info[pad] = 0.0
            grad[pad] = 0.0
            info += np.eye(kmax)[None] * np.where(pad, 1.0, 1e-10)[:, :, None]
            step = np.linalg.solve(info, grad[:, :, None])[:, :, 0]
            old = objective(r, a, d)
            t = np.ones(n_items)
            done = np.zeros(n_items, dtype=bool)
            for _ in range(12):
                ta = np.clip(a + t * step[:, 0], -_A_MAX, _A_MAX)
                td = np.where(valid_d, np.clip(d + t[:, None] * step[:, 1:], -_D_MAX, _D_MAX), 0.0)
                gaps = np.where(valid_d[:, 1:] & valid_d[:, :-1], td[:, :-1] - td[:, 1:], 1.0)
                ordered = np.all(gaps > 1e-6, axis=1)
                new = objective(r, ta, np.where(ordered[:, None], td, d))
                ok = ordered & (new >= old - 1e-9 * np.abs(old)) & ~done
                a = np.where(ok, ta, a)
                d = np.where(ok[:, None], td, d)
                done |= ok
                if done.all():
                    break
                t = np.where(done, t, t / 2)
            if np.max(np.abs(step)) < 1e-7:
                break
        thr_new = np.where(valid_d, -d / a[:, None], 0.0)
        thr_old = np.where(valid_d, -d_old / a_old[:, None], 0.0)
        change = max(float(np.max(np.abs(a - a_old))), float(np.max(np.abs(thr_new - thr_old))))
        if change < tol:
            converged = True
            break

    post, log_marg, w_star = estep(a, d)
    thresholds = np.where(valid_d, -d / a[:, None], np.nan)
    se_a = np.full(n_items, np.nan)
    se_thr = np.full(thresholds.shape, np.nan)
    if standard_errors:
        log_p, _ = _grm_logs(nodes, a, d, valid_d)
        p = np.exp(log_p)
        der = _grm_derivatives(nodes, w_star, kmax)
        h = np.divide(der, p[..., None], out=np.zeros_like(der), where=p[..., None] > 0)
        # Per-person score for parameter t of item j: Σ_q post · h[q, j, x_nj, t].
        cols = []
        for par in range(kmax):
            ht = post @ h[:, :, :, par].reshape(nodes.size, -1)  # (N, J·K)
            cols.append((ht * flat).reshape(n_persons, n_items, kmax).sum(axis=2))
        scores = np.stack(cols, axis=2)  # (N, J, K params)
        keep = ~pad
        cov = _xpd_covariance(scores[:, keep], np.ones(n_persons), np.zeros((keep.sum(),) * 2))
        if cov is not None:
            full = np.full((n_items, kmax), -1)
            full[keep] = np.arange(int(keep.sum()))
            for j in range(n_items):
                ia = full[j, 0]
                se_a[j] = np.sqrt(cov[ia, ia])
                for k in range(1, int(n_cat[j])):
                    idd = full[j, k]
                    bk = thresholds[j, k - 1]
                    var = (bk * bk * cov[ia, ia] + 2 * bk * cov[ia, idd] + cov[idd, idd]) / a[
                        j
                    ] ** 2
                    se_thr[j, k - 1] = np.sqrt(max(var, 0.0))
    return GRMCalibration(
        params=GRMItemParameters(a=a, thresholds=thresholds),
        se_a=se_a,
        se_thresholds=se_thr,
        log_likelihood=float(log_marg.sum()),
        iterations=iteration,
        converged=converged,
        n_persons=n_persons,
    )


# --------------------------------------------------------------------------------------------------
# Item fit: Orlando-Thissen S-X²
# --------------------------------------------------------------------------------------------------


def _summed_score_likelihoods(p: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Lord-Wingersky recursion on the grid. ``p``: (Q, J) probabilities correct.

    Returns f(S = s | θ_q) for all items, shape (Q, J + 1), and for every item left out,
    shape (J, Q, J) — the leave-one-out distributions are built together, one item at a time,
    rather than deconvolved (which is numerically unstable)."""
    q, n_items = p.shape
    full = np.zeros((q, n_items + 1))
    full[:, 0] = 1.0
    loo = np.zeros((n_items, q, n_items))
    loo[:, :, 0] = 1.0
    for i in range(n_items):
        pi = p[:, i]
        # Right-hand sides are evaluated before assignment, so each update reads the old row.
        full[:, 1:] = full[:, 1:] * (1 - pi[:, None]) + full[:, :-1] * pi[:, None]
        full[:, 0] *= 1 - pi
        # Every leave-out set except the one leaving out item i absorbs item i.
        others = np.arange(n_items) != i
        cur = loo[others]
        new = np.empty_like(cur)
        new[:, :, 1:] = cur[:, :, 1:] * (1 - pi[None, :, None]) + cur[:, :, :-1] * pi[None, :, None]
        new[:, :, 0] = cur[:, :, 0] * (1 - pi[None, :])
        loo[others] = new
    return full, loo


def item_fit(
    responses: ArrayLike, params: ItemParameters, *, points: int = 41, min_expected: float = 1.0
) -> ItemFit:
    """Orlando-Thissen (2000) S-X² for every dichotomous item, under θ ~ N(0, 1).

    Persons are grouped by summed score s = 1..J-1; in each group the observed proportion correct
    on item j is compared with the model's ``E_js = ∫ P_j f_{-j}(s-1 | θ) φ dθ / ∫ f(s | θ) φ dθ``
    (Lord-Wingersky). Adjacent score groups are pooled from both tails until every group expects at
    least ``min_expected`` right and wrong answers (mirt's default 1). df = groups - estimated
    parameters per item (1PL: 1, 2PL: 2, 3PL: 3); p-values from χ²(df).

    S-X² needs complete response vectors: persons with any missing response are left out (at
    least 100 complete persons are required, else :class:`CalibrationError`).
    """
    x = _dichotomous_matrix(responses, n_items=len(params))
    x = x[~np.any(np.isnan(x), axis=1)]
    if x.shape[0] < 100:
        raise CalibrationError(
            f"item fit needs at least 100 persons with complete responses; got {x.shape[0]}"
        )
    n_items = x.shape[1]
    quad = Quadrature.normal(points)
    p = p_correct(quad.nodes, params.a, params.b, params.c)
    full, loo = _summed_score_likelihoods(p)
    wts = quad.weights
    denom = wts @ full  # marginal P(S = s), s = 0..J
    scores = x.sum(axis=1).astype(np.int64)
    n_s = np.bincount(scores, minlength=n_items + 1).astype(np.float64)
    n_params = {"1PL": 1, "2PL": 2, "3PL": 3}[params.model]
    stat = np.full(n_items, np.nan)
    df = np.zeros(n_items, dtype=np.int64)
    pvals = np.full(n_items, np.nan)
    groups = np.arange(1, n_items)  # summed scores 1..J-1
    for j in range(n_items):
        # E_js for s = 1..J-1: P_j(θ) f_{-j}(s - 1 | θ), integrated, over P(S = s).
        num = (wts * p[:, j]) @ loo[j][:, : n_items - 1]
        expected = np.divide(num, denom[groups], out=np.zeros(n_items - 1), where=denom[groups] > 0)
        observed = np.array([x[scores == s, j].sum() for s in groups])
        counts = n_s[groups]
        e_right, obs_right = expected * counts, observed
        # Pool adjacent groups from both tails until each expects ≥ min_expected rights and wrongs.
        pooled: list[tuple[float, float, float]] = []
        bucket = [0.0, 0.0, 0.0]  # persons, expected right, observed right
        for g in range(groups.size):
            bucket[0] += counts[g]
            bucket[1] += e_right[g]
            bucket[2] += obs_right[g]
            if bucket[1] >= min_expected and bucket[0] - bucket[1] >= min_expected:
                pooled.append((bucket[0], bucket[1], bucket[2]))
                bucket = [0.0, 0.0, 0.0]
        if bucket[0] > 0:
            if pooled:
                last = pooled.pop()
                pooled.append((last[0] + bucket[0], last[1] + bucket[1], last[2] + bucket[2]))
            else:
                pooled.append((bucket[0], bucket[1], bucket[2]))
        total = 0.0
        for size, e_r, o_r in pooled:
            if size <= 0:
                continue
            e_prop = e_r / size
            if 0 < e_prop < 1:
                total += size * (o_r / size - e_prop) ** 2 / (e_prop * (1 - e_prop))
        df[j] = len(pooled) - n_params
        stat[j] = total
        if df[j] >= 1:
            pvals[j] = float(chdtrc(df[j], total))
    return ItemFit(statistic=stat, df=df, p_value=pvals, n_persons=int(x.shape[0]))


# --------------------------------------------------------------------------------------------------
# Cold start
# --------------------------------------------------------------------------------------------------

_DIFFICULTY_LABELS: Final[dict[str, float]] = {
    "very easy": 1.0,
    "easy": 2.0,
    "medium": 3.0,
    "moderate": 3.0,
    "average": 3.0,
    "hard": 4.0,
    "difficult": 4.0,
    "very hard": 5.0,
    "very difficult": 5.0,
}
#: Provisional slope for uncalibrated items: below a typical calibrated slope (≈ 1-1.5), so that
#: maximum-information selection does not prefer unproven items and the ability estimate leans
#: on them less.
COLD_START_SLOPE: Final = 0.8


def cold_start(
    author_difficulty: float | str, *, n_choices: int | None = None
) -> tuple[float, float, float]:
    """Provisional ``(a, b, c)`` from an author's difficulty rating until responses accumulate.

    Rating 1-5 (fractions allowed) or a label (``very easy``, ``easy``, ``medium``, ``hard``,
    ``very hard``; ``moderate``/``average``/``difficult`` accepted). ``b = rating - 3``, i.e. -2..2
    on the N(0, 1) ability scale (a "medium" item is right for the average learner half the time);
    ``a =`` :data:`COLD_START_SLOPE`; ``c = 1 / n_choices`` when given (a pure-guess floor for
    choice items), else 0. Raises ``ValueError`` for anything else. Replace with calibrated values
    once :func:`enough_responses` says so.
    """
    if isinstance(author_difficulty, str):
        key = " ".join(
            author_difficulty.strip().lower().replace("_", " ").replace("-", " ").split()
        )
        if key not in _DIFFICULTY_LABELS:
            raise ValueError(
                f"unknown difficulty label {author_difficulty!r}; use one of "
                f"{sorted(_DIFFICULTY_LABELS)} or a rating from 1 to 5"
            )
        rating = _DIFFICULTY_LABELS[key]
    elif isinstance(author_difficulty, bool) or not isinstance(author_difficulty, (int, float)):
        raise ValueError(f"difficulty must be a rating 1-5 or a label; got {author_difficulty!r}")
    else:
        rating = float(author_difficulty)
        if not 1.0 <= rating <= 5.0:
            raise ValueError(f"difficulty rating must be between 1 and 5; got {author_difficulty}")
    c = 0.0
    if n_choices is not None:
        if n_choices < 2:
            raise ValueError(f"a choice item needs at least 2 choices; got {n_choices}")
        c = 1.0 / n_choices
    return COLD_START_SLOPE, rating - 3.0, c


def enough_responses(
    n_responses_per_item: int | Sequence[int] | NDArray[np.integer],
    min: int = DEFAULT_MIN_RESPONSES,
) -> bool:
    """Whether every item has at least ``min`` responses (default 200): the threshold at which a
    calibration job replaces cold-start parameters with calibrated ones. An empty bank is not
    ready. Raises ``ValueError`` for negative counts or ``min < MIN_RESPONSES_PER_ITEM``."""
    counts = np.atleast_1d(np.asarray(n_responses_per_item))
    if min < MIN_RESPONSES_PER_ITEM:
        raise ValueError(
            f"min must be at least {MIN_RESPONSES_PER_ITEM} (calibrate refuses below that)"
        )
    if counts.size and np.any(counts < 0):
        raise ValueError("response counts cannot be negative")
    return bool(counts.size > 0 and np.all(counts >= min))
