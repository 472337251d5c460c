"""Skill and knowledge spans in job postings (issue 5): a linear-chain CRF over word features.

`SpanTagger().tag(text)` finds the spans of a whole posting. One CRF predicts a joint tag per
token, the pair (skill BIO, knowledge BIO) such as ``B-S|I-K``, so a knowledge span may sit
inside a skill span as SkillSpan annotates them ("developing [Java] based services"), while
a single model keeps the shipped file and the tagging cost to one pass.

The bundled model (data/skill_spans.crfsuite) is trained on SkillSpan (Zhang et al., NAACL 2022,
MIT; see data/SKILLSPAN.md) by scripts/train-skill-spans.py through `train()`. Pure: no database,
no network, no environment; files are read and written only where the caller says.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Literal

import pycrfsuite  # type: ignore[import-untyped]

Kind = Literal["skill", "knowledge"]
KINDS: tuple[Kind, Kind] = ("skill", "knowledge")
MODEL_RESOURCE = "skill_spans.crfsuite"

# Tuned on SkillSpan dev (train only); scripts/train-skill-spans.py passes them explicitly.
DEFAULT_PARAMS: dict[str, float | int | bool] = {
    "c1": 0.2,
    "c2": 0.01,
    "max_iterations": 200,
    "feature.possible_transitions": True,
    "feature.minfreq": 1,
}

# Words keep inner hyphens, slashes, dots and apostrophes, and trailing +/# so that "C++",
# "C#", "Node.js", ".NET", "hands-on" and "CI/CD" stay one token, as SkillSpan tokenises them;
# "<ORGANIZATION>"-style placeholders are the anonymised tokens of the training data.
_TOKEN = re.compile(r"<[A-Z_]+>|\.?\w(?:[\w'\u2019&/-]|\.(?=\w))*[+#]*|\S")
_SENTENCE_END = frozenset({".", "!", "?", ";"})
_ABBREVIATIONS = frozenset({"e.g", "i.e", "etc", "incl", "approx", "vs", "min", "ca"})


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Span:
    start: int
    end: int
    text: str
    kind: Kind
    confidence: float


@dataclass(frozen=True, slots=True)
class Sentence:
    """One labelled training sentence: tokens with BIO tags (B, I, O) per kind."""

    tokens: tuple[str, ...]
    skill: tuple[str, ...]
    knowledge: tuple[str, ...]

    def __post_init__(self) -> None:
        if not len(self.tokens) == len(self.skill) == len(self.knowledge):
            raise ValueError("tokens and tags differ in length")


def read_skillspan(path: Path) -> list[Sentence]:
    """Sentences of a SkillSpan JSON-lines file (`tokens`, `tags_skill`, `tags_knowledge`)."""
    with path.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return [
        Sentence(tuple(r["tokens"]), tuple(r["tags_skill"]), tuple(r["tags_knowledge"]))
        for r in rows
    ]


def tokenize(text: str) -> list[Token]:
    return [Token(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def sentences(text: str) -> list[list[Token]]:
    """Tokens grouped into sentences: a line break or a sentence-final mark ends one.

    Postings put one requirement per line far more often than they write prose, so lines are
    the primary unit (SkillSpan's sentences are mostly lines too)."""
    out: list[list[Token]] = []
    current: list[Token] = []
    previous_end = 0
    for token in tokenize(text):
        if current and "\n" in text[previous_end : token.start]:
            out.append(current)
            current = []
        is_abbreviation = (
            token.text == "." and bool(current) and current[-1].text.lower() in (_ABBREVIATIONS)
        )
        current.append(token)
        previous_end = token.end
        if token.text in _SENTENCE_END and not is_abbreviation:
            out.append(current)
            current = []
    if current:
        out.append(current)
    return out


# --- features -------------------------------------------------------------------------------

_SHAPE_MAP = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
    "X" * 26 + "x" * 26 + "d" * 10,
)
_REPEATS = re.compile(r"(.)\1+")
# Words that open or close a requirement: they tell the model where skill spans start and end
# far better than the words themselves generalise from 4,800 sentences.
_CUES = {
    "experience": "exp",
    "experienced": "exp",
    "knowledge": "know",
    "understanding": "know",
    "familiarity": "know",
    "familiar": "know",
    "proficiency": "know",
    "proficient": "know",
    "expertise": "know",
    "skills": "skills",
    "skill": "skills",
    "ability": "able",
    "able": "able",
    "capable": "able",
    "must": "modal",
    "should": "modal",
    "will": "modal",
    "can": "modal",
    "you": "you",
    "your": "you",
    "we": "we",
    "our": "we",
    "with": "with",
    "in": "in",
    "of": "of",
    "and": "conj",
    "or": "conj",
    "to": "to",
    "like": "such",
    "such": "such",
    "e.g": "such",
    "including": "such",
    "strong": "adj",
    "excellent": "adj",
    "good": "adj",
    "solid": "adj",
    "great": "adj",
    "deep": "adj",
}


