"""Attempt rules, pure: how many attempts, how long between them, how long each may take."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AttemptPolicy:
    max_attempts: int = 3
    cooldown: dt.timedelta = dt.timedelta(hours=24)
    time_limit: dt.timedelta | None = None  # for the whole test
    item_time_limit: dt.timedelta | None = None

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.cooldown < dt.timedelta(0):
            raise ValueError("cooldown cannot be negative")
        for limit in (self.time_limit, self.item_time_limit):
            if limit is not None and limit <= dt.timedelta(0):
                raise ValueError("time limits must be positive")


@dataclass(frozen=True, slots=True)
class PastAttempt:
    started_at: dt.datetime
    finished_at: dt.datetime | None
    passed: bool


@dataclass(frozen=True, slots=True)
class StartDecision:
    allowed: bool
    reason: str
    retry_at: dt.datetime | None = None
    attempt_number: int | None = None


def may_start(
    policy: AttemptPolicy, history: Sequence[PastAttempt], *, now: dt.datetime
) -> StartDecision:
    """Whether a learner may start a new attempt now, and if not why and until when.

    An unfinished attempt is resumed rather than restarted, so it blocks a new one; a passed
    attempt ends the matter (the credential has been awarded).
    """
    if any(a.passed for a in history):
        return StartDecision(False, "already passed: the credential has been awarded")
    if any(a.finished_at is None for a in history):
        return StartDecision(False, "an attempt is in progress: resume it")
    if len(history) >= policy.max_attempts:
        return StartDecision(False, f"all {policy.max_attempts} attempts have been used")
    if history:
        last = max(a.finished_at for a in history if a.finished_at is not None)
        ready = last + policy.cooldown
        if now < ready:
            return StartDecision(
                False, f"the next attempt opens at {ready.isoformat()}", retry_at=ready
            )
    number = len(history) + 1
    return StartDecision(True, f"attempt {number} of {policy.max_attempts}", attempt_number=number)


def deadline(policy: AttemptPolicy, started_at: dt.datetime) -> dt.datetime | None:
    return started_at + policy.time_limit if policy.time_limit else None


def answer_in_time(
    policy: AttemptPolicy,
    *,
    started_at: dt.datetime,
    item_shown_at: dt.datetime,
    now: dt.datetime,
    grace: dt.timedelta = dt.timedelta(seconds=5),
) -> tuple[bool, str]:
    """Whether an answer arriving `now` still counts (with a little grace for the network)."""
    end = deadline(policy, started_at)
    if end is not None and now > end + grace:
        return False, "the time for this assessment is over"
    if policy.item_time_limit is not None and now > item_shown_at + policy.item_time_limit + grace:
        return False, "the time for this item is over"
    return True, "in time"
