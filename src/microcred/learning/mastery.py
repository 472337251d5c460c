"""Learner mastery of a skill: a probability with an interval and plain-words reasons.

Pure code (numpy and SciPy only; no database, no web). Three kinds of evidence:

* **Practice answers**, through Bayesian Knowledge Tracing (BKT): a two-state hidden Markov model
  per skill (not mastered / mastered). Before each answer the learner is mastered with probability
  ``p``; a mastered learner slips (answers wrong) with ``p_slip``, an unmastered one guesses right
  with ``p_guess``; after each answer an unmastered learner learns with ``p_learn`` and a mastered
  one forgets with ``p_forget`` (0 in standard BKT). `fit_bkt` fits one skill's parameters by EM
  (Baum-Welch), `fit_bkt_per_skill` fits every skill of a log at once.
* **An adaptive test's ability estimate** (IRT): `from_ability` is P(theta > cut) under the normal
  posterior N(theta, se^2).
* **Recognition of prior learning** by an assessor (`from_recognition`) and a held credential
  (`from_award`): explicit priors whose weight is stated in practice-answer equivalents.

Every estimate is read as a Beta distribution over the learner's mastery with mean
``probability`` and ``strength`` pseudo-observations: ``Beta(p * n, (1 - p) * n)``. That one
reading gives every source an interval (``low``, ``high``: the 80% central credible interval) and
gives `combine` its rule: pseudo-counts add, so the combined probability is the strength-weighted
mean and the interval narrows as evidence accumulates. `update_with_answer` then lets practice
move any estimate, whatever its source, one BKT step at a time.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, TypeVar

import numpy as np

# SciPy ships no type information; results are cast to float at the edge.
from scipy.special import ndtr  # type: ignore[import-untyped]
from scipy.stats import beta as beta_dist  # type: ignore[import-untyped]

Source = Literal["practice", "assessment", "award", "prior_learning", "combined"]
Confidence = Literal["low", "medium", "high"]
SkillT = TypeVar("SkillT", bound=Hashable)

# The credible interval reported on every estimate.
INTERVAL = 0.80
# Pseudo-observations behind BKT's prior p_init: the interval of a practice estimate comes from
# Beta(p * n, (1 - p) * n) with n = answers + this, so no answers gives a wide interval and each
# answer narrows it like one Bernoulli observation would. BKT's posterior is a point probability
# given fitted parameters; it says nothing about how much evidence is behind it, and this does.
PRACTICE_PRIOR_STRENGTH = 2.0
# Recognition of prior learning, in practice-answer equivalents: strong, but a handful of wrong
# answers at "low" confidence, and a sustained run of them at "high", can still overturn it.
RECOGNITION_STRENGTH: dict[Confidence, float] = {"low": 4.0, "medium": 10.0, "high": 25.0}
# A credential awarded for the skill: it was itself assessed, so it weighs like a long practice
# record, but not certainty (credentials age, and assessments differ in rigour).
AWARD_PROBABILITY = 0.95
AWARD_STRENGTH = 30.0
# EM keeps parameters strictly inside (0, 1): the smoothing step divides by predicted state
# probabilities, and a parameter at exactly 0 or 1 can never move again.
_EPS = 1e-6
# BKT is unidentifiable without this: a "mastered" state that answers mostly wrong fits the data
# as well as the intended one. Guess and slip are kept below 0.5 (pyBKT and the literature do the
# same); 0.3 / 0.3 are common tighter caps, 0.5 is the loosest that keeps the meaning.
_MAX_GUESS = 0.5 - 1e-3
_MAX_SLIP = 0.5 - 1e-3


def _check_probability(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and 0.0 <= float(value) <= 1.0):
        raise ValueError(f"{name} must be a probability between 0 and 1, got {value!r}")


def _check_answers(answers: Iterable[int | bool]) -> np.ndarray:
    values = np.asarray(list(answers))
    if values.size and not np.isin(values, (0, 1)).all():
        bad = [v for v in values.tolist() if v not in (0, 1)][:3]
        raise ValueError(f"answers must be 0 (wrong) or 1 (right), got {bad}")
    return values.astype(float)


@dataclass(frozen=True)
class BKTParams:
    """One skill's knowledge-tracing parameters (all probabilities)."""

    p_init: float
    p_learn: float
    p_guess: float
    p_slip: float
    p_forget: float = 0.0
    version: str = "default"

    def __post_init__(self) -> None:
        for name in ("p_init", "p_learn", "p_guess", "p_slip", "p_forget"):
            _check_probability(name, getattr(self, name))