def _shape(word: str) -> str:
    return word.translate(_SHAPE_MAP)


def _word_features(word: str) -> list[str]:
    lower = word.lower()
    shape = _shape(word)
    short = _REPEATS.sub(r"\1", shape)
    feats = [
        "w=" + lower,
        "sh=" + short,
        "p2=" + lower[:2],
        "p3=" + lower[:3],
        "s2=" + lower[-2:],
        "s3=" + lower[-3:],
        "s4=" + lower[-4:],
        "len=" + str(min(len(word), 8)),
    ]
    if len(shape) <= 6:
        feats.append("shl=" + shape)
    if word[:1].isupper():
        feats.append("title" if word[1:].islower() else "cap")
    if word.isupper() and len(word) > 1:
        feats.append("upper")
    if any(c.isdigit() for c in word):
        feats.append("digit")
    if not any(c.isalnum() for c in word):
        feats.append("punct")
    if word.startswith("<") and word.endswith(">") and len(word) > 2:
        feats.append("anon")
    if lower.endswith("ing"):
        feats.append("ing")
    if any(c in word for c in "+#./") and any(c.isalpha() for c in word):
        feats.append("techy")
    cue = _CUES.get(lower)
    if cue:
        feats.append("cue=" + cue)
    return feats


# Which of a word's own features its neighbours see: identity and the coarse ones, not the
# affixes, which would multiply the feature count for little gain.
_NEIGHBOUR_KEYS = ("w=", "sh=", "title", "cap", "upper", "punct", "ing", "cue=", "techy")


def features(words: Sequence[str]) -> list[list[str]]:
    """CRFsuite attribute lists, one per word: the word, its shape and affixes, cue words, the
    same for its neighbours within two, and word bigrams around it."""
    lowers = [w.lower() for w in words]
    own = [_word_features(w) for w in words]
    near = [[f for f in fs if f.startswith(_NEIGHBOUR_KEYS)] for fs in own]
    n = len(words)
    out: list[list[str]] = []
    for i in range(n):
        feats = ["bias", *own[i]]
        for offset in (-2, -1, 1, 2):
            j = i + offset
            if 0 <= j < n:
                feats.extend(f"{offset}:{f}" for f in near[j])
            elif offset in (-1, 1):
                feats.append("BOS" if offset < 0 else "EOS")
        if i > 0:
            feats.append(f"bg-={lowers[i - 1]}|{lowers[i]}")
        if i + 1 < n:
            feats.append(f"bg+={lowers[i]}|{lowers[i + 1]}")
        if i < 3:
            feats.append(f"pos={i}")
        out.append(feats)
    return out


# --- tags -------------------------------------------------------------------------------------


def _strip(tag: str) -> str:
    """B, I or O from any BIO spelling ("B-Skill", "I", "O")."""
    return tag[:1] if tag[:1] in ("B", "I") else "O"


def joint_tags(skill: Sequence[str], knowledge: Sequence[str]) -> list[str]:
    return [f"{_strip(s)}-S|{_strip(k)}-K" for s, k in zip(skill, knowledge, strict=True)]


def split_tags(joint: Sequence[str]) -> tuple[list[str], list[str]]:
    skill = [t.split("|")[0][0] for t in joint]
    knowledge = [t.split("|")[1][0] for t in joint]
    return skill, knowledge


