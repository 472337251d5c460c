"""Computerised adaptive testing (CAT): pure NumPy, no database, no I/O.

The engine measures one learner at a time on a calibrated item bank (3PL, D = 1):

* **Ability** is the EAP estimate (posterior mean on a fixed quadrature grid, normal prior) and
  its **SE** is the posterior standard deviation. The grid is `policy.quadrature_points` points
  over the prior mean ± 6 prior SDs; with the default 121 points (spacing 0.1 SD) the result
  agrees with a brute-force integral to ~1e-6.
* **Item selection** is maximum Fisher information at the current EAP, restricted, in this
  order, by (1) the items already administered (never again), (2) the items of earlier
  attempts (`exclude`, a retake draws different items while the bank allows it), (3) content
  balancing, (4) Sympson-Hetter exposure control, then (5) randomesque: one item uniformly
  among the `randomesque` most informative that survive.
* **Stopping**: never before `min_items`; always at `max_items`; otherwise when the posterior
  SD reaches `target_se`, or — with a cut score — when the pass/fail decision is made at the
  stated confidence (the confidence interval EAP ± z·SE excludes the cut), which ends clear
  cases early while borderline learners go on to the SE target.
* **Sessions** are a plain, JSON-serialisable `CatState` that the service stores in a row; every
  answer is checked against it (the offered item, not yet answered, current version, session
  not finished) and produces a new state, so a refused answer leaves the state intact.

`simulate` runs many simulees in lock-step with the very same selection and estimation code
(the batch functions below serve both the live path with one learner and the simulation).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from statistics import NormalDist
from typing import Any, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from microcred.assessment import irt

__all__ = [
    "STOP_BANK_EXHAUSTED",
    "STOP_CLASSIFIED",
    "STOP_MAX_ITEMS",
    "STOP_TARGET_SE",
    "CatError",
    "CatPolicy",
    "CatState",
    "Decision",
    "ItemBank",
    "SimulationResult",
    "answer",
    "calibrate_sympson_hetter",
    "decision",
    "next_item",
    "posterior",
    "simulate",
    "start",
    "stop_reason",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

STOP_TARGET_SE = "target_se"
STOP_MAX_ITEMS = "max_items"
STOP_CLASSIFIED = "classified"
STOP_BANK_EXHAUSTED = "bank_exhausted"
# Ended from outside the engine: the attempt's time ran out.
STOP_TIME_LIMIT = "time_limit"
_STOP_REASONS = frozenset(
    {STOP_TARGET_SE, STOP_MAX_ITEMS, STOP_CLASSIFIED, STOP_BANK_EXHAUSTED, STOP_TIME_LIMIT}
)

# Grid half-width in prior SDs: a learner 6 SDs from the prior mean is beyond any real bank.
_GRID_HALF_WIDTH = 6.0
_STATE_SCHEMA = 1


class CatError(ValueError):
    """A refused operation on a CAT session; the message says exactly why, the state is intact."""


# --------------------------------------------------------------------------------------------
# IRT: probabilities and information come from `irt` (3PL, D = 1; theta 1-D against items
# 1-D gives a (len(theta), len(items)) matrix). One helper of our own remains: P for paired
# (θ_i, item_i) vectors, which irt's outer broadcasting does not express.
# --------------------------------------------------------------------------------------------


def _p_pairs(theta: FloatArray, a: FloatArray, b: FloatArray, c: FloatArray) -> FloatArray:
    """P(correct) for the pairs (theta[i], item i): c + (1 - c) logistic(a (θ - b))."""
    # logistic via tanh: overflow-free for any |a (θ - b)|.
    return np.asarray(c + (1.0 - c) * 0.5 * (1.0 + np.tanh(0.5 * a * (theta - b))), np.float64)


# --------------------------------------------------------------------------------------------
# Item bank and policy
# --------------------------------------------------------------------------------------------


def _readonly(values: ArrayLike, dtype: type, name: str, n: int | None) -> NDArray[Any]:
    arr: NDArray[Any] = np.array(values, dtype=dtype, copy=True)
    if arr.ndim == 0 and n is not None:
        arr = np.full(n, arr.item(), dtype=dtype)
    if arr.ndim != 1:
        raise CatError(f"item bank: {name} must be one-dimensional")
    if n is not None and arr.shape[0] != n:
        raise CatError(f"item bank: {name} has {arr.shape[0]} entries, expected {n}")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class ItemBank:
    """A calibrated bank: per item a, b, c (3PL, D = 1), its skill (content area, an int),
    its Sympson-Hetter exposure parameter k in (0, 1] (1 = never withheld) and a stable id.

    Arrays are copied and made read-only. Invariants (checked, `CatError` otherwise): equal
    lengths, at least one item, a > 0, 0 <= c < 1, finite b, 0 < k <= 1, unique ids.
    `digest` fingerprints the ids in order, so a session refuses to continue on a bank whose
    items moved (re-calibrated parameters keep the digest: they do not change what an index is).
    """

    a: FloatArray
    b: FloatArray
    c: FloatArray
    skill: IntArray
    exposure_k: FloatArray | None = None
    ids: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        a = _readonly(self.a, np.float64, "a", None)
        n = a.shape[0]
        if n == 0:
            raise CatError("item bank: it has no items")
        b = _readonly(self.b, np.float64, "b", n)
        c = _readonly(self.c, np.float64, "c", n)
        skill = _readonly(self.skill, np.int64, "skill", n)
        k = _readonly(1.0 if self.exposure_k is None else self.exposure_k, np.float64, "k", n)
        ids = tuple(str(i) for i in range(n)) if self.ids is None else tuple(self.ids)
        if not (np.all(np.isfinite(a)) and np.all(a > 0)):
            raise CatError("item bank: every discrimination a must be finite and > 0")
        if not np.all(np.isfinite(b)):
            raise CatError("item bank: every difficulty b must be finite")
        if not np.all((c >= 0) & (c < 1)):
            raise CatError("item bank: every guessing c must be in [0, 1)")
        if not np.all((k > 0) & (k <= 1)):
            raise CatError("item bank: every exposure parameter k must be in (0, 1]")
        if np.any(skill < 0):
            raise CatError("item bank: skills must be non-negative integers")
        if len(ids) != n or len(set(ids)) != n or not all(isinstance(i, str) for i in ids):
            raise CatError(f"item bank: ids must be {n} unique strings")
        for name, value in (("a", a), ("b", b), ("c", c), ("skill", skill)):
            object.__setattr__(self, name, value)
        object.__setattr__(self, "exposure_k", k)
        object.__setattr__(self, "ids", ids)

    def __len__(self) -> int:
        return int(self.a.shape[0])

    @property
    def k(self) -> FloatArray:
        """Sympson-Hetter parameters, always an array after construction."""
        assert self.exposure_k is not None
        return self.exposure_k

    @cached_property
    def digest(self) -> str:
        """SHA-256 (first 16 hex digits) of the ids in order."""
        assert self.ids is not None
        return hashlib.sha256("\x1f".join(self.ids).encode()).hexdigest()[:16]

    @cached_property
    def n_skills(self) -> int:
        return int(self.skill.max()) + 1

    def with_exposure(self, k: ArrayLike) -> ItemBank:
        """The same bank with Sympson-Hetter parameters `k` (e.g. from calibration)."""
        return replace(self, exposure_k=np.asarray(k, dtype=np.float64))


@dataclass(frozen=True)
class CatPolicy:
    """How a test is run.

    * `target_se`: stop when the posterior SD is at most this (after `min_items`).
    * `min_items` / `max_items`: bounds on test length (`max_items` always stops).
    * `randomesque`: choose uniformly among this many most informative eligible items (1 = pure
      maximum information).
    * `sympson_hetter`: withhold item i with probability 1 - k_i each time it is considered
      (k from `calibrate_sympson_hetter`, stored in the bank).
    * `content_targets`: proportion of items per skill. Kingsbury-Zara: before each item, pick
      the skill whose administered share falls furthest below its target (largest target -
      share; ties to the larger target, then the lower skill number) among skills that still
      have eligible items, and choose within it. Skills absent from the mapping have target 0.
    * `cut_score`, `confidence`: the pass/fail rule: decided when the two-sided `confidence`
      interval EAP ± z·SE (z = Φ⁻¹((1 + confidence) / 2)) lies wholly on one side of the cut.
      When a cut score is set, a decided classification also stops the test (after
      `min_items`). Repeated looks make the nominal level optimistic; see `Decision`.
    * `prior_mean`, `prior_sd`: the normal prior of the EAP; `quadrature_points` its grid size.
    """

    target_se: float = 0.30
    min_items: int = 5
    max_items: int = 40
    randomesque: int = 5
    sympson_hetter: bool = False
    content_targets: Mapping[int, float] | None = None
    cut_score: float | None = None
    confidence: float = 0.95
    prior_mean: float = 0.0
    prior_sd: float = 1.0
    quadrature_points: int = 121

    def __post_init__(self) -> None:
        if not self.target_se > 0:
            raise CatError("policy: target_se must be > 0")
        if not 0 <= self.min_items <= self.max_items or self.max_items < 1:
            raise CatError("policy: need 0 <= min_items <= max_items and max_items >= 1")
        if self.randomesque < 1:
            raise CatError("policy: randomesque must be >= 1")
        if not 0.5 <= self.confidence < 1:
            raise CatError("policy: confidence must be in [0.5, 1)")
        if not (math.isfinite(self.prior_mean) and self.prior_sd > 0):
            raise CatError("policy: the prior needs a finite mean and an SD > 0")
        if self.quadrature_points < 11:
            raise CatError("policy: quadrature_points must be >= 11")
        if self.cut_score is not None and not math.isfinite(self.cut_score):
            raise CatError("policy: cut_score must be finite")
        if self.content_targets is not None:
            targets = dict(self.content_targets)
            if not targets or any(v < 0 for v in targets.values()) or sum(targets.values()) <= 0:
                raise CatError("policy: content_targets need non-negative shares summing to > 0")
            if any(int(s) != s or s < 0 for s in targets):
                raise CatError("policy: content_targets keys are skill numbers (ints >= 0)")

    @property
    def z(self) -> float:
        """Two-sided normal quantile of `confidence` (1.96 at 95 %)."""
        return NormalDist().inv_cdf(0.5 + self.confidence / 2)

    def grid(self) -> FloatArray:
        """EAP quadrature nodes."""
        half = _GRID_HALF_WIDTH * self.prior_sd
        return np.linspace(
            self.prior_mean - half, self.prior_mean + half, self.quadrature_points
        ).astype(np.float64)

    def log_prior(self) -> FloatArray:
        z = (self.grid() - self.prior_mean) / self.prior_sd
        return np.asarray(-0.5 * z * z, dtype=np.float64)

    def target_vector(self, n_skills: int) -> FloatArray | None:
        """Normalised target shares indexed by skill (zeros for unlisted skills)."""
        if self.content_targets is None:
            return None
        size = max(n_skills, *(int(s) + 1 for s in self.content_targets))
        out = np.zeros(size, dtype=np.float64)
        for s, share in self.content_targets.items():
            out[int(s)] = share
        return np.asarray(out / out.sum(), dtype=np.float64)


# --------------------------------------------------------------------------------------------
# Estimation (shared by the live path and the simulation)
# --------------------------------------------------------------------------------------------


def _log_lik_tables(bank: ItemBank, grid: FloatArray) -> tuple[FloatArray, FloatArray]:
    """log P and log Q of every item at every grid node, shape (G, m)."""
    p = np.clip(irt.p_correct(grid, bank.a, bank.b, bank.c), 1e-12, 1 - 1e-12)
    return np.log(p), np.log1p(-p)


def _moments(log_post: FloatArray, grid: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Posterior mean and SD per row of an unnormalised log posterior (n, G)."""
    w = np.exp(log_post - log_post.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    mean = w @ grid
    var = np.maximum(w @ (grid * grid) - mean * mean, 0.0)
    return mean, np.sqrt(var)


def posterior(
    bank: ItemBank, policy: CatPolicy, items: Sequence[int], responses: Sequence[bool]
) -> tuple[float, float]:
    """EAP θ and posterior SD after `responses` (True = correct) to `items` (bank indexes).

    Normal(prior_mean, prior_sd) prior, 3PL likelihood, quadrature on `policy.grid()` (computed
    by `irt.eap`). With no items it returns the prior mean and SD.
    """
    idx = np.asarray(items, dtype=np.int64)
    u = np.asarray(responses, dtype=np.float64)
    if idx.ndim != 1 or u.shape != idx.shape:
        raise CatError("posterior: one response per item is required")
    # irt.eap integrates on the same grid as `policy.grid()` (prior mean ± 6 SD, equally spaced),
    # so it agrees with the batch posterior of `simulate` to rounding.
    theta, sd = irt.eap(
        u,
        bank.a[idx],
        bank.b[idx],
        bank.c[idx],
        prior_mean=policy.prior_mean,
        prior_sd=policy.prior_sd,
        points=policy.quadrature_points,
    )
    return float(theta), float(sd)


# --------------------------------------------------------------------------------------------
# Selection (batch: one row per learner; the live path uses one row)
# --------------------------------------------------------------------------------------------


def _select(
    bank: ItemBank,
    policy: CatPolicy,
    theta: FloatArray,
    available: BoolArray,
    skill_counts: IntArray | None,
    rng: np.random.Generator,
    avoid: BoolArray | None = None,
    k: FloatArray | None = None,
) -> tuple[IntArray, BoolArray | None]:
    """One item per row (-1 when a row has none left) and the items Sympson-Hetter withheld.

    `available` (n, m): not yet administered. `avoid` (n, m): items of earlier attempts and items
    withheld earlier in the session, used only by rows with nothing else available.
    `skill_counts` (n, S): administered items per skill (needed with content targets). `k`
    overrides the bank's Sympson-Hetter parameters. The second value is None without
    Sympson-Hetter, else an (n, m) mask of items newly withheld for the rest of the session.
    """
    n, m = available.shape
    eligible = available
    if avoid is not None:
        preferred = available & ~avoid
        eligible = np.where(preferred.any(axis=1, keepdims=True), preferred, available)

    targets = policy.target_vector(bank.n_skills)
    if targets is not None and skill_counts is not None:
        # Kingsbury-Zara: the skill furthest below its target share goes first.
        n_skills = targets.shape[0]
        skill_of = np.zeros((n, n_skills), dtype=np.int64)
        np.add.at(skill_of, (np.nonzero(eligible)[0], bank.skill[np.nonzero(eligible)[1]]), 1)
        given = np.maximum(skill_counts.sum(axis=1, keepdims=True), 1)
        counts = np.zeros((n, n_skills), dtype=np.float64)
        counts[:, : skill_counts.shape[1]] = skill_counts
        # The tiny target term breaks ties toward the larger target.
        deficit = targets[None, :] - counts / given + 1e-9 * targets[None, :]
        deficit = np.where(skill_of > 0, deficit, -np.inf)
        chosen = deficit.argmax(axis=1)
        in_skill = eligible & (bank.skill[None, :] == chosen[:, None])
        eligible = np.where(in_skill.any(axis=1, keepdims=True), in_skill, eligible)

    info = irt.item_information(theta, bank.a, bank.b, bank.c)
    top_k = min(policy.randomesque, m)
    withheld: BoolArray | None = None
    if policy.sympson_hetter:
        # Classic Sympson-Hetter: walk down the information order, accepting item i with
        # probability k_i; items passed over are withheld for the rest of the session (so each
        # is considered at most once until given, which makes P(A) = k P(S) hold and the
        # calibration converge). Independent draws per item express the walk in one step: the
        # walk stops at the `top_k`-th accepted item, and everything more informative that was
        # refused on the way is withheld. A row where every candidate is refused falls back to
        # its candidates without exposure control (a test must not stall).
        kk = bank.k if k is None else k
        passed = eligible & (rng.random((n, m)) < kk[None, :])
        passed_score = np.where(passed, info, -np.inf)
        if top_k < m:
            kth = -np.partition(-passed_score, top_k - 1, axis=1)[:, top_k - 1]
        else:
            kth = passed_score.min(axis=1)
        withheld = eligible & ~passed & (info > kth[:, None])
        eligible = np.where(passed.any(axis=1, keepdims=True), passed, eligible)
        withheld &= passed.any(axis=1, keepdims=True)

    score = np.where(eligible, info, -np.inf)
    if top_k == 1:
        best = score.argmax(axis=1)
        ok = np.isfinite(score[np.arange(n), best])
        return np.where(ok, best, -1).astype(np.int64), withheld
    top = np.argpartition(-score, top_k - 1, axis=1)[:, :top_k]
    valid = np.isfinite(np.take_along_axis(score, top, axis=1))
    draw = np.where(valid, rng.random((n, top_k)), -1.0)
    col = draw.argmax(axis=1)
    pick = top[np.arange(n), col]
    return np.where(valid.any(axis=1), pick, -1).astype(np.int64), withheld


# --------------------------------------------------------------------------------------------
# Sessions
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CatState:
    """A session, persisted between requests as `to_dict()` (plain JSON types).

    * `version`: incremented by every accepted answer; an answer carrying another version (a
      second tab, a replayed form) is refused.
    * `administered` / `responses`: item indexes in the order given and their scores.
    * `theta`, `se`: EAP and posterior SD after those responses.
    * `offered`: the item now shown (None once the session has stopped).
    * `stopped`: the stop reason once finished (see `stop_reason`), else None.
    * `excluded`: items of earlier attempts (avoided while the bank allows it).
    * `withheld`: items Sympson-Hetter withheld in this session (avoided likewise).
    * `bank_digest`: `ItemBank.digest` of the bank the session runs on.
    """

    version: int
    administered: tuple[int, ...]
    responses: tuple[bool, ...]
    theta: float
    se: float
    offered: int | None
    stopped: str | None
    excluded: tuple[int, ...]
    bank_digest: str
    withheld: tuple[int, ...] = ()
    schema: int = field(default=_STATE_SCHEMA)

    @property
    def finished(self) -> bool:
        return self.stopped is not None

    @property
    def n_items(self) -> int:
        return len(self.administered)

    def to_dict(self) -> dict[str, Any]:
        """JSON-compatible dict (ints, floats, bools, strings, lists, None)."""
        return {
            "schema": self.schema,
            "version": self.version,
            "administered": list(self.administered),
            "responses": list(self.responses),
            "theta": self.theta,
            "se": self.se,
            "offered": self.offered,
            "stopped": self.stopped,
            "excluded": list(self.excluded),
            "withheld": list(self.withheld),
            "bank_digest": self.bank_digest,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CatState:
        """Rebuild a state, refusing (`CatError`) anything `to_dict` would not have written."""
        expected = {
            "schema",
            "version",
            "administered",
            "responses",
            "theta",
            "se",
            "offered",
            "stopped",
            "excluded",
            "withheld",
            "bank_digest",
        }
        if not isinstance(data, Mapping) or set(data) != expected:
            raise CatError(f"session state: expected exactly the keys {sorted(expected)}")
        if data["schema"] != _STATE_SCHEMA:
            raise CatError(f"session state: unknown schema {data['schema']!r}")

        def as_int(value: object, what: str) -> int:
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise CatError(f"session state: {what} must be a non-negative integer")
            return value

        def as_float(value: object, what: str) -> float:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise CatError(f"session state: {what} must be a number")
            if not math.isfinite(value):
                raise CatError(f"session state: {what} must be finite")
            return float(value)

        def int_list(value: object, what: str) -> tuple[int, ...]:
            if not isinstance(value, list):
                raise CatError(f"session state: {what} must be a list")
            return tuple(as_int(v, f"each of {what}") for v in value)

        administered = int_list(data["administered"], "administered")
        raw = data["responses"]
        if not isinstance(raw, list) or not all(isinstance(r, bool) for r in raw):
            raise CatError("session state: responses must be a list of booleans")
        if len(raw) != len(administered):
            raise CatError("session state: one response per administered item is required")
        if len(set(administered)) != len(administered):
            raise CatError("session state: an item appears twice in administered")
        offered = None if data["offered"] is None else as_int(data["offered"], "offered")
        stopped = data["stopped"]
        if stopped is not None and stopped not in _STOP_REASONS:
            raise CatError(f"session state: unknown stop reason {stopped!r}")
        if (offered is None) == (stopped is None):
            raise CatError("session state: exactly one of offered and stopped must be set")
        if offered is not None and offered in administered:
            raise CatError("session state: the offered item was already administered")
        version = as_int(data["version"], "version")
        if version != len(administered):
            raise CatError("session state: version does not match the number of answers")
        se = as_float(data["se"], "se")
        if se <= 0:
            raise CatError("session state: se must be > 0")
        digest = data["bank_digest"]
        if not isinstance(digest, str) or not digest:
            raise CatError("session state: bank_digest must be a non-empty string")
        return cls(
            version=version,
            administered=administered,
            responses=tuple(raw),
            theta=as_float(data["theta"], "theta"),
            se=se,
            offered=offered,
            stopped=stopped,
            excluded=int_list(data["excluded"], "excluded"),
            bank_digest=digest,
            withheld=int_list(data["withheld"], "withheld"),
        )


def _check_bank(state: CatState, bank: ItemBank) -> None:
    if state.bank_digest != bank.digest:
        raise CatError("the item bank changed since this session started; it cannot continue")
    m = len(bank)
    if any(i >= m for i in (*state.administered, *state.excluded, *state.withheld)) or (
        state.offered is not None and state.offered >= m
    ):
        raise CatError("session state refers to items outside the bank")


def _choose(
    state: CatState, bank: ItemBank, policy: CatPolicy, rng: np.random.Generator
) -> tuple[int | None, tuple[int, ...]]:
    """The next item and the session's withheld items after choosing it."""
    m = len(bank)
    available = np.ones((1, m), dtype=bool)
    available[0, list(state.administered)] = False
    avoid = None
    if state.excluded or state.withheld:
        avoid = np.zeros((1, m), dtype=bool)
        avoid[0, [*state.excluded, *state.withheld]] = True
    counts = None
    if policy.content_targets is not None:
        counts = np.bincount(bank.skill[list(state.administered)], minlength=bank.n_skills).reshape(
            1, -1
        )
    picks, newly = _select(
        bank, policy, np.array([state.theta]), available, counts, rng, avoid=avoid
    )
    withheld = state.withheld
    if newly is not None and newly.any():
        withheld = tuple(sorted({*withheld, *np.flatnonzero(newly[0]).tolist()}))
    pick = int(picks[0])
    return (None if pick < 0 else pick), withheld


def next_item(
    state: CatState, bank: ItemBank, policy: CatPolicy, rng: np.random.Generator
) -> int | None:
    """The item to offer after `state` (ignoring `state.offered`), or None if none is left.

    Maximum information at `state.theta` among items not administered in this session, avoiding
    `state.excluded` and `state.withheld` while others remain, with content balancing,
    Sympson-Hetter (if enabled) and randomesque as described on `CatPolicy`. O(m) vectorised
    work: well under a millisecond for a 5,000-item bank. (`start` and `answer` also record
    the items Sympson-Hetter withheld on the way; this function only reports the choice.)
    """
    return _choose(state, bank, policy, rng)[0]


def start(
    bank: ItemBank,
    policy: CatPolicy,
    rng: np.random.Generator,
    *,
    exclude: Sequence[int] | frozenset[int] | set[int] = frozenset(),
) -> CatState:
    """A new session with its first item offered (chosen at the prior mean, with randomesque).

    `exclude`: indexes administered in earlier attempts of the same learner. They are not offered
    while any other item is eligible (so a retake draws different items whenever the bank has
    `max_items` others); only a bank too small to avoid them reuses them.
    """
    excluded = tuple(sorted({int(i) for i in exclude}))
    if any(i < 0 or i >= len(bank) for i in excluded):
        raise CatError("exclude: item index outside the bank")
    _, se0 = posterior(bank, policy, (), ())
    state = CatState(
        version=0,
        administered=(),
        responses=(),
        theta=policy.prior_mean,
        se=se0,
        offered=None,
        stopped=None,
        excluded=excluded,
        bank_digest=bank.digest,
    )
    first, withheld = _choose(state, bank, policy, rng)
    if first is None:  # pragma: no cover - a bank has at least one item
        return replace(state, stopped=STOP_BANK_EXHAUSTED)
    return replace(state, offered=first, withheld=withheld)


def answer(
    state: CatState,
    bank: ItemBank,
    policy: CatPolicy,
    *,
    item_index: int,
    correct: bool,
    expected_version: int,
    rng: np.random.Generator,
) -> CatState:
    """Record the answer to the offered item; return the new state (the old one is unchanged).

    Refusals (`CatError`), checked in this order: the session has finished; the item was
    already answered (a resubmission); `expected_version` is not the current version (a stale
    tab or replayed form); the item is not the one offered. On success θ and SE are updated,
    the stopping rules applied, and either the next item offered or the session finished.
    """
    if isinstance(item_index, bool) or not isinstance(item_index, int | np.integer):
        raise CatError("item_index must be an integer")
    if not isinstance(correct, bool | np.bool_):
        raise CatError("correct must be a boolean")
    _check_bank(state, bank)
    item = int(item_index)
    if state.finished:
        raise CatError(f"the session has finished ({state.stopped}); no more answers are accepted")
    if item in state.administered:
        raise CatError(f"item {item} was already answered; answers cannot be changed")
    if expected_version != state.version:
        raise CatError(
            f"stale session version {expected_version} (current is {state.version}): "
            "this page is out of date, reload it"
        )
    if item != state.offered:
        raise CatError(f"item {item} is not the item offered in this session")
    administered = (*state.administered, item)
    responses = (*state.responses, bool(correct))
    theta, se = posterior(bank, policy, administered, responses)
    new = replace(
        state,
        version=state.version + 1,
        administered=administered,
        responses=responses,
        theta=theta,
        se=se,
        offered=None,
    )
    reason = stop_reason(new, policy)
    if reason is not None:
        return replace(new, stopped=reason)
    nxt, withheld = _choose(new, bank, policy, rng)
    if nxt is None:
        return replace(new, stopped=STOP_BANK_EXHAUSTED)
    return replace(new, offered=nxt, withheld=withheld)


def end(state: CatState, reason: str = STOP_TIME_LIMIT) -> CatState:
    """Stop a running session from outside (time limit): no further item, same estimate."""
    if reason not in _STOP_REASONS:
        raise CatError(f"unknown stop reason {reason!r}")
    if state.finished:
        return state
    return replace(state, offered=None, stopped=reason)


def _classified(theta: FloatArray, se: FloatArray, policy: CatPolicy) -> BoolArray:
    if policy.cut_score is None:
        return np.zeros(theta.shape, dtype=bool)
    return np.asarray(np.abs(theta - policy.cut_score) > policy.z * se, dtype=bool)


def _stop_codes(n: IntArray, theta: FloatArray, se: FloatArray, policy: CatPolicy) -> IntArray:
    """0 = go on, 1 = max_items, 2 = classified, 3 = target_se (first applicable wins)."""
    past_min = n >= policy.min_items
    code = np.zeros(n.shape, dtype=np.int64)
    code = np.where(past_min & (se <= policy.target_se), 3, code)
    code = np.where(past_min & _classified(theta, se, policy), 2, code)
    return np.where(n >= policy.max_items, 1, code)


_CODE_REASON = {1: STOP_MAX_ITEMS, 2: STOP_CLASSIFIED, 3: STOP_TARGET_SE}


def stop_reason(state: CatState, policy: CatPolicy) -> str | None:
    """Why the session stops now, or None to go on.

    `max_items` reached; else (only from `min_items` on) `classified` — with a cut score, the
    `confidence` interval excludes it — or `target_se` — the posterior SD is at most
    `target_se`. A finished state keeps its reason (including `bank_exhausted`).
    """
    if state.stopped is not None:
        return state.stopped
    code = _stop_codes(
        np.array([state.n_items]), np.array([state.theta]), np.array([state.se]), policy
    )
    return _CODE_REASON.get(int(code[0]))


@dataclass(frozen=True)
class Decision:
    """The outcome against the cut score, with how sure it is.

    `outcome` is "pass"/"fail" when the two-sided `confidence` interval [`low`, `high`] lies
    wholly above/below `cut_score`, else "undecided" (also when no cut score is set).
    `probability_above_cut` is the normal approximation of the posterior P(θ >= cut).
    The interval is re-examined after every item, so its coverage is nominal per look, not
    for the whole test; the simulation (`SimulationResult.accuracy`) measures the real rate.
    """

    outcome: Literal["pass", "fail", "undecided"]
    theta: float
    se: float
    n_items: int
    confidence: float
    low: float
    high: float
    cut_score: float | None
    probability_above_cut: float | None
    statement: str


def decision(state: CatState, policy: CatPolicy) -> Decision:
    """Pass/fail/undecided at `policy.confidence`, with θ, SE, item count and a sentence."""
    z = policy.z
    low, high = state.theta - z * state.se, state.theta + z * state.se
    pct = f"{policy.confidence:.0%}"
    interval = f"{pct} interval for ability {low:.2f} to {high:.2f}"
    measured = f"θ = {state.theta:.2f} (SE {state.se:.2f}) after {state.n_items} items"
    cut = policy.cut_score
    outcome: Literal["pass", "fail", "undecided"]
    if cut is None:
        outcome, prob = "undecided", None
        statement = f"No cut score is set; {measured}, {interval}."
    else:
        prob = NormalDist(state.theta, state.se).cdf(cut)
        prob = 1.0 - prob
        if low > cut:
            outcome = "pass"
            statement = f"Pass: the {interval} lies above the cut score {cut:.2f}; {measured}."
        elif high < cut:
            outcome = "fail"
            statement = f"Fail: the {interval} lies below the cut score {cut:.2f}; {measured}."
        else:
            outcome = "undecided"
            statement = (
                f"Undecided at {pct}: the {interval} contains the cut score {cut:.2f} "
                f"(probability above it {prob:.2f}); {measured}."
            )
    return Decision(
        outcome=outcome,
        theta=state.theta,
        se=state.se,
        n_items=state.n_items,
        confidence=policy.confidence,
        low=low,
        high=high,
        cut_score=cut,
        probability_above_cut=prob,
        statement=statement,
    )


# --------------------------------------------------------------------------------------------
# Simulation and Sympson-Hetter calibration
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimulationResult:
    """Outcome of `simulate` for n simulees on an m-item bank.

    Per simulee: `lengths`, `theta_hat`, `se`, `stop_reasons`. Summary: `mean_length`,
    `max_length`, `rmse`, `bias` (mean of θ̂ - θ), `accuracy` (share classified on the right side
    of the cut by the point estimate, None without a cut score), `undecided` (share whose
    confidence interval still contains the cut at the end). Per item: `exposure` (share of
    simulees who saw it) and its maximum, `max_exposure`.
    """

    true_theta: FloatArray
    theta_hat: FloatArray
    se: FloatArray
    lengths: IntArray
    stop_reasons: tuple[str, ...]
    exposure: FloatArray
    mean_length: float
    max_length: int
    rmse: float
    bias: float
    accuracy: float | None
    undecided: float | None
    max_exposure: float

    def se_quantiles(self) -> dict[str, float]:
        """Distribution of the final SE: min, p50, p90, max."""
        q = np.quantile(self.se, [0.0, 0.5, 0.9, 1.0])
        return {"min": float(q[0]), "p50": float(q[1]), "p90": float(q[2]), "max": float(q[3])}


def simulate(
    bank: ItemBank,
    policy: CatPolicy,
    true_thetas: ArrayLike,
    rng: np.random.Generator,
    *,
    k: FloatArray | None = None,
) -> SimulationResult:
    """Run one adaptive test per true θ (responses drawn from the 3PL), all in lock-step.

    Same selection, estimation and stopping as `start`/`answer` (shared code), vectorised over
    simulees: each step selects for every active simulee at once and updates a log-posterior
    grid per simulee. `k` overrides the bank's Sympson-Hetter parameters (for calibration).
    """
    true = np.asarray(true_thetas, dtype=np.float64).ravel()
    n, m = true.shape[0], len(bank)
    grid = policy.grid()
    log_p, log_q = _log_lik_tables(bank, grid)
    log_post = np.tile(policy.log_prior(), (n, 1))
    theta, se = _moments(log_post, grid)
    available = np.ones((n, m), dtype=bool)
    withheld = np.zeros((n, m), dtype=bool)
    counts = np.zeros((n, bank.n_skills), dtype=np.int64)
    lengths = np.zeros(n, dtype=np.int64)
    code = np.zeros(n, dtype=np.int64)
    uses = np.zeros(m, dtype=np.int64)
    p_true_cache: FloatArray | None = None
    if n * m <= 20_000_000:
        p_true_cache = irt.p_correct(true, bank.a, bank.b, bank.c)
    track_skills = policy.content_targets is not None
    while True:
        active = np.flatnonzero(code == 0)
        if active.size == 0:
            break
        picks, newly = _select(
            bank,
            policy,
            theta[active],
            available[active],
            counts[active] if track_skills else None,
            rng,
            avoid=withheld[active] if policy.sympson_hetter else None,
            k=k,
        )
        if newly is not None:
            withheld[active] |= newly
        exhausted = picks < 0
        code[active[exhausted]] = 4
        active, picks = active[~exhausted], picks[~exhausted]
        if active.size == 0:
            break
        if p_true_cache is not None:
            p_true = p_true_cache[active, picks]
        else:
            p_true = _p_pairs(true[active], bank.a[picks], bank.b[picks], bank.c[picks])
        correct = rng.random(active.size) < p_true
        available[active, picks] = False
        if track_skills:
            counts[active, bank.skill[picks]] += 1
        np.add.at(uses, picks, 1)
        lengths[active] += 1
        log_post[active] += np.where(correct[:, None], log_p[:, picks].T, log_q[:, picks].T)
        theta[active], se[active] = _moments(log_post[active], grid)
        code[active] = _stop_codes(lengths[active], theta[active], se[active], policy)

    reasons = tuple(STOP_BANK_EXHAUSTED if c == 4 else _CODE_REASON[int(c)] for c in code.tolist())
    err = theta - true
    accuracy = undecided = None
    if policy.cut_score is not None:
        accuracy = float(np.mean((theta >= policy.cut_score) == (true >= policy.cut_score)))
        undecided = float(np.mean(~_classified(theta, se, policy)))
    exposure = uses / max(n, 1)
    return SimulationResult(
        true_theta=true,
        theta_hat=theta,
        se=se,
        lengths=lengths,
        stop_reasons=reasons,
        exposure=exposure.astype(np.float64),
        mean_length=float(lengths.mean()),
        max_length=int(lengths.max()),
        rmse=float(np.sqrt(np.mean(err**2))),
        bias=float(err.mean()),
        accuracy=accuracy,
        undecided=undecided,
        max_exposure=float(exposure.max()),
    )


def calibrate_sympson_hetter(
    bank: ItemBank,
    policy: CatPolicy,
    *,
    r_max: float = 0.25,
    simulees: ArrayLike | int = 2000,
    iterations: int = 12,
    rng: np.random.Generator,
) -> FloatArray:
    """Sympson-Hetter exposure parameters k so that no item is administered to more than
    `r_max` of the population (in simulation). Store them with `bank.with_exposure(k)`.

    The iterative procedure of Sympson & Hetter (1985): start with k = 1, simulate the
    population with the policy (Sympson-Hetter on), estimate each item's administration rate
    P(A_i) and adjust k, repeat. The classic update k_i = r_max / P(S_i) (P(S_i) = P(A_i) / k_i,
    the selection rate), reset to 1 wherever P(S_i) <= r_max, oscillates: items flip between
    constrained and free, and we measured a stable maximum exposure of ~0.28 for r_max = 0.25.
    We use the damped form with the same fixed point, k_i ← min(1, k_i · r_max / P(A_i)), and
    return the geometric mean of k over the second half of the iterations to average out
    simulation noise.

    `simulees`: the true θs to simulate, or a count drawn from N(prior_mean, prior_sd). Realised
    exposures in another sample of n learners scatter by ~sqrt(r (1 - r) / n) around r_max (±0.02
    at n = 500), so calibrate below the limit you must respect in every sample.
    """
    if not 0 < r_max <= 1:
        raise CatError("r_max must be in (0, 1]")
    if iterations < 1:
        raise CatError("iterations must be >= 1")
    if isinstance(simulees, int):
        thetas = rng.normal(policy.prior_mean, policy.prior_sd, simulees)
    else:
        thetas = np.asarray(simulees, dtype=np.float64)
    sh_policy = replace(policy, sympson_hetter=True)
    k = np.ones(len(bank), dtype=np.float64)
    kept: list[FloatArray] = []
    for it in range(iterations):
        exposure = simulate(bank, sh_policy, thetas, rng, k=k).exposure
        k = np.clip(k * r_max / np.maximum(exposure, 1e-12), 1e-3, 1.0)
        if it >= iterations // 2:
            kept.append(np.log(k))
    return np.asarray(np.exp(np.mean(kept, axis=0)), dtype=np.float64)