# Typical of skill-builder data (ASSISTments fits cluster around these): used for skills with no
# practice history, and as the centre of EM's weak prior.
DEFAULT_BKT = BKTParams(p_init=0.4, p_learn=0.1, p_guess=0.2, p_slip=0.1, version="default")


@dataclass(frozen=True)
class MasteryEstimate:
    """P(mastered) with its 80% credible interval and the reasons a person can read.

    ``strength`` is the number of pseudo-observations behind the estimate (see the module
    docstring); ``evidence_count`` counts the pieces of evidence (answers, tests, awards).
    """

    probability: float
    low: float
    high: float
    evidence_count: int
    source: Source
    reasons: list[str] = field(default_factory=list)
    strength: float = PRACTICE_PRIOR_STRENGTH


def _interval(probability: float, strength: float) -> tuple[float, float]:
    p = min(max(probability, _EPS), 1.0 - _EPS)
    tail = (1.0 - INTERVAL) / 2.0
    low, high = beta_dist.ppf([tail, 1.0 - tail], p * strength, (1.0 - p) * strength)
    # The interval always contains the point estimate, even where Beta quantiles of a very skewed
    # distribution round past it.
    return min(float(low), probability), max(float(high), probability)


def _estimate(
    probability: float, strength: float, count: int, source: Source, reasons: list[str]
) -> MasteryEstimate:
    low, high = _interval(probability, strength)
    return MasteryEstimate(
        probability=float(probability),
        low=low,
        high=high,
        evidence_count=count,
        source=source,
        reasons=reasons,
        strength=float(strength),
    )


# --- Knowledge tracing -------------------------------------------------------------------------


def _step(params: BKTParams, p: float, correct: float) -> float:
    """P(mastered) before the next answer, from P(mastered) before this one and its outcome."""
    right = p * (1.0 - params.p_slip)
    wrong = (1.0 - p) * params.p_guess
    if correct:
        seen, other = right, wrong
    else:
        seen, other = p * params.p_slip, (1.0 - p) * (1.0 - params.p_guess)
    total = seen + other
    # Both terms can be 0 only with degenerate parameters (e.g. slip 0 and a certain learner
    # answering wrong); the answer then carries no usable information.
    filtered = seen / total if total > 0 else p
    return filtered * (1.0 - params.p_forget) + (1.0 - filtered) * params.p_learn


def predict_next(params: BKTParams, answers: Sequence[int | bool]) -> np.ndarray:
    """P(correct) before each answer, given the answers before it (same learner and skill)."""
    values = _check_answers(answers)
    out = np.empty(values.size)
    p = params.p_init
    for i, correct in enumerate(values):
        out[i] = p * (1.0 - params.p_slip) + (1.0 - p) * params.p_guess
        p = _step(params, p, correct)
    return out


def posterior(params: BKTParams, answers: Sequence[int | bool]) -> float:
    """P(mastered) after the answers, including the chance to learn from the last one.

    This is the knowledge state BKT would use to predict the next answer; with no answers it is
    ``p_init``.
    """
    p = params.p_init
    for correct in _check_answers(answers):
        p = _step(params, p, correct)
    return float(p)


def from_practice(params: BKTParams, answers: Sequence[int | bool]) -> MasteryEstimate:
    """The practice estimate: BKT's posterior, with a Beta interval over answers + prior."""
    values = _check_answers(answers)
    p = posterior(params, values.astype(int).tolist())
    n, right = int(values.size), int(values.sum())
    reason = (
        f"{n} practice answer{'s' if n != 1 else ''}, {right} correct: "
        f"P(mastered) {p:.2f} by knowledge tracing"
    )
    return _estimate(p, n + PRACTICE_PRIOR_STRENGTH, n, "practice", [reason])


