"""Rubric-aware baseline grading of short-text answers: instant, offline, explainable, honest.

A rubric lists criteria; each is worth points and is met when the answer expresses one of the
criterion's accepted *concepts* (short phrasings written by the assessor), unless it also states
one of the criterion's *misconceptions*. The grader finds each concept in the answer by words,
not by meaning:

1. Normalise every character on its own (compatibility decomposition, accents dropped,
   casefolded, curly quotes and dashes mapped), keeping for each normalised character the
   index of the original one, so that evidence is always an exact slice of what the learner
   typed. Decomposing per character and dropping the marks is, for matching, the same as
   NFKC + casefold + accent stripping, and it keeps offsets trivial.
2. Tokenise into words; drop a short list of English function words ("the", "is", "of" ...)
   but never a negation; reduce the rest with a small suffix-stripping stemmer (plurals,
   -ed, -ing, -ly, and -er/-est only for a closed list of common adjectives, because "filter",
   "server" and "pointer" are not comparatives). "every"/"each" count as "all", and
   "just"/"merely" as "only"; contractions such as "doesn't" and "can't" count as "not".
3. A concept matches when each of its content words is found, by stem or, for words of five
   letters or more, within a Damerau-Levenshtein distance of 1 (2 from nine letters) - within
   one clause and a window of at most (number of concept words + 4) content words. Word
   order may differ. Stemmed, misspelt, reordered and spread-out matches lower the
   confidence; only an in-order, contiguous, letter-for-letter match scores 1.
4. A negation cue ("not", "no", "never", "without", "n't" ...) within three content words before
   the match, or inside it, and not part of the concept, voids the match. "not only X" does not
   negate X unless "only" is itself part of the phrase; "No, ..." as an interjection is no cue,
   nor is a capitalised "None" mid-sentence (Python's value, as in "default to None").
5. A misconception is found the same way; stated (and not negated) it cancels the criterion.
6. The grade's confidence is the probability that the correct/incorrect decision would stand
   if each criterion's result were wrong with probability (1 - its confidence); see
   `_decision_confidence`.

Known limits, stated plainly: this is lexical matching. A correct paraphrase that shares no
words with any listed concept earns nothing (the assessor's list of phrasings is the remedy,
and the confidence of an absent criterion is never 1 for that reason). Negation scope is a
three-word heuristic: "it is wrong to say it never keeps rows" is misread, double negations are
read as negations, and a "no" inside a phrase ("rows with no match are kept") can void a
concept that does not itself contain it. The stemmer is crude (it will not relate "embed" to
"embedded"), short words get no typo tolerance ("lfet" is not "left"), and a typo-distance match
can be a different word ("count"/"court") - which is why such matches are kept below the review
threshold when they decide the grade. Clause boundaries come from punctuation and a few contrast
words ("but", "however"): an abbreviation such as "etc." mid-sentence splits a phrase, and a
negation never reaches across "but", even where the writer meant it to. Everything is
deterministic and close to linear in the answer's length; the only regular expressions are
fixed ones without nested quantifiers.
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "MAX_ANSWER_CHARS",
    "MAX_CONCEPT_CHARS",
    "MAX_CRITERIA",
    "REVIEW_BELOW",
    "AnswerError",
    "Criterion",
    "CriterionResult",
    "Rubric",
    "RubricError",
    "TextGrade",
    "grade_text",
]

MAX_ANSWER_CHARS = 5000
MAX_CRITERIA = 20
MAX_CONCEPT_CHARS = 200
MIN_POINTS, MAX_POINTS = 1, 10
# Below this the decision goes to a person. It sits above the confidence of a single
# misspelt-word match (0.65) and of a negated or contradicted criterion, so that any of those
# deciding the grade on its own is always reviewed, while a stemmed or reordered match is not.
REVIEW_BELOW = 0.7

_ID = re.compile(r"[a-z0-9_-]{1,40}")


class RubricError(ValueError):
    """A rubric that cannot be used, with the precise reason."""


class AnswerError(ValueError):
    """An answer that cannot be graded at all (empty, or longer than MAX_ANSWER_CHARS)."""


# --- public data ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Criterion:
    id: str
    description: str
    points: int
    concepts: tuple[str, ...]
    misconceptions: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rubric:
    criteria: tuple[Criterion, ...]
    credit: int

    @property
    def total(self) -> int:
        return sum(c.points for c in self.criteria if _is_int(c.points))

    def validate(self) -> None:
        """Raise RubricError naming the first problem; a rubric that passes can be graded."""
        if not self.criteria:
            raise RubricError("the rubric has no criteria")
        if len(self.criteria) > MAX_CRITERIA:
            raise RubricError(
                f"the rubric has {len(self.criteria)} criteria; at most {MAX_CRITERIA} are allowed"
            )
        seen: set[str] = set()
        for criterion in self.criteria:
            _validate_criterion(criterion)
            if criterion.id in seen:
                raise RubricError(f'duplicate criterion id "{criterion.id}"')
            seen.add(criterion.id)
        total = self.total
        if not _is_int(self.credit) or not 1 <= self.credit <= total:
            raise RubricError(
                f"credit must be between 1 and the total of {total} points, got {self.credit!r}"
            )


@dataclass(frozen=True, slots=True)
class CriterionResult:
    id: str
    points: int
    evidence: str | None
    reason: str
    confidence: float


@dataclass(frozen=True, slots=True)
class TextGrade:
    points: int
    total: int
    credit: int
    correct: bool
    criteria: tuple[CriterionResult, ...]
    confidence: float
    needs_review: bool


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _validate_criterion(criterion: Criterion) -> None:
    cid = criterion.id
    if not isinstance(cid, str) or not _ID.fullmatch(cid):
        raise RubricError(
            f'criterion id "{cid}" must be 1 to 40 characters of a-z, 0-9, "_" and "-"'
        )
    if not isinstance(criterion.description, str) or not criterion.description.strip():
        raise RubricError(f'criterion "{cid}" has no description')
    if not _is_int(criterion.points) or not MIN_POINTS <= criterion.points <= MAX_POINTS:
        raise RubricError(
            f'criterion "{cid}": points must be between {MIN_POINTS} and {MAX_POINTS}, '
            f"got {criterion.points!r}"
        )
    if not criterion.concepts:
        raise RubricError(f'criterion "{cid}" has no concepts')
    for kind, phrases in (
        ("concept", criterion.concepts),
        ("misconception", criterion.misconceptions),
    ):
        for number, phrase in enumerate(phrases, start=1):
            if not isinstance(phrase, str) or not phrase.strip():
                raise RubricError(f'criterion "{cid}": {kind} {number} is empty')
            if len(phrase) > MAX_CONCEPT_CHARS:
                raise RubricError(
                    f'criterion "{cid}": {kind} {number} is longer than '
                    f"{MAX_CONCEPT_CHARS} characters"
                )
            if not _phrase_words(phrase):
                raise RubricError(
                    f'criterion "{cid}": {kind} "{phrase}" has no content words '
                    '(only words such as "the" or "is" that matching ignores)'
                )


# --- normalisation and tokens --------------------------------------------------------------

_CHAR_MAP = str.maketrans(
    {
        **dict.fromkeys("\u2018\u2019\u201a\u201b\u02bc\u2032", "'"),
        **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
    }
)
# Word characters, with at most one inner apostrophe ("doesn't", "table's"): the optional group
# cannot repeat, so matching stays linear on any input.
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")

_NEGATIONS = frozenset(
    {"not", "no", "never", "without", "cannot", "neither", "nor", "none", "nothing", "nobody",
     "nowhere"}
)  # fmt: skip
# Typed without the apostrophe, these are still negations.
_BARE_CONTRACTIONS = frozenset(
    {"dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent", "cant", "wont", "couldnt",
     "shouldnt", "wouldnt", "hasnt", "havent", "hadnt", "aint", "mustnt", "neednt"}
)  # fmt: skip
_STOP_WORDS_TEXT = """
    a an the this that these those there here it its itself they them their theirs he him
    his she her we us our ours you your yours i me my mine of to in on at by for with from into
    onto about as than then so and or but if is are was were be been being am do does did done
    doing has have had having can could will would shall should may might must which who whom
    whose what when where while how also very really any even too quite rather still whether
    during upon via per between among across"""
_STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
# Quantifier and restriction words are kept as content (a misconception is often "only ..."),
# folded together so "every row" and "all rows" meet.
_CANONICAL = {
    "every": "all",
    "each": "all",
    "just": "only",
    "merely": "only",
    "solely": "only",
    "exclusively": "only",
    "kept": "keep",
    "indices": "index",
    "matrices": "matrix",
    "vertices": "vertex",
    "analyses": "analysis",
    "children": "child",
    "threw": "throw",
    "thrown": "throw",
    "wrote": "write",
    "written": "write",
    "built": "build",
    "made": "make",
    "ran": "run",
    "got": "get",
    "gotten": "get",
}
_APOSTROPHE_SUFFIXES = frozenset({"s", "re", "ve", "ll", "d", "m"})
# -er/-est are stripped only to reach one of these: most English words ending in -er are nouns
# ("filter", "server", "container") whose stripped form would collide with another word.
_COMPARATIVE_TEXT = """
    fast slow high low long short large small big cheap simple easy hard safe strong weak
    wide narrow deep close few great new old late early quick dense sparse tight loose clean
    light heavy near rich poor fine"""
_COMPARATIVE_BASES = frozenset(_COMPARATIVE_TEXT.split())
_VOWELS = frozenset("aeiouy")


def _has_vowel(text: str) -> bool:
    return any(ch in _VOWELS for ch in text)


@functools.lru_cache(maxsize=8192)
def _stem(word: str) -> str:
    """Reduce inflected forms to a shared key; consistency between forms matters, not English."""
    if len(word) <= 2 or not word.isalpha():
        return word
    w = word
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("es") and len(w) > 4 and w[:-2].endswith(("ch", "sh", "x", "z", "ss")):
        w = w[:-2]
    elif w.endswith("s") and len(w) > 3 and not w.endswith(("ss", "us", "is")):
        w = w[:-1]

    if w.endswith("ied") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("ed") and not w.endswith("eed") and len(w) >= 4 and _has_vowel(w[:-2]):
        w = w[:-2]
    elif w.endswith("ing") and len(w) >= 5 and _has_vowel(w[:-3]):
        w = w[:-3]
    elif w.endswith("ily") and len(w) >= 6:
        w = w[:-3] + "y"
    elif w.endswith("ly") and len(w) >= 7:
        w = w[:-2]

    for suffix in ("est", "er"):
        if w.endswith(suffix) and len(w) > len(suffix) + 2:
            base = w[: -len(suffix)]
            options = [base, base + "e"]
            if len(base) >= 2 and base[-1] == base[-2]:
                options.append(base[:-1])
            if base.endswith("i"):
                options.append(base[:-1] + "y")
            w = next((o for o in options if o in _COMPARATIVE_BASES), w)
            break

    if len(w) >= 3 and w[-1] == w[-2] and w[-1] not in _VOWELS and w[-1] not in "lsz":
        w = w[:-1]
    if len(w) >= 3 and w.endswith("e"):
        w = w[:-1]
    return w


@functools.lru_cache(maxsize=4096)
def _normalise_char(ch: str) -> str:
    decomposed = unicodedata.normalize("NFKD", ch)
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return kept.casefold().translate(_CHAR_MAP)


def _normalise(text: str) -> tuple[str, list[int]]:
    """The matching form of `text`, and for each of its characters the original index."""
    if text.isascii():
        return text.lower(), list(range(len(text)))
    parts: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(text):
        mapped = ch.lower() if ch.isascii() else _normalise_char(ch)
        parts.append(mapped)
        origin.extend([index] * len(mapped))
    return "".join(parts), origin


@dataclass(frozen=True, slots=True)
class _Word:
    surface: str  # normalised, as written (after contraction handling)
    key: str  # stem, or "not" for every contraction of it
    negation: bool
    content: bool


def _classify(raw: str) -> _Word:
    if "'" in raw:
        base, suffix = raw.split("'", 1)
        if suffix == "t" and base.endswith("n"):
            return _Word(raw, "not", negation=True, content=True)
        raw = base if suffix in _APOSTROPHE_SUFFIXES else base + suffix
    if raw in _NEGATIONS or raw in _BARE_CONTRACTIONS:
        key = "not" if raw == "cannot" or raw in _BARE_CONTRACTIONS else raw
        return _Word(raw, key, negation=True, content=True)
    if raw in _STOP_WORDS:
        return _Word(raw, raw, negation=False, content=False)
    return _Word(raw, _stem(_CANONICAL.get(raw, raw)), negation=False, content=True)


def _phrase_words(phrase: str) -> tuple[_Word, ...]:
    normal, _ = _normalise(phrase)
    words = (_classify(m.group()) for m in _WORD.finditer(normal))
    return tuple(w for w in words if w.content)


# A contrast starts a new clause, so "it does not drop rows but keeps ..." does not carry the
# negation over, and a phrase is not assembled from both sides of it.
_CONTRASTS = frozenset({"but", "however", "whereas", "although", "though", "instead"})
# "No, it keeps ..." answers the question; it does not negate what follows.
_INTERJECTION_MARKS = frozenset(",.!:")


def _is_boundary(gap: str, previous_word: str) -> bool:
    """Whether the text between two words ends a sentence or a list item."""
    if any(ch in gap for ch in "!?;") or "\n\n" in gap:
        return True
    if "\n" in gap and gap.rstrip(" \t").endswith(("-", "*", "\u2022")):
        return True
    # "rows. The" and "anything: it" end a clause; "e.g. the", "3.5" and "a:b" do not.
    for mark in ".:":
        at = gap.find(mark)
        if at >= 0 and gap[at + 1 : at + 2].isspace() and len(previous_word) > 1:
            return True
    return False


class _Answer:
    """The content words of one answer, with their places in the original text."""

    __slots__ = (
        "_candidates",
        "_deletes",
        "_typo_rounds",
        "_typo_variants",
        "by_key",
        "cue",
        "end",
        "key_length",
        "keys",
        "only_next",
        "sentence",
        "start",
        "surface",
        "text",
    )

    def __init__(self, text: str, typo_variants: frozenset[str], typo_rounds: int) -> None:
        self.text = text
        self._typo_variants = typo_variants
        self._typo_rounds = typo_rounds
        normal, origin = _normalise(text)
        self.surface: list[str] = []
        self.keys: list[str] = []
        self.start: list[int] = []
        self.end: list[int] = []
        self.sentence: list[int] = []
        self.cue: list[bool] = []
        self.only_next: list[bool] = []
        self.by_key: dict[str, list[int]] = {}
        self.key_length: dict[str, int] = {}
        sentence, previous_end, previous_word = 0, 0, ""
        sentence_initial = True
        previous_content = False  # whether the word just before was a content word
        for m in _WORD.finditer(normal):
            gap = normal[previous_end : m.start()]
            if previous_word and (_is_boundary(gap, previous_word) or m.group() in _CONTRASTS):
                sentence += 1
                sentence_initial = True
            word = _classify(m.group())
            if word.content:
                if previous_content and self.surface and word.key == "only" and not gap.strip():
                    self.only_next[-1] = True
                position = len(self.keys)
                self.surface.append(word.surface)
                self.keys.append(word.key)
                self.start.append(origin[m.start()])
                end = origin[m.end() - 1] + 1
                # Keep combining accents typed after the letter inside the evidence.
                while end < len(text) and unicodedata.combining(text[end]):
                    end += 1
                self.end.append(end)
                self.sentence.append(sentence)
                after = normal[m.end() : m.end() + 1]
                # A capitalised "None" inside a sentence is Python's value ("default to None"),
                # not a negation; at the start of a sentence it is the English word.
                self.cue.append(
                    word.negation
                    and not (word.surface == "no" and after in _INTERJECTION_MARKS)
                    and not (text[self.start[-1] : end] == "None" and not sentence_initial)
                )
                self.only_next.append(False)
                self.by_key.setdefault(word.key, []).append(position)
                if len(word.surface) > self.key_length.get(word.key, 0):
                    self.key_length[word.key] = len(word.surface)
            previous_content = word.content
            previous_end, previous_word = m.end(), m.group()
            sentence_initial = False
        self._candidates: dict[tuple[str, str], list[tuple[int, float, str]]] = {}
        self._deletes: dict[str, set[str]] | None = None

    def span(self, first: int, last: int) -> str:
        return self.text[self.start[first] : self.end[last]]

    def candidates(self, word: _Word) -> list[tuple[int, float, str]]:
        """(position, confidence, how) for every answer word that can stand for `word`."""
        cache_key = (word.surface, word.key)
        found = self._candidates.get(cache_key)
        if found is not None:
            return found
        found = [
            (p, 1.0 if self.surface[p] == word.surface else _STEMMED, "stem")
            for p in self.by_key.get(word.key, ())
        ]
        if _typo_eligible(word) and word.key != "only":
            for other in sorted(self._near_keys(word)):
                limit = _allowance(min(len(word.surface), self.key_length[other]))
                distance = _typo_distance(word.key, other, limit)
                if distance:
                    conf = _TYPO_1 if distance == 1 else _TYPO_2
                    found.extend((p, conf, "typo") for p in self.by_key[other])
            found.sort()
        self._candidates[cache_key] = found
        return found

    def _near_keys(self, word: _Word) -> set[str]:
        # Deletion neighbourhoods (as in SymSpell): two words within distance d share a string
        # reachable by at most d deletions from each, so only those pairs are compared.
        if self._deletes is None:
            self._deletes = {}
            variants = self._typo_variants
            shortest = min(map(len, variants), default=0)
            longest = max(map(len, variants), default=-1)
            rounds = self._typo_rounds
            for key, length in self.key_length.items():
                if 5 <= length <= _MAX_TYPO_WORD and key.isalpha():
                    # A key more than two letters longer than every rubric word cannot pair
                    # up; skipping it keeps odd answers (random letters, hashes) cheap.
                    if not shortest <= len(key) <= longest + 2:
                        continue
                    # Only variants some rubric word also reaches can ever pair up, and the
                    # intersection runs in C.
                    shared = _deletions(key, min(rounds, _allowance(length))) & variants
                    for variant in shared:
                        self._deletes.setdefault(variant, set()).add(key)
        near: set[str] = set()
        for variant in _deletions(word.key, _allowance(len(word.surface))):
            near |= self._deletes.get(variant, set())
        near.discard(word.key)
        return near


_STEMMED = 0.99
_TYPO_1 = 0.65
_TYPO_2 = 0.55
_REORDERED = 0.9
_PER_GAP = 0.98
_ABSENT = 0.85
_NEAR_MISS = 0.5
_NEGATED = 0.65
_CONTRADICTED = 0.6
_MISCONCEPTION_ONLY = 0.9


# Longer "words" (URLs, hashes, keyboard mashing) get no typo tolerance, which keeps the
# deletion neighbourhoods small.
_MAX_TYPO_WORD = 30


def _allowance(length: int) -> int:
    """Typos tolerated between two words, from the length of the shorter one as written."""
    return 2 if length >= 9 else 1 if length >= 5 else 0


def _typo_eligible(word: _Word) -> bool:
    return 5 <= len(word.surface) <= _MAX_TYPO_WORD and word.key.isalpha() and not word.negation


@functools.lru_cache(maxsize=8192)
def _deletions(key: str, rounds: int) -> frozenset[str]:
    result = {key}
    frontier = {key}
    for _ in range(rounds):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        result |= frontier
    return frozenset(result)


@functools.lru_cache(maxsize=65536)
def _typo_distance(a: str, b: str, limit: int) -> int:
    """Restricted Damerau-Levenshtein distance of two stems if within `limit`, else 0."""
    if limit == 0 or abs(len(a) - len(b)) > limit:
        return 0
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                best = min(best, previous2[j - 2] + 1)
            current[j] = best
        if min(current) > limit:
            return 0
        previous2, previous = previous, current
    distance = previous[-1]
    return distance if distance <= limit else 0


# --- phrase search -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Phrase:
    text: str
    words: tuple[_Word, ...]


@dataclass(frozen=True, slots=True)
class _Match:
    phrase: _Phrase
    positions: tuple[int, ...]  # answer content position for each phrase word
    confidence: float
    notes: tuple[str, ...]
    cue: int | None  # the negation cue that voids the match, if any

    @property
    def first(self) -> int:
        return min(self.positions) if self.cue is None else min(*self.positions, self.cue)

    @property
    def last(self) -> int:
        return max(self.positions) if self.cue is None else max(*self.positions, self.cue)

    def rank(self) -> tuple[float, int, int]:
        return (self.confidence, -(self.last - self.first), -self.first)


@dataclass(frozen=True, slots=True)
class _Search:
    match: _Match | None  # best match that is not negated
    negated: _Match | None  # best negated match, kept for the explanation
    size: int  # number of content words in the phrase
    coverage: int  # most phrase words seen near each other, for near misses
    missing: tuple[str, ...]  # phrase words absent from that best partial window
    partial: tuple[int, int] | None  # span of that partial window


def _search(phrase: _Phrase, answer: _Answer) -> _Search:
    words = phrase.words
    width = len(words) + 4
    candidates = [answer.candidates(w) for w in words]
    best: _Match | None = None
    negated: _Match | None = None
    if all(candidates):
        positions_of = [[c[0] for c in cs] for cs in candidates]
        # Most constrained word first, so rare words are not taken by a common one's choice.
        order = sorted(range(len(words)), key=lambda j: (len(candidates[j]), j))
        for start in sorted({c[0] for cs in candidates for c in cs}):
            match = _assign(phrase, answer, candidates, positions_of, order, start, width)
            if match is None:
                continue
            if match.cue is None:
                if best is None or match.rank() > best.rank():
                    best = match
                if match.confidence == 1.0:
                    break  # exact, contiguous and earliest: nothing later can rank higher
            elif negated is None or match.rank() > negated.rank():
                negated = match
    if best is not None:  # the near-miss analysis only explains absent criteria
        return _Search(best, negated, len(words), len(words), (), None)
    coverage, missing, partial = _coverage(phrase, candidates, width * 2)
    return _Search(best, negated, len(words), coverage, missing, partial)


def _assign(
    phrase: _Phrase,
    answer: _Answer,
    candidates: list[list[tuple[int, float, str]]],
    positions_of: list[list[int]],
    order: list[int],
    start: int,
    width: int,
) -> _Match | None:
    words = phrase.words
    sentence = answer.sentence[start]
    stop = start + width  # exclusive
    chosen: dict[int, tuple[int, float, str]] = {}
    used: set[int] = set()
    for j in order:
        lo = bisect.bisect_left(positions_of[j], start)
        hi = bisect.bisect_left(positions_of[j], stop)
        pick: tuple[int, float, str] | None = None
        for candidate in candidates[j][lo:hi]:
            p = candidate[0]
            if p in used or answer.sentence[p] != sentence:
                continue
            if pick is None or candidate[1] > pick[1]:
                pick = candidate
        if pick is None:
            return None
        chosen[j] = pick
        used.add(pick[0])
    positions = tuple(chosen[j][0] for j in range(len(words)))
    first, last = min(positions), max(positions)
    if last - first + 1 > width:
        return None
    # A negation inside the phrase must still govern the word it governed: "does not remove
    # rows" is not found in "removes rows that do not match".
    for j in range(len(words) - 1):
        if words[j].negation and not 0 < positions[j + 1] - positions[j] <= 2:
            return None
    confidence = 1.0
    notes: list[str] = []
    for j, word in enumerate(words):
        p, conf, how = chosen[j]
        confidence *= conf
        if conf < 1.0:
            written = answer.surface[p]
            kind = "misspelt" if how == "typo" else "variant"
            notes.append(f'{kind} "{written}" for "{word.surface}"')
    if any(a >= b for a, b in itertools.pairwise(positions)):
        confidence *= _REORDERED
        notes.append("word order differs")
    spread = (last - first + 1) - len(words)
    if spread:
        confidence *= _PER_GAP**spread
        notes.append(f"{spread} other word{'s' if spread > 1 else ''} in between")
    cue = _negation_cue(answer, positions)
    return _Match(phrase, positions, round(confidence, 4), tuple(notes), cue)


def _negation_cue(answer: _Answer, positions: tuple[int, ...]) -> int | None:
    first, last = min(positions), max(positions)
    used = set(positions)
    sentence = answer.sentence[first]
    for p in range(max(0, first - 3), last + 1):
        if p in used or not answer.cue[p] or answer.sentence[p] != sentence:
            continue
        # "not only X but Y" affirms X, unless the phrase is itself about "only".
        if answer.only_next[p] and p + 1 not in used:
            continue
        return p
    return None


def _coverage(
    phrase: _Phrase, candidates: list[list[tuple[int, float, str]]], width: int
) -> tuple[int, tuple[str, ...], tuple[int, int] | None]:
    events = sorted((c[0], j) for j, cs in enumerate(candidates) for c in cs)
    counts: dict[int, int] = {}
    best, best_window = 0, (0, 0)
    lo = 0
    for hi, (position, j) in enumerate(events):
        counts[j] = counts.get(j, 0) + 1
        while events[lo][0] <= position - width:
            dropped = events[lo][1]
            counts[dropped] -= 1
            if not counts[dropped]:
                del counts[dropped]
            lo += 1
        if len(counts) > best:
            best, best_window = len(counts), (lo, hi)
    if not best:
        return 0, tuple(w.surface for w in phrase.words), None
    present = {events[i][1] for i in range(best_window[0], best_window[1] + 1)}
    missing = tuple(w.surface for j, w in enumerate(phrase.words) if j not in present)
    span = (events[best_window[0]][0], events[best_window[1]][0])
    return best, missing, span


# --- grading -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _CompiledCriterion:
    criterion: Criterion
    concepts: tuple[_Phrase, ...]
    misconceptions: tuple[_Phrase, ...]


@dataclass(frozen=True, slots=True)
class _CompiledRubric:
    criteria: tuple[_CompiledCriterion, ...]
    typo_variants: frozenset[str]  # deletion variants of every rubric word open to typos
    typo_rounds: int  # the most typos any rubric word tolerates


def _compile(rubric: Rubric) -> _CompiledRubric:
    rubric.validate()
    criteria = tuple(
        _CompiledCriterion(
            c,
            tuple(_Phrase(text, _phrase_words(text)) for text in c.concepts),
            tuple(_Phrase(text, _phrase_words(text)) for text in c.misconceptions),
        )
        for c in rubric.criteria
    )
    variants: set[str] = set()
    rounds = 0
    for criterion in criteria:
        for phrase in criterion.concepts + criterion.misconceptions:
            for word in phrase.words:
                if _typo_eligible(word):
                    rounds = max(rounds, _allowance(len(word.surface)))
                    variants |= _deletions(word.key, _allowance(len(word.surface)))
    return _CompiledRubric(criteria, frozenset(variants), rounds)


_compile_cached = functools.lru_cache(maxsize=256)(_compile)


def _quote(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return f'"{flat if len(flat) <= limit else flat[: limit - 1] + "…"}"'


def _best(matches: Iterable[_Match | None]) -> _Match | None:
    found = [m for m in matches if m is not None]
    return max(found, key=_Match.rank) if found else None


def _grade_criterion(compiled: _CompiledCriterion, answer: _Answer) -> CriterionResult:
    criterion = compiled.criterion
    searches = [_search(phrase, answer) for phrase in compiled.concepts]
    match = _best(s.match for s in searches)
    misconception = _best(_search(p, answer).match for p in compiled.misconceptions)

    if match is not None and misconception is None:
        reason = f"matched {_quote(match.phrase.text)}"
        if match.notes:
            reason += f" ({'; '.join(match.notes)})"
        return CriterionResult(
            criterion.id,
            criterion.points,
            answer.span(match.first, match.last),
            reason,
            match.confidence,
        )
    if match is not None and misconception is not None:
        stated = answer.span(misconception.first, misconception.last)
        return CriterionResult(
            criterion.id,
            0,
            stated,
            f"cancelled by misconception {_quote(misconception.phrase.text)} "
            f"({_quote(stated)}), although it matched {_quote(match.phrase.text)}",
            round(min(_CONTRADICTED, misconception.confidence), 4),
        )

    negated = _best(s.negated for s in searches)
    evidence: str | None
    if negated is not None:
        evidence = answer.span(negated.first, negated.last)
        reason = f"matched but negated ({_quote(evidence)})"
        confidence = _NEGATED
    else:
        evidence = None
        reason = f"no phrase expressing {_quote(criterion.description)}"
        confidence = _ABSENT
        nearest = max(searches, key=lambda s: s.coverage / s.size)
        if (
            nearest.partial is not None
            and nearest.size >= 2
            and nearest.coverage >= max(2, math.ceil(nearest.size / 2))
        ):
            # Much of a phrase is there: a paraphrase or a slip the baseline cannot read, so the
            # missing credit is far from certain.
            confidence = _NEAR_MISS
            first, last = nearest.partial
            near = _quote(answer.span(first, last))
            if nearest.missing:
                lacking = ", ".join(f'"{w}"' for w in nearest.missing)
                reason += f"; nearest is {near}, lacking {lacking}"
            else:
                reason += f"; the words are in {near} but too far apart or in separate sentences"
    if misconception is not None:
        mis_span = answer.span(misconception.first, misconception.last)
        reason += f"; also states misconception {_quote(misconception.phrase.text)}"
        if evidence is None:
            evidence = mis_span
            confidence = _MISCONCEPTION_ONLY
    return CriterionResult(criterion.id, 0, evidence, reason, confidence)


def _decision_confidence(
    results: Sequence[CriterionResult], criteria: Sequence[Criterion], credit: int, correct: bool
) -> float:
    """How likely the correct/incorrect decision is to survive the grader's own doubts.

    Each criterion's confidence is read as the probability that its result (credited or not)
    is right, and criteria are treated as independent; the decision's confidence is then the
    probability that the true points still land on the same side of `credit`. That makes the
    margin matter on its own: ten points clear of the threshold survive a shaky match, a
    decision held by a single typo-match does not. Independence overstates how often several
    criteria are wrong together, so the probability alone would let a decision that hinges on
    one doubtful criterion look safer than that criterion; it is therefore capped by the
    confidence of every criterion whose flip alone would change the decision.
    """
    total = sum(c.points for c in criteria)
    distribution = [1.0] + [0.0] * total
    for result, criterion in zip(results, criteria, strict=True):
        awarded, other = (criterion.points, 0) if result.points else (0, criterion.points)
        right = result.confidence
        shifted = [0.0] * (total + 1)
        for points, probability in enumerate(distribution):
            if probability:
                shifted[points + awarded] += probability * right
                shifted[points + other] += probability * (1.0 - right)
        distribution = shifted
    p_correct = math.fsum(distribution[credit:])
    confidence = p_correct if correct else 1.0 - p_correct
    points = sum(r.points for r in results)
    for result, criterion in zip(results, criteria, strict=True):
        flipped = points - criterion.points if result.points else points + criterion.points
        if (flipped >= credit) != correct:
            confidence = min(confidence, result.confidence)
    return round(min(1.0, max(0.0, confidence)), 4)


def grade_text(rubric: Rubric, answer: str) -> TextGrade:
    """Grade a short-text answer against a rubric; raises RubricError or AnswerError."""
    try:
        hash(rubric)
    except TypeError:  # lists where tuples belong: still gradable, just not cacheable
        compiled = _compile(rubric)
    else:
        compiled = _compile_cached(rubric)
    if not answer.strip():
        raise AnswerError("the answer is empty")
    if len(answer) > MAX_ANSWER_CHARS:
        raise AnswerError(f"the answer is longer than {MAX_ANSWER_CHARS} characters")
    parsed = _Answer(answer, compiled.typo_variants, compiled.typo_rounds)
    results = tuple(_grade_criterion(c, parsed) for c in compiled.criteria)
    points = sum(r.points for r in results)
    correct = points >= rubric.credit
    confidence = _decision_confidence(results, rubric.criteria, rubric.credit, correct)
    return TextGrade(
        points=points,
        total=rubric.total,
        credit=rubric.credit,
        correct=correct,
        criteria=results,
        confidence=confidence,
        needs_review=confidence < REVIEW_BELOW,
    )