def bio_spans(tags: Sequence[str]) -> list[tuple[int, int]]:
    """Token spans [start, end) of B/I tags; an I with no open span starts one (CoNLL style)."""
    out: list[tuple[int, int]] = []
    start: int | None = None
    for i, tag in enumerate(tags):
        t = _strip(tag)
        if t == "B" or (t == "I" and start is None):
            if start is not None:
                out.append((start, i))
            start = i
        elif t == "O" and start is not None:
            out.append((start, i))
            start = None
    if start is not None:
        out.append((start, len(tags)))
    return out


# --- training ---------------------------------------------------------------------------------


def train(
    sentences: Iterable[Sentence],
    path: Path,
    *,
    params: dict[str, float | int | bool] | None = None,
) -> Path:
    """Train the joint CRF on ``sentences`` and write it to ``path``.

    L-BFGS over a fixed input order is deterministic: the same sentences and params give the
    same model file byte for byte."""
    trainer = pycrfsuite.Trainer(algorithm="lbfgs", verbose=False)
    trainer.set_params({**DEFAULT_PARAMS, **(params or {})})
    count = 0
    for sentence in sentences:
        if sentence.tokens:
            trainer.append(
                features(sentence.tokens), joint_tags(sentence.skill, sentence.knowledge)
            )
            count += 1
    if not count:
        raise ValueError("no training sentences")
    path.parent.mkdir(parents=True, exist_ok=True)
    trainer.train(str(path))
    return path


# --- tagging ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TokenSpan:
    """A span over a token sequence: token indices [start, end) and its confidence."""

    start: int
    end: int
    kind: Kind
    confidence: float


def _bundled_model() -> bytes:
    return (files("microcred.learning") / "data" / MODEL_RESOURCE).read_bytes()


@dataclass
class SpanTagger:
    """Tags postings with the bundled model, or with a model file given by path.

    A CRFsuite tagger holds the sequence being tagged, so calls are serialised by a lock:
    tagging a sentence takes well under a millisecond, so contention costs little."""

    model_path: Path | None = None
    _tagger: pycrfsuite.Tagger = field(init=False, repr=False)
    # CRFsuite reads an in-memory model in place, so its bytes must live as long as the tagger.
    _model: bytes = field(init=False, repr=False, default=b"")
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._tagger = pycrfsuite.Tagger()
        if self.model_path is None:
            self._model = _bundled_model()
            self._tagger.open_inmemory(self._model)
        else:
            self._tagger.open(str(self.model_path))

    def tag_tokens(self, words: Sequence[str]) -> list[TokenSpan]:
        """Spans over one pre-tokenised sentence; a span's confidence is the smallest marginal
        probability of its tokens' tags, so one doubtful token makes a doubtful span."""
        if not words:
            return []
        with self._lock:
            self._tagger.set(features(words))
            joint: list[str] = self._tagger.tag()
            # P(per-kind tag at i) = sum of the joint labels' marginals that carry that tag.
            probs = [[dict.fromkeys("BIO", 0.0) for _ in words] for _ in KINDS]
            for label in self._tagger.labels():
                letters = [part[0] for part in label.split("|")]
                for i in range(len(words)):
                    p = float(self._tagger.marginal(label, i))
                    for slot, letter in enumerate(letters):
                        probs[slot][i][letter] += p
        out: list[TokenSpan] = []
        for slot, (kind, tags) in enumerate(zip(KINDS, split_tags(joint), strict=True)):
            for start, end in bio_spans(tags):
                confidence = min(probs[slot][i][tags[i]] for i in range(start, end))
                out.append(TokenSpan(start, end, kind, round(confidence, 4)))
        return out

    def tag_sentences(self, batch: Iterable[Sequence[str]]) -> Iterator[list[TokenSpan]]:
        for words in batch:
            yield self.tag_tokens(words)

    def tag(self, text: str) -> list[Span]:
        """Skill and knowledge spans of a posting, in text order, with char offsets into it."""
        spans: list[Span] = []
        for sentence in sentences(text):
            for s in self.tag_tokens([t.text for t in sentence]):
                start, end = sentence[s.start].start, sentence[s.end - 1].end
                spans.append(Span(start, end, text[start:end], s.kind, s.confidence))
        spans.sort(key=lambda s: (s.start, s.end, s.kind))
        return spans


@lru_cache(maxsize=1)
def bundled_tagger() -> SpanTagger:
    """The shared tagger over the bundled model, loaded on first use."""
    return SpanTagger()