def update_with_answer(
    estimate: MasteryEstimate, correct: int | bool, params: BKTParams = DEFAULT_BKT
) -> MasteryEstimate:
    """One more practice answer on top of any estimate: a BKT step from its probability.

    The answer adds one pseudo-observation, so the interval narrows; an estimate that was not
    practice alone becomes "combined".
    """
    (value,) = _check_answers([correct])
    p = _step(params, estimate.probability, value)
    source: Source = "practice" if estimate.source == "practice" else "combined"
    word = "right" if value else "wrong"
    reason = f"practice answer {word}: P(mastered) {estimate.probability:.2f} -> {p:.2f}"
    return _estimate(
        p,
        estimate.strength + 1.0,
        estimate.evidence_count + 1,
        source,
        [*estimate.reasons, reason],
    )


# --- Other evidence ----------------------------------------------------------------------------


def from_ability(
    theta: float, standard_error: float, cut_theta: float, n_items: int = 0
) -> MasteryEstimate:
    """P(theta > cut) under N(theta, se^2), from an adaptive test's ability estimate.

    Its strength is ``4 / se^2``: a Rasch item answered at the learner's level carries Fisher
    information 1/4, so that is the number of such items the test was worth.
    """
    if not (math.isfinite(theta) and math.isfinite(cut_theta)):
        raise ValueError(f"theta and cut_theta must be finite, got {theta!r}, {cut_theta!r}")
    if not (math.isfinite(standard_error) and standard_error > 0):
        raise ValueError(f"standard_error must be positive, got {standard_error!r}")
    p = float(ndtr((theta - cut_theta) / standard_error))
    reason = (
        f"adaptive test{f' ({n_items} items)' if n_items else ''}: ability {theta:+.2f} "
        f"± {standard_error:.2f} against cut {cut_theta:+.2f}: P(mastered) {p:.2f}"
    )
    return _estimate(p, 4.0 / standard_error**2, max(n_items, 1), "assessment", [reason])


def from_recognition(
    level: float, confidence: Confidence = "medium", assessor: str | None = None
) -> MasteryEstimate:
    """An assessor's recognition of prior learning: ``level`` is their P(mastered).

    The weight is explicit (``RECOGNITION_STRENGTH``, in practice-answer equivalents); the
    assessor's evidence text stays with the caller.
    """
    _check_probability("level", level)
    if confidence not in RECOGNITION_STRENGTH:
        raise ValueError(f"confidence must be low, medium or high, got {confidence!r}")
    strength = RECOGNITION_STRENGTH[confidence]
    who = f" by {assessor}" if assessor else ""
    reason = (
        f"prior learning recognised{who} ({confidence} confidence): P(mastered) {level:.2f}, "
        f"weighted as {strength:g} practice answers"
    )
    return _estimate(float(level), strength, 1, "prior_learning", [reason])


def from_award(credential: str) -> MasteryEstimate:
    """A credential awarded for the skill."""
    reason = f"holds the credential {credential!r}: P(mastered) {AWARD_PROBABILITY:.2f}"
    return _estimate(AWARD_PROBABILITY, AWARD_STRENGTH, 1, "award", [reason])


def combine(estimates: Sequence[MasteryEstimate]) -> MasteryEstimate:
    """Pool estimates from independent evidence by adding their Beta pseudo-counts.

    ``Beta(sum p_i n_i, sum (1 - p_i) n_i)``: the combined probability is the strength-weighted
    mean of the probabilities, its strength the sum of strengths, so the interval narrows as
    evidence adds up and strong evidence (a long practice record, a precise test) outweighs weak.
    The rule ignores time and assumes the pieces do not share evidence: passing the same
    answers twice counts them twice. For practice after a prior, prefer `update_with_answer`.
    """
    if not estimates:
        raise ValueError("combine needs at least one estimate")
    if len(estimates) == 1:
        return estimates[0]
    strength = sum(e.strength for e in estimates)
    p = sum(e.probability * e.strength for e in estimates) / strength
    sources = {e.source for e in estimates}
    source: Source = sources.pop() if len(sources) == 1 else "combined"
    reasons = [r for e in estimates for r in e.reasons]
    reasons.append(f"{len(estimates)} estimates pooled by evidence weight: P(mastered) {p:.2f}")
    return _estimate(p, strength, sum(e.evidence_count for e in estimates), source, reasons)


