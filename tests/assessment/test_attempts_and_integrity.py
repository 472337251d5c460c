from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from microcred.assessment import attempts, integrity

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
POLICY = attempts.AttemptPolicy(
    max_attempts=2,
    cooldown=dt.timedelta(hours=24),
    time_limit=dt.timedelta(minutes=30),
    item_time_limit=dt.timedelta(minutes=3),
)


def failed(hours_ago: float) -> attempts.PastAttempt:
    end = NOW - dt.timedelta(hours=hours_ago)
    return attempts.PastAttempt(end - dt.timedelta(minutes=20), end, passed=False)


def test_attempt_rules() -> None:
    assert attempts.may_start(POLICY, [], now=NOW).attempt_number == 1
    waiting = attempts.may_start(POLICY, [failed(2)], now=NOW)
    assert not waiting.allowed and waiting.retry_at == NOW + dt.timedelta(hours=22)
    assert attempts.may_start(POLICY, [failed(25)], now=NOW).attempt_number == 2
    used = attempts.may_start(POLICY, [failed(80), failed(50)], now=NOW)
    assert not used.allowed and "2 attempts" in used.reason
    running = [attempts.PastAttempt(NOW, None, passed=False)]
    assert "resume" in attempts.may_start(POLICY, running, now=NOW).reason
    passed = [attempts.PastAttempt(NOW, NOW, passed=True)]
    assert "already passed" in attempts.may_start(POLICY, passed, now=NOW).reason
    with pytest.raises(ValueError):
        attempts.AttemptPolicy(max_attempts=0)


def test_time_limits_with_grace() -> None:
    shown = NOW + dt.timedelta(minutes=10)
    assert attempts.answer_in_time(
        POLICY, started_at=NOW, item_shown_at=shown, now=shown + dt.timedelta(minutes=2)
    )[0]
    late_item = attempts.answer_in_time(
        POLICY, started_at=NOW, item_shown_at=shown, now=shown + dt.timedelta(minutes=4)
    )
    assert late_item == (False, "the time for this item is over")
    over = attempts.answer_in_time(
        POLICY, started_at=NOW, item_shown_at=NOW, now=NOW + dt.timedelta(minutes=31)
    )
    assert over == (False, "the time for this assessment is over")


def test_rapid_guessing_flags_low_effort_only() -> None:
    thresholds = integrity.rapid_guess_thresholds([40, 60, 200, 30, 50] * 4)
    assert thresholds[2] == 10.0  # capped
    careful = integrity.rapid_guessing([30, 45, 120, 20, 40] * 4, thresholds)
    assert careful is None
    hasty = integrity.rapid_guessing([1, 2, 3, 20, 1] * 4, thresholds)
    assert hasty is not None and hasty.kind == "rapid_guessing"
    assert "16 of 20" in hasty.reason
    with pytest.raises(ValueError):
        integrity.rapid_guessing([1, 2], [1])


def test_lz_matches_the_formula_and_flags_reversed_patterns() -> None:
    p = np.array([0.9, 0.8, 0.7, 0.5, 0.3, 0.2])
    u = np.array([1, 1, 1, 0, 0, 0])
    # Hand computation of Drasgow's lz for this case.
    l0 = np.sum(u * np.log(p) + (1 - u) * np.log(1 - p))
    e = np.sum(p * np.log(p) + (1 - p) * np.log(1 - p))
    v = np.sum(p * (1 - p) * np.log(p / (1 - p)) ** 2)
    assert integrity.lz_statistic(u, p) == pytest.approx((l0 - e) / np.sqrt(v))
    assert integrity.person_misfit(u, p) is None
    reversed_pattern = integrity.person_misfit(1 - u, p)
    assert reversed_pattern is not None and reversed_pattern.evidence["lz"] < -1.645


def test_near_duplicates_are_found_and_distinct_answers_are_not() -> None:
    base = (
        "A join combines rows from two tables using a related column, for example the "
        "customer id in orders and in customers, and an inner join keeps only matches."
    )
    copied = base.replace("for example", "e.g.")  # light paraphrase
    own = (
        "Group by collects rows with the same values so aggregates like count or sum can "
        "be computed per group, and having filters those groups afterwards."
    )
    pairs = integrity.near_duplicates([("a1", base), ("a2", own), ("a3", copied)], threshold=0.7)
    assert [(later, earlier) for later, earlier, _ in pairs] == [("a3", "a1")]
    index = integrity.NearDuplicateIndex(threshold=0.7)
    index.add("a1", base)
    flag = integrity.duplicate_flag("a3", index.add("a3", copied))
    assert flag is not None and "a1" in flag.reason


def test_minhash_estimates_jaccard() -> None:
    rng = np.random.default_rng(3)
    vocabulary = [f"w{i}" for i in range(400)]
    index = integrity.NearDuplicateIndex(permutations=256, bands=32)
    for _ in range(5):
        a = {str(w) for w in rng.choice(vocabulary, 120, replace=False)}
        b = set(list(a)[:80]) | {str(w) for w in rng.choice(vocabulary, 40, replace=False)}
        sa, sb = index.signature(a), index.signature(b)
        estimate = float(np.mean(sa == sb))
        assert estimate == pytest.approx(integrity.jaccard(a, b), abs=0.12)
