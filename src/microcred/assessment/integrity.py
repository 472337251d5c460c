"""Integrity signals, pure: rapid guessing, improbable response patterns, near-duplicate text.

Each signal produces flags with a reason a person can read. Nothing here decides against a
learner: flags send an attempt to an assessor's review queue, and the assessor decides.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

FlagKind = Literal["rapid_guessing", "person_misfit", "near_duplicate"]


@dataclass(frozen=True, slots=True)
class Flag:
    kind: FlagKind
    reason: str
    evidence: dict[str, object] = field(default_factory=dict)


# --- rapid guessing (response time effort) ----------------------------------------------------


def rapid_guess_thresholds(
    mean_item_seconds: npt.ArrayLike, *, fraction: float = 0.10, cap_seconds: float = 10.0
) -> npt.NDArray[np.float64]:
    """Normative threshold NT10 (Wise & Ma, 2012): 10% of an item's mean response time, at
    most 10 seconds. Faster than this, nobody has read the item."""
    means = np.asarray(mean_item_seconds, dtype=np.float64)
    return np.minimum(means * fraction, cap_seconds)


def rapid_guessing(
    response_seconds: npt.ArrayLike, thresholds: npt.ArrayLike, *, min_effort: float = 0.90
) -> Flag | None:
    """Response time effort (Wise & Kong, 2005): the share of answers given slower than the
    threshold. Below `min_effort` the score says little about what the learner knows."""
    times = np.asarray(response_seconds, dtype=np.float64)
    limits = np.asarray(thresholds, dtype=np.float64)
    if times.shape != limits.shape or times.size == 0:
        raise ValueError("one response time and one threshold per answered item")
    rapid = times < limits
    effort = 1.0 - float(rapid.mean())
    if effort >= min_effort:
        return None
    return Flag(
        "rapid_guessing",
        f"{int(rapid.sum())} of {times.size} answers came faster than anyone can read "
        f"the item (response time effort {effort:.2f} < {min_effort:.2f})",
        {"effort": round(effort, 3), "rapid_items": np.flatnonzero(rapid).tolist()},
    )


# --- person fit ----------------------------------------------------------------------------------


def lz_statistic(responses: npt.ArrayLike, probabilities: npt.ArrayLike) -> float:
    """Standardised log-likelihood person-fit statistic lz (Drasgow, Levine & Williams, 1985).

    `probabilities` are the model's P(correct) for this person's ability on each item. Large
    negative values mean the pattern is improbable (e.g. hard items right, easy ones wrong).
    """
    u = np.asarray(responses, dtype=np.float64)
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-9, 1 - 1e-9)
    if u.shape != p.shape or u.size < 2:
        raise ValueError("one probability per response, and at least two responses")
    log_p, log_q = np.log(p), np.log(1 - p)
    l0 = float(np.sum(u * log_p + (1 - u) * log_q))
    expected = float(np.sum(p * log_p + (1 - p) * log_q))
    variance = float(np.sum(p * (1 - p) * np.log(p / (1 - p)) ** 2))
    return (l0 - expected) / math.sqrt(variance) if variance > 0 else 0.0


def person_misfit(
    responses: npt.ArrayLike, probabilities: npt.ArrayLike, *, critical: float = -1.645
) -> Flag | None:
    """Flag when lz falls below the one-sided 5% critical value."""
    lz = lz_statistic(responses, probabilities)
    if lz >= critical:
        return None
    return Flag(
        "person_misfit",
        f"the pattern of right and wrong answers is improbable for this ability "
        f"(lz = {lz:.2f} < {critical})",
        {"lz": round(lz, 3)},
    )


# --- near-duplicate free text (MinHash with LSH banding) ---------------------------------------

_WORD = re.compile(r"[a-z0-9]+")
# 2**31 - 1: a*x + b stays below 2**62, so the universal hashes run in uint64 without overflow.
_MERSENNE = (1 << 31) - 1


def shingles(text: str, *, size: int = 3) -> set[str]:
    words = _WORD.findall(text.lower())
    if len(words) < size:
        return {" ".join(words)} if words else set()
    return {" ".join(words[i : i + size]) for i in range(len(words) - size + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


class NearDuplicateIndex:
    """Find answers that share most of their word 3-grams with an earlier answer.

    MinHash signatures (`permutations` universal hashes) split into `bands`: two answers
    become candidates when a whole band agrees, and candidates are confirmed by their exact
    Jaccard similarity, so reported pairs are never false positives of the sketch.
    """

    def __init__(
        self, *, threshold: float = 0.8, permutations: int = 128, bands: int = 32, seed: int = 1
    ) -> None:
        if permutations % bands:
            raise ValueError("permutations must be a multiple of bands")
        rng = np.random.default_rng(seed)
        self.a = rng.integers(1, _MERSENNE, size=permutations, dtype=np.uint64)
        self.b = rng.integers(0, _MERSENNE, size=permutations, dtype=np.uint64)
        self.threshold, self.bands, self.rows = threshold, bands, permutations // bands
        self.buckets: list[dict[int, list[str]]] = [defaultdict(list) for _ in range(bands)]
        self.sets: dict[str, set[str]] = {}

    def signature(self, grams: set[str]) -> npt.NDArray[np.uint64]:
        if not grams:
            return np.full(self.a.shape, np.iinfo(np.uint64).max, dtype=np.uint64)
        hashes = np.fromiter(
            (
                int.from_bytes(hashlib.blake2b(g.encode(), digest_size=8).digest(), "big")
                % _MERSENNE
                for g in grams
            ),
            dtype=np.uint64,
            count=len(grams),
        )
        values = (self.a[:, None] * hashes[None, :] + self.b[:, None]) % np.uint64(_MERSENNE)
        result: npt.NDArray[np.uint64] = values.min(axis=1)
        return result

    def band_keys(self, grams: set[str]) -> list[int]:
        """The LSH bucket key of each band of the signature, as a signed 64-bit value a
        database index can hold. Two texts whose keys agree in some band are candidates."""
        signature = self.signature(grams)
        return [
            int.from_bytes(
                hashlib.blake2b(
                    signature[band * self.rows : (band + 1) * self.rows].tobytes(), digest_size=8
                ).digest(),
                "big",
                signed=True,
            )
            for band in range(self.bands)
        ]

    def add(self, answer_id: str, text: str) -> list[tuple[str, float]]:
        """Index an answer; return earlier answers it nearly duplicates, most similar first."""
        grams = shingles(text)
        candidates: set[str] = set()
        for band, key in enumerate(self.band_keys(grams)):
            bucket = self.buckets[band][key]
            candidates.update(bucket)
            bucket.append(answer_id)
        self.sets[answer_id] = grams
        matches = [(other, jaccard(grams, self.sets[other])) for other in candidates]
        return sorted(
            ((o, s) for o, s in matches if s >= self.threshold), key=lambda pair: -pair[1]
        )


_HASHER = NearDuplicateIndex()


def lsh_keys(grams: set[str]) -> list[int]:
    """Band keys with the platform's fixed hash family, so stored fingerprints stay comparable."""
    return _HASHER.band_keys(grams)


MIN_WORDS_TO_COMPARE = 12  # shorter answers coincide honestly ("a left join keeps all rows")


def near_duplicates(
    answers: Iterable[tuple[str, str]], *, threshold: float = 0.8
) -> list[tuple[str, str, float]]:
    """All (later, earlier, similarity) pairs among `(id, text)` answers at or above threshold."""
    index = NearDuplicateIndex(threshold=threshold)
    pairs = []
    for answer_id, text in answers:
        pairs += [(answer_id, other, round(s, 3)) for other, s in index.add(answer_id, text)]
    return pairs


def duplicate_flag(answer_id: str, matches: Sequence[tuple[str, float]]) -> Flag | None:
    if not matches:
        return None
    other, similarity = matches[0]
    return Flag(
        "near_duplicate",
        f"this answer shares {similarity:.0%} of its word sequences with answer {other}",
        {"answer": answer_id, "matches": [m for m, _ in matches]},
    )