def is_mastered(estimate: MasteryEstimate, threshold: float = 0.8) -> bool:
    _check_probability("threshold", threshold)
    return estimate.probability >= threshold


# --- EM, vectorised over sequences and skills ---------------------------------------------------


@dataclass(frozen=True)
class _Packed:
    """Sequences laid out time-major for the forward-backward loops.

    Sequences are sorted longest first, so at time t the live ones are the first ``n_t``, and the
    values of step t sit in ``flat[offsets[t]:offsets[t + 1]]``: the Python loop runs over time
    steps only, every step is a slice, and nothing is padded.
    """

    obs: np.ndarray  # answers, time-major
    offsets: np.ndarray  # start of each time step, length T + 1
    seq_group: np.ndarray  # group of each sorted sequence
    group: np.ndarray  # group of each flat position
    has_next: np.ndarray  # whether the sequence goes on after this position
    position: np.ndarray  # flat position of each input answer, in input order
    n_groups: int


def _pack(sequences: Sequence[np.ndarray], groups: np.ndarray, n_groups: int) -> _Packed:
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    order = np.argsort(-lengths, kind="stable")
    sorted_lengths = lengths[order]
    t_max = int(sorted_lengths[0]) if lengths.size else 0
    live = (sorted_lengths[None, :] > np.arange(t_max)[:, None]).sum(axis=1)
    offsets = np.concatenate([[0], np.cumsum(live)]).astype(np.int64)
    # Flat position of answer t of sorted sequence i is offsets[t] + i.
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    seq_of = np.repeat(np.arange(lengths.size), lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if lengths.size else lengths
    t_of = np.arange(int(lengths.sum())) - np.repeat(starts, lengths)
    position = offsets[t_of] + rank[seq_of]
    obs = np.empty(int(lengths.sum()))
    obs[position] = np.concatenate(sequences) if sequences else np.empty(0)
    seq_group = groups[order]
    group = np.empty(obs.size, dtype=np.int64)
    group[position] = groups[seq_of]
    has_next = np.zeros(obs.size, dtype=bool)
    has_next[position] = t_of < lengths[seq_of] - 1
    return _Packed(obs, offsets, seq_group, group, has_next, position, n_groups)


def _forward(
    data: _Packed,
    init: np.ndarray,
    learn: np.ndarray,
    forget: np.ndarray,
    guess: np.ndarray,
    slip: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per position: P(mastered) before the answer, after it, and P(correct) before it.

    Parameter arrays are per group; this filters all sequences of all groups in one pass.
    """
    g = data.seq_group
    s_init, s_learn, s_forget = init[g], learn[g], forget[g]
    s_guess, s_slip = guess[g], slip[g]
    before = np.empty(data.obs.size)
    after = np.empty(data.obs.size)
    p_correct = np.empty(data.obs.size)
    p = s_init
    for t in range(data.offsets.size - 1):
        a, b = data.offsets[t], data.offsets[t + 1]
        n = b - a
        p = p[:n]
        o = data.obs[a:b]
        sl, gu = s_slip[:n], s_guess[:n]
        right = p * (1.0 - sl)
        pc = right + (1.0 - p) * gu
        seen = np.where(o > 0.5, right, p * sl)
        evidence = np.where(o > 0.5, pc, 1.0 - pc)
        # An answer impossible under the parameters (only with degenerate ones, e.g. slip 0)
        # carries no usable information: the state stays where it was, as in `_step`.
        with np.errstate(divide="ignore", invalid="ignore"):
            f = np.where(evidence > 0, seen / evidence, p)
        before[a:b], after[a:b], p_correct[a:b] = p, f, pc
        p = f * (1.0 - s_forget[:n]) + (1.0 - f) * s_learn[:n]
    return before, after, p_correct


def _subset(data: _Packed, keep_group: np.ndarray) -> _Packed:
    """The packed data of the groups marked in ``keep_group`` (sort order, hence layout, kept)."""
    keep_seq = keep_group[data.seq_group]
    keep = keep_group[data.group]
    # Step t keeps the kept sequences among its n_t live ones, still in sort order, so they are
    # again the first ones live at t; steps left with none are all at the end.
    live = np.diff(data.offsets)
    counts = np.cumsum(keep_seq)[live - 1]
    counts = counts[counts > 0]
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return _Packed(
        data.obs[keep],
        offsets,
        data.seq_group[keep_seq],
        data.group[keep],
        data.has_next[keep],
        np.empty(0, dtype=np.int64),  # input order is not needed while fitting
        data.n_groups,
    )


def _em(
    data: _Packed,
    start: np.ndarray,  # (n_groups, 5): init, learn, forget, guess, slip
    forgetting: bool,
    max_iter: int,
    tol: float,
    prior_strength: float,
) -> tuple[np.ndarray, np.ndarray]:
    """MAP-EM for every group at once; returns the parameters and each group's log-likelihood.

    The M-step is the closed-form Baum-Welch update with ``prior_strength`` pseudo-observations
    at `DEFAULT_BKT` (a Beta prior), so skills with a handful of answers stay near typical values
    instead of running to 0 or 1. Each parameter's expected log-likelihood is concave in it
    alone, so clipping guess and slip below 0.5 is the exact constrained M-step.

    A group stops once its log-likelihood gains less than ``tol`` per answer, and its sequences
    leave the packed data: most skills converge in tens of iterations, a few take hundreds, and
    those few should not make everyone pay.
    """
    n_groups = data.n_groups
    params = start.copy()
    d = DEFAULT_BKT
    k = prior_strength
    counts = np.maximum(np.bincount(data.group, minlength=n_groups), 1)
    active = np.ones(n_groups, dtype=bool)
    previous = np.full(n_groups, -np.inf)
    loglik = np.full(n_groups, -np.inf)
    for _ in range(max_iter):
        init, learn, forget, guess, slip = (params[:, j] for j in range(5))
        o, nxt = data.obs, data.has_next
        before, after, p_correct = _forward(data, init, learn, forget, guess, slip)
        current = np.bincount(
            data.group, np.log(np.where(o > 0.5, p_correct, 1.0 - p_correct)), minlength=n_groups
        )
        loglik[active] = current[active]
        # Backward smoothing from the filtered and predicted states (two-state Rauch-Tung-
        # Striebel form): gamma_t = P(mastered at t | whole sequence).
        gamma = after.copy()
        xi_learn = np.zeros(o.size)  # P(unmastered at t, mastered at t+1 | sequence)
        xi_forget = np.zeros(o.size)  # P(mastered at t, unmastered at t+1 | sequence)
        s_learn, s_forget = learn[data.seq_group], forget[data.seq_group]
        for t in range(data.offsets.size - 3, -1, -1):
            a, b = data.offsets[t], data.offsets[t + 1]
            m = data.offsets[t + 2] - b  # sequences that go on to t + 1
            f = after[a : a + m]
            g1 = gamma[b : b + m]
            p1 = np.clip(before[b : b + m], _EPS, 1.0 - _EPS)
            r1, r0 = g1 / p1, (1.0 - g1) / (1.0 - p1)
            lost = f * s_forget[:m] * r0
            xi_learn[a : a + m] = (1.0 - f) * s_learn[:m] * r1
            xi_forget[a : a + m] = lost
            gamma[a : a + m] = f * (1.0 - s_forget[:m]) * r1 + lost
        gamma = np.clip(gamma, 0.0, 1.0)
        unmastered = 1.0 - gamma

        group = data.group

        def total(weights: np.ndarray, group: np.ndarray = group) -> np.ndarray:
            return np.bincount(group, weights, minlength=n_groups)

        n0 = data.offsets[1]
        first = data.seq_group[:n0]
        new = np.empty_like(params)
        new[:, 0] = (np.bincount(first, gamma[:n0], minlength=n_groups) + k * d.p_init) / (
            np.bincount(first, minlength=n_groups) + k
        )
        new[:, 1] = (total(xi_learn) + k * d.p_learn) / (total(unmastered * nxt) + k)
        new[:, 2] = (total(xi_forget) + k * 0.05) / (total(gamma * nxt) + k) if forgetting else 0.0
        new[:, 3] = (total(unmastered * o) + k * d.p_guess) / (total(unmastered) + k)
        new[:, 4] = (total(gamma * (1.0 - o)) + k * d.p_slip) / (total(gamma) + k)
        low = np.array([_EPS, _EPS, 0.0 if not forgetting else _EPS, _EPS, _EPS])
        high = np.array([1 - _EPS, 1 - _EPS, 1 - _EPS, _MAX_GUESS, _MAX_SLIP])
        params[active] = np.clip(new, low, high)[active]
        done = active & (np.abs(current - previous) / counts < tol)
        previous = current
        if done.any():
            active &= ~done
            if not active.any():
                break
            data = _subset(data, active)
    return params, loglik


def _starts(data: _Packed, restarts: int, forgetting: bool, rng: np.random.Generator) -> np.ndarray:
    """Starting points, (restarts, groups, 5): the first from the data, the rest random.

    The data-driven start reads p_init off first answers and puts guess and slip at typical
    values, which lands in the intended (non-degenerate) basin on real data; random restarts
    guard against the rest.
    """
    n_groups = data.n_groups
    n0 = data.offsets[1] if data.offsets.size > 1 else 0
    first = np.bincount(data.seq_group[:n0], data.obs[:n0], minlength=n_groups) / np.maximum(
        np.bincount(data.seq_group[:n0], minlength=n_groups), 1
    )
    d = DEFAULT_BKT
    # First-answer accuracy is p_init (1 - slip) + (1 - p_init) guess; solve for p_init.
    init = np.clip((first - d.p_guess) / (1.0 - d.p_slip - d.p_guess), 0.05, 0.95)
    forget0 = 0.05 if forgetting else 0.0
    out = np.empty((restarts, n_groups, 5))
    out[0] = np.stack(
        [
            init,
            np.full(n_groups, d.p_learn),
            np.full(n_groups, forget0),
            np.full(n_groups, d.p_guess),
            np.full(n_groups, d.p_slip),
        ],
        axis=1,
    )
    for r in range(1, restarts):
        out[r, :, 0] = rng.uniform(0.1, 0.9, n_groups)
        out[r, :, 1] = rng.uniform(0.02, 0.4, n_groups)
        out[r, :, 2] = rng.uniform(0.01, 0.1, n_groups) if forgetting else 0.0
        out[r, :, 3] = rng.uniform(0.05, 0.4, n_groups)
        out[r, :, 4] = rng.uniform(0.05, 0.4, n_groups)
    return out


def _fit_groups(
    sequences: Sequence[np.ndarray],
    groups: np.ndarray,
    n_groups: int,
    *,
    forgetting: bool,
    restarts: int,
    max_iter: int,
    tol: float,
    prior_strength: float,
    seed: int,
) -> np.ndarray:
    """Best-of-restarts parameters per group, (n_groups, 5).

    Restarts run side by side: restart r of group g is group ``r * n_groups + g`` of one bigger
    EM, so they cost one pass over ``restarts`` copies of the data, not ``restarts`` passes.
    """
    if restarts < 1:
        raise ValueError(f"restarts must be at least 1, got {restarts}")
    base = _pack(sequences, groups, n_groups)
    starts = _starts(base, restarts, forgetting, np.random.default_rng(seed))
    copies = list(sequences) * restarts
    copy_groups = np.concatenate([groups + r * n_groups for r in range(restarts)])
    data = _pack(copies, copy_groups, n_groups * restarts)
    params, loglik = _em(data, starts.reshape(-1, 5), forgetting, max_iter, tol, prior_strength)
    best = np.argmax(loglik.reshape(restarts, n_groups), axis=0)
    chosen: np.ndarray = params.reshape(restarts, n_groups, 5)[best, np.arange(n_groups)]
    return chosen


def _to_params(row: np.ndarray, version: str) -> BKTParams:
    init, learn, forget, guess, slip = (float(v) for v in row)
    return BKTParams(init, learn, guess, slip, forget, version=version)


def fit_bkt(
    sequences: Sequence[Sequence[int | bool]],
    *,
    forgetting: bool = False,
    restarts: int = 3,
    max_iter: int = 200,
    tol: float = 1e-6,
    prior_strength: float = 2.0,
    seed: int = 0,
    version: str = "em",
) -> BKTParams:
    """One skill's parameters by EM from learners' answer sequences (each in time order).

    ``tol`` is the change in log-likelihood per answer that counts as converged;
    ``prior_strength`` the pseudo-observations pulling each parameter towards `DEFAULT_BKT`.
    """
    arrays = [_check_answers(s) for s in sequences]
    arrays = [a for a in arrays if a.size]
    if not arrays:
        raise ValueError("fit_bkt needs at least one non-empty answer sequence")
    rows = _fit_groups(
        arrays,
        np.zeros(len(arrays), dtype=np.int64),
        1,
        forgetting=forgetting,
        restarts=restarts,
        max_iter=max_iter,
        tol=tol,
        prior_strength=prior_strength,
        seed=seed,
    )
    return _to_params(rows[0], version)


def _sequences_by_skill(
    rows: Iterable[tuple[Hashable, SkillT, int | bool]],
) -> tuple[list[SkillT], list[np.ndarray], np.ndarray, list[list[int]]]:
    """Group (learner, skill, correct) rows into per-(learner, skill) sequences.

    Returns the skills, the sequences, each sequence's skill index, and each sequence's row
    indices (to put predictions back in row order).
    """
    index: dict[tuple[Hashable, SkillT], int] = {}
    answers: list[list[int]] = []
    row_ids: list[list[int]] = []
    skill_ids: dict[SkillT, int] = {}
    seq_skill: list[int] = []
    for i, (learner, skill, correct) in enumerate(rows):
        if correct not in (0, 1):
            raise ValueError(f"answers must be 0 (wrong) or 1 (right), got {correct!r} in row {i}")
        key = (learner, skill)
        j = index.get(key)
        if j is None:
            j = index[key] = len(answers)
            answers.append([])
            row_ids.append([])
            seq_skill.append(skill_ids.setdefault(skill, len(skill_ids)))
        answers[j].append(int(correct))
        row_ids[j].append(i)
    sequences = [np.asarray(a, dtype=float) for a in answers]
    return list(skill_ids), sequences, np.asarray(seq_skill, dtype=np.int64), row_ids


def fit_bkt_per_skill(
    rows: Iterable[tuple[Hashable, SkillT, int | bool]],
    *,
    forgetting: bool = False,
    restarts: int = 3,
    max_iter: int = 200,
    tol: float = 1e-6,
    prior_strength: float = 2.0,
    seed: int = 0,
    version: str = "em",
) -> dict[SkillT, BKTParams]:
    """Every skill's parameters from a log of (learner, skill, correct) rows in time order.

    All skills are fitted in one vectorised EM (each with its own parameters), which is what
    makes a hundred skills take seconds.
    """
    skills, sequences, seq_skill, _ = _sequences_by_skill(rows)
    if not sequences:
        return {}
    fitted = _fit_groups(
        sequences,
        seq_skill,
        len(skills),
        forgetting=forgetting,
        restarts=restarts,
        max_iter=max_iter,
        tol=tol,
        prior_strength=prior_strength,
        seed=seed,
    )
    return {skill: _to_params(fitted[i], version) for i, skill in enumerate(skills)}


def predict_per_skill(
    params: Mapping[SkillT, BKTParams],
    rows: Iterable[tuple[Hashable, SkillT, int | bool]],
    default: BKTParams = DEFAULT_BKT,
) -> np.ndarray:
    """P(correct) for each (learner, skill, correct) row from that learner's earlier answers on
    the same skill; skills missing from ``params`` use ``default``. Vectorised like the fit."""
    skills, sequences, seq_skill, row_ids = _sequences_by_skill(rows)
    out = np.empty(sum(len(r) for r in row_ids))
    if not sequences:
        return out
    table = np.array(
        [
            [p.p_init, p.p_learn, p.p_forget, p.p_guess, p.p_slip]
            for p in (params.get(s, default) for s in skills)
        ]
    )
    data = _pack(sequences, seq_skill, len(skills))
    _, _, p_correct = _forward(data, *(table[:, k] for k in range(5)))
    out[np.concatenate(row_ids)] = p_correct[data.position]
    return out
