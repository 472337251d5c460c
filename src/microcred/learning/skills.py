"""Text to ranked ESCO skills: link a phrase, search labels for a picker, extract a posting.

Pure code (no database, no HTTP): the caller hands in the skill concepts (URI, preferred label,
alternative labels, description) and an `Embedder`; `SkillIndex` does the rest.

How a text is scored against every concept (a hybrid; weights in `LinkWeights`):

* **semantic**: cosine between the text's embedding and each label variant's (the preferred label
  and every alternative label), best variant per concept; also the best of the text's chunks
  (split at commas, semicolons, "and"/"or"), since a sentence often names several skills and the
  whole-sentence vector is an average of them; and the concept's description.
* **lexical**: character 2-4-gram TF-IDF (taken inside words, as scikit-learn's ``char_wb``; IDF
  from the label variants themselves), cosine to the best variant, for the whole text and for its
  best short word window (1-4 words): "PostgreSQL" inside a long sentence still meets the label
  "PostgreSQL" at full strength.
* **exact**: a bonus when a label variant occurs in the text as whole words.

Extraction (`SkillIndex.extract`) keeps a sentence's top concepts above the threshold whose
matched label's words occur in the sentence (IDF-weighted share, suffixes stripped; a strong
semantic cosine waives it): one generic word of a job ad ("team", "colleagues", "technology")
no longer pulls in every label that contains it.

The TF-IDF and hashed features are computed by sparse algebra over each distinct word (n-grams
never cross words), and a posting's sentences, chunks and windows are scored in one batch, so
building the index over all of ESCO takes seconds.

With the `HashedEmbedder` the "semantic" part is spelling only; the weights then lean on the
TF-IDF side (`LinkWeights.for_embedder`). The weights and the extraction threshold were tuned on
the validation splits of the TECH and HOUSE benchmarks only (see bench/skill_linking.py).

Linking is English-only: the labels are ESCO's English ones and the model is English. A posting
in another language is still linked (names of tools and many loan words match), and
`Extraction.language_note` says so.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse  # type: ignore[import-untyped]

from microcred.kit.ai.embedder import Embedder, HashedEmbedder, embed_cached

MAX_DOCUMENT_CHARS = 100_000
# A "sentence" longer than this is a run-on paragraph; it is cut into pieces of about this size
# so that one vector does not have to stand for a dozen skills.
MAX_SENTENCE_CHARS = 320
MAX_WINDOW_WORDS = 4

Vector = NDArray[np.float32]


class EmptyText(ValueError):
    """Nothing to link: the text is empty or whitespace."""


class PostingTooLarge(ValueError):
    """The text is over `MAX_DOCUMENT_CHARS`; split it or send the relevant part."""


@dataclass(frozen=True, slots=True)
class SkillConcept:
    uri: str
    label: str
    alt_labels: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True, slots=True)
class SkillMatch:
    uri: str
    label: str
    score: float
    # The words of the input that best match the skill, and their character offsets in it.
    evidence: str
    span: tuple[int, int] | None
    # Which signal carried the match: "exact", "lexical", "semantic" or "hybrid".
    method: str
    # The label variant (preferred or alternative) that matched best.
    matched_label: str = ""


@dataclass(frozen=True, slots=True)
class Extraction:
    matches: list[SkillMatch]
    language: str
    language_note: str | None
    sentences: int
    notes: list[str] = field(default_factory=list)
    threshold: float = 0.0


@dataclass(frozen=True, slots=True)
class LinkWeights:
    """How the signals add up to one score (each signal is a cosine in [0, 1])."""

    semantic: float = 0.30  # whole text vs best label variant
    semantic_chunk: float = 0.30  # best chunk of the text (or the whole) vs best label variant
    description: float = 0.0  # whole text vs the concept's description (0: not embedded)
    lexical: float = 0.35  # char TF-IDF, whole text vs best variant
    lexical_window: float = 0.30  # char TF-IDF, best 1-4-word window (or the whole) vs best variant
    exact: float = 0.20  # a variant occurs verbatim (whole words) in the text
    # A preferred label is cleaner than the alternative labels, which include near-synonyms
    # and broader terms.
    alt_label_factor: float = 0.90
    # Extraction keeps a match at or above this score.
    threshold: float = 0.65
    # Extraction also wants the matched label's words in the sentence: the IDF-weighted share
    # of the label's (suffix-stripped) words that occur in it must reach `min_coverage`, unless
    # the semantic cosine reaches `coverage_waiver`. This drops a label that shares one generic
    # word with the text ("technology" -> "stealth technology", "team" -> "manage a team").
    min_coverage: float = 0.0
    coverage_waiver: float = 1.01

    @staticmethod
    def for_embedder(embedder: Embedder) -> LinkWeights:
        if isinstance(embedder, HashedEmbedder):
            return HASHED_WEIGHTS
        return SEMANTIC_WEIGHTS


# threshold 0.65 and no coverage check before the extraction benchmark: on the TECH and HOUSE
# validation sentences the coverage check raises precision 0.37/0.40 -> 0.56/0.53 with recall
# 0.37/0.27 -> 0.34/0.30 (bench/skill_linking.py)
SEMANTIC_WEIGHTS = LinkWeights(threshold=0.60, min_coverage=0.80, coverage_waiver=0.80)
HASHED_WEIGHTS = LinkWeights(
    semantic=0.20,
    semantic_chunk=0.20,
    description=0.05,
    lexical=0.45,
    lexical_window=0.35,
    exact=0.20,
    alt_label_factor=0.90,
    # threshold 0.625 and no coverage check before the extraction benchmark: on the TECH and
    # HOUSE validation sentences the coverage check raises precision 0.41/0.44 -> 0.45/0.50
    # with recall 0.33/0.17 -> 0.34/0.21 (bench/skill_linking.py)
    threshold=0.60,
    min_coverage=0.60,
    coverage_waiver=0.80,
)

_SUFFIXES = sorted(
    [
        "ations",
        "ation",
        "ions",
        "ion",
        "ings",
        "ing",
        "ments",
        "ment",
        "ers",
        "er",
        "ed",
        "es",
        "s",
        "e",
        "ly",
        "al",
        "ive",
    ],
    key=len,
    reverse=True,
)


def stem(word: str) -> str:
    """A crude suffix strip, enough to meet "solving" with "solve" and "managers" with
    "manage" when checking that a label's words occur in a text."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


# ---------------------------------------------------------------------------------------------
# Text pieces

_WORD = re.compile(r"[^\W_]+(?:[+#]+|(?:[.'\-][^\W_]+)*)", re.UNICODE)
_NON_WORD = re.compile(r"[^\w+#]+", re.UNICODE)


def normalise(text: str) -> str:
    return " ".join(_NON_WORD.sub(" ", text.lower()).split())


@dataclass(frozen=True, slots=True)
class _Piece:
    """A sentence (or window, or chunk) of the input, with its offsets in the document."""

    text: str
    start: int
    end: int


def word_spans(text: str, offset: int = 0) -> list[_Piece]:
    return [_Piece(m.group(), offset + m.start(), offset + m.end()) for m in _WORD.finditer(text)]


def windows(sentence: _Piece, max_words: int = MAX_WINDOW_WORDS) -> list[_Piece]:
    """Every run of 1..max_words consecutive words, with offsets in the document."""
    tokens = word_spans(sentence.text, sentence.start)
    out: list[_Piece] = []
    for i in range(len(tokens)):
        for j in range(i, min(len(tokens), i + max_words)):
            start, end = tokens[i].start, tokens[j].end
            text = sentence.text[start - sentence.start : end - sentence.start]
            out.append(_Piece(text, start, end))
    return out


_CHUNK_SPLIT = re.compile(r"\s*(?:[,;:/()\[\]|•·]|\s(?:and|or|as well as|&)\s)\s*", re.I)


def chunks(sentence: _Piece) -> list[_Piece]:
    """The sentence cut at commas, semicolons, brackets, "and", "or": usually one skill each."""
    out: list[_Piece] = []
    position = 0
    text = sentence.text
    for match in [*_CHUNK_SPLIT.finditer(text), None]:
        end = match.start() if match else len(text)
        piece = text[position:end]
        if _WORD.search(piece):
            lead = len(piece) - len(piece.lstrip())
            piece = piece.strip()
            start = sentence.start + position + lead
            out.append(_Piece(piece, start, start + len(piece)))
        if match:
            position = match.end()
    return out if len(out) > 1 else []


_BULLET = re.compile(r"^\s*(?:[-*•·▪◦‣o]|\d{1,2}[.)])\s+")
# Sentence ends, including the run-together ones of scraped postings ("inclusion.Who you are").
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])|(?<=[a-z][.!?:])(?=[A-Z][a-z])")


def sentences(document: str) -> list[_Piece]:
    """Lines, then sentences within lines; bullets dropped; long ones cut near a word end."""
    out: list[_Piece] = []
    offset = 0
    for line in document.splitlines(keepends=True):
        line_start = offset
        offset += len(line)
        body = line.rstrip("\r\n")
        bullet = _BULLET.match(body)
        skip = bullet.end() if bullet else 0
        position = skip
        for match in [*_SENTENCE_END.finditer(body, skip), None]:
            end = match.start() if match else len(body)
            out.extend(_cut(body[position:end], line_start + position))
            if match:
                position = match.end()
    return out


def _cut(text: str, start: int) -> Iterator[_Piece]:
    lead = len(text) - len(text.lstrip())
    text = text.strip()
    start += lead
    while text:
        if len(text) <= MAX_SENTENCE_CHARS:
            piece = text
        else:
            cut = max(text.rfind(mark, 0, MAX_SENTENCE_CHARS) for mark in (", ", "; ", " - ", " "))
            piece = text[: cut if cut > 0 else MAX_SENTENCE_CHARS]
        if _WORD.search(piece):
            yield _Piece(piece.strip(), start, start + len(piece.strip()))
        rest = text[len(piece) :]
        start += len(piece) + (len(rest) - len(rest.lstrip()))
        text = rest.strip()


# ---------------------------------------------------------------------------------------------
# Character n-gram TF-IDF (scikit-learn's char_wb analyser, smooth IDF, sublinear TF)


def char_ngrams(text: str, low: int = 2, high: int = 4) -> list[str]:
    grams: list[str] = []
    for word in normalise(text).split():
        padded = f" {word} "
        for n in range(low, high + 1):
            if len(padded) < n:
                continue
            grams.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return grams


class CharTfidf:
    """TF-IDF over character n-grams with a vocabulary and IDF learnt from a corpus.

    Vectorised: n-grams never cross a word boundary, so a text's n-gram counts are its word
    counts times a word-by-n-gram count matrix; each distinct word is split into n-grams once
    (and memoised), and the rest is sparse algebra.
    """

    def __init__(self, corpus: Sequence[str], *, ngram_range: tuple[int, int] = (2, 4)) -> None:
        self.ngram_range = ngram_range
        self.vocabulary: dict[str, int] = {}
        self._word_memo: dict[str, list[int]] = {}
        tf = self._counts(corpus, grow=True)
        df = np.bincount(tf.indices, minlength=len(self.vocabulary))
        self.df = df
        self.idf = (np.log((1.0 + len(corpus)) / (1.0 + df)) + 1.0).astype(np.float32)
        self.matrix = self._weigh(tf)

    def _word_grams(self, word: str, grow: bool) -> list[int]:
        known = self._word_memo.get(word)
        if known is not None:
            return known
        vocabulary = self.vocabulary
        if grow:
            found = [
                vocabulary.setdefault(gram, len(vocabulary))
                for gram in char_ngrams(word, *self.ngram_range)
            ]
        else:
            found = [
                index
                for gram in char_ngrams(word, *self.ngram_range)
                if (index := vocabulary.get(gram)) is not None
            ]
        if len(self._word_memo) < 300_000:
            self._word_memo[word] = found
        return found

    def _counts(self, texts: Sequence[str], *, grow: bool = False) -> sparse.csr_matrix:
        word_ids: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        for row, text in enumerate(texts):
            for word in normalise(text).split():
                rows.append(row)
                cols.append(word_ids.setdefault(word, len(word_ids)))
        gram_rows: list[int] = []
        gram_cols: list[int] = []
        for word, number in word_ids.items():
            grams = self._word_grams(word, grow)
            gram_cols.extend(grams)
            gram_rows.extend([number] * len(grams))
        text_words = sparse.csr_matrix(
            (np.ones(len(rows), dtype=np.float32), (rows, cols)),
            shape=(len(texts), len(word_ids)),
        )
        word_grams = sparse.csr_matrix(
            (np.ones(len(gram_rows), dtype=np.float32), (gram_rows, gram_cols)),
            shape=(len(word_ids), len(self.vocabulary)),
        )
        counts = sparse.csr_matrix(text_words @ word_grams)
        counts.sum_duplicates()
        counts.sort_indices()
        return counts

    def _weigh(self, tf: sparse.csr_matrix) -> sparse.csr_matrix:
        tf = tf.copy()
        tf.data = (1.0 + np.log(tf.data)).astype(np.float32)
        weighted = sparse.csr_matrix(tf @ sparse.diags(self.idf))
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        return sparse.csr_matrix(sparse.diags((1.0 / norms).astype(np.float32)) @ weighted)

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        return self._weigh(self._counts(texts))


# ---------------------------------------------------------------------------------------------
# Language detection by stop-word profiles (enough to tell a posting's language)

_STOPWORD_TEXT: Mapping[str, str] = {
    "en": "the and of to in a is for with you will are on our be as we your or an at this that "
    "have by from experience work team skills ability years",
    "de": "der die das und in zu den mit von für ist ein eine sie wir im auf des dem nicht sich "
    "bei oder als auch ihre unsere sowie werden kenntnisse erfahrung",
    "fr": "le la les de des et en un une du pour dans est vous nous au sur avec par ou votre nos "
    "sont aux être expérience compétences",
    "es": "el la los las de y en un una para con por del que es se al su sus como o experiencia "
    "conocimientos buscamos",
    "it": "il la le di e in un una per con che del della dei è sono gli nel al alla da o come "
    "esperienza conoscenza",
    "nl": "de het een en van in is op te voor met je wij zijn die dat als bij of aan ons onze "
    "ervaring kennis",
    "pt": "o a os as de e em um uma para com por do da dos das que é se ao na no ou experiência "
    "conhecimento",
    "sv": "och att det som en i på är för med av till har vi du ett om vår erfarenhet",
    "pl": "i w na z do się jest że nie to o od oraz lub dla jako przez doświadczenie",
}
_STOPWORDS = {lang: frozenset(text.split()) for lang, text in _STOPWORD_TEXT.items()}


def detect_language(text: str) -> tuple[str, float]:
    """ISO 639-1 code and a confidence in [0, 1], or ("und", 0.0) when there is too little."""
    tokens = [t.lower() for t in _WORD.findall(text[:20_000])]
    if len(tokens) < 3:
        return "und", 0.0
    hits = {lang: sum(1 for t in tokens if t in words) for lang, words in _STOPWORDS.items()}
    ranked = sorted(hits.items(), key=lambda item: item[1], reverse=True)
    (best, top), (_, second) = ranked[0], ranked[1]
    if top == 0:
        return "und", 0.0
    # Confidence grows with the share of stop words (real prose has 30-50 %) and with the lead
    # over the runner-up ("in", "de", "a" are shared between languages).
    share = min(1.0, top / (0.25 * len(tokens)))
    lead = (top - second) / top
    return best, round(share * (0.4 + 0.6 * lead), 3)


# ---------------------------------------------------------------------------------------------
# The index


@dataclass(frozen=True, slots=True)
class _Scored:
    """Per-concept signals for one text, and what is needed to explain the winners."""

    total: Vector
    semantic: Vector
    lexical: Vector
    exact: Vector
    variant_score: Vector  # per variant: the combined best, to pick the matched label
    window_tfidf: sparse.csr_matrix | None  # windows x n-grams, to find the evidence
    windows: list[_Piece]
    chunk_semantic: Vector | None  # chunks x variants
    chunks: list[_Piece]


class SkillIndex:
    """Label variants of every concept, embedded and TF-IDF-weighted, ready to score texts."""

    def __init__(
        self,
        concepts: Sequence[SkillConcept],
        embedder: Embedder,
        *,
        weights: LinkWeights | None = None,
        cache_dir: Path | None = None,
        embed_alt_labels: bool = False,
    ) -> None:
        if not concepts:
            raise ValueError("a skill index needs at least one concept")
        self.concepts = list(concepts)
        self.embedder = embedder
        self.weights = weights or LinkWeights.for_embedder(embedder)
        variants: list[str] = []
        keys: list[str] = []  # normalised variants
        owners: list[int] = []
        preferred: list[bool] = []
        for number, concept in enumerate(self.concepts):
            seen: set[str] = set()
            for position, label in enumerate((concept.label, *concept.alt_labels)):
                key = normalise(label)
                if not key or key in seen:
                    continue
                seen.add(key)
                keys.append(key)
                variants.append(label.strip())
                owners.append(number)
                preferred.append(position == 0)
        self.variants = variants
        self.owner = np.asarray(owners, dtype=np.int64)
        # Variants are grouped by concept in order, so reduceat gives per-concept maxima.
        self.starts = np.flatnonzero(np.r_[True, self.owner[1:] != self.owner[:-1]])
        self.variant_factor = np.where(preferred, 1.0, self.weights.alt_label_factor).astype(
            np.float32
        )
        self.tfidf = CharTfidf(variants)
        self.tfidf_t = sparse.csr_matrix(self.tfidf.matrix.T)
        # n-grams in more than 0.5 % of the variants (" ma", "ing") carry little weight; leaving
        # them out of the window product keeps it sparse (about 20x faster on ESCO).
        rare = (self.tfidf.df <= max(50, len(variants) // 200)).astype(np.float32)
        self.window_tfidf_t = sparse.csr_matrix(sparse.diags(rare) @ self.tfidf_t)
        self.window_tfidf_t.eliminate_zeros()
        self._sparse_embeddings = isinstance(embedder, HashedEmbedder)
        self.description_vectors: Any = None
        if isinstance(embedder, HashedEmbedder):
            # rows: variants (and descriptions), columns: hash buckets
            self.variant_vectors: Any = embedder.embed_sparse(variants)
            descriptions = [c.description for c in self.concepts]
            self.description_vectors = embedder.embed_sparse(descriptions)
        elif embed_alt_labels:
            self.variant_vectors = embed_cached(embedder, variants, cache_dir)
        else:
            # ESCO has ~85k alternative labels: a transformer on two CPU cores takes the better
            # part of an hour to embed them, so by default only preferred labels are embedded
            # and an alternative label takes its concept's semantic score (the TF-IDF side still
            # reads every alternative label).
            self.variant_vectors = embed_cached(
                embedder, [c.label.strip() for c in self.concepts], cache_dir
            )
        if not self._sparse_embeddings and self.weights.description > 0:
            described = [c.description or c.label for c in self.concepts]
            self.description_vectors = embed_cached(embedder, described, cache_dir)
        self._variant_rows: NDArray[np.int64] | None = (
            None if self._sparse_embeddings or embed_alt_labels else self.owner
        )
        stems: dict[str, str] = {}
        word_df: dict[str, int] = {}
        for label_key in keys:
            for word in set(label_key.split()):
                root = stems.get(word)
                if root is None:
                    root = stems[word] = stem(word)
                word_df[root] = word_df.get(root, 0) + 1
        total = len(variants)
        self._stem_idf = {w: math.log((1 + total) / (1 + n)) + 1.0 for w, n in word_df.items()}
        self._default_idf = math.log(1 + total) + 1.0
        self.exact_lookup: dict[str, list[int]] = {}
        for index, label_key in enumerate(keys):
            self.exact_lookup.setdefault(label_key, []).append(index)
        self.max_exact_words = max(len(key.split()) for key in self.exact_lookup)
        self.by_uri = {c.uri: i for i, c in enumerate(self.concepts)}

    @classmethod
    def build(
        cls,
        concepts: Sequence[SkillConcept],
        *,
        embedder: Embedder | None = None,
        weights: LinkWeights | None = None,
        cache_dir: Path | None = None,
        embed_alt_labels: bool = False,
    ) -> SkillIndex:
        """An index over `concepts`; the hashed embedder when none is given.

        `cache_dir` keeps the label embeddings on disk (see `kit.ai.embedder.EmbeddingCache`);
        `embed_alt_labels` embeds every alternative label too (slow on a CPU; off by default).
        """
        return cls(
            concepts,
            embedder or HashedEmbedder(),
            weights=weights,
            cache_dir=cache_dir,
            embed_alt_labels=embed_alt_labels,
        )

    def __len__(self) -> int:
        return len(self.concepts)

    # -- scoring --------------------------------------------------------------------------

    def _per_concept(self, per_variant: NDArray[Any]) -> Vector:
        result: Vector = np.maximum.reduceat(per_variant, self.starts, axis=-1)
        return result

    def _semantic(self, vectors: Vector) -> Vector:
        if self._sparse_embeddings:
            return np.ascontiguousarray((self.variant_vectors @ vectors.T).T, dtype=np.float32)
        scores = np.asarray(vectors @ self.variant_vectors.T, dtype=np.float32)
        return scores if self._variant_rows is None else scores[:, self._variant_rows]

    def _description(self, vectors: Vector) -> Vector:
        if self.description_vectors is None:
            return np.zeros((len(vectors), len(self.concepts)), dtype=np.float32)
        if self._sparse_embeddings:
            return np.ascontiguousarray((self.description_vectors @ vectors.T).T, dtype=np.float32)
        return np.asarray(vectors @ self.description_vectors.T, dtype=np.float32)

    def _exact(self, piece: _Piece) -> NDArray[np.int64]:
        tokens = normalise(piece.text).split()
        found: list[int] = []
        for i in range(len(tokens)):
            for j in range(i + 1, min(len(tokens), i + self.max_exact_words) + 1):
                found.extend(self.exact_lookup.get(" ".join(tokens[i:j]), ()))
        return np.asarray(found, dtype=np.int64)

    def _candidates(
        self, lexical_whole: Vector, lexical_best: Vector, exact: Vector, floor: float
    ) -> NDArray[np.int64]:
        """Concepts whose total could reach `floor` with a perfect semantic cosine."""
        weights = self.weights
        bound = (
            weights.semantic
            + weights.semantic_chunk
            + weights.lexical * lexical_whole
            + weights.lexical_window * lexical_best
            + weights.exact * exact
        ) * self.variant_factor
        reachable = self._per_concept(bound) + weights.description >= floor - 1e-6
        return np.flatnonzero(reachable.any(axis=0))

    def _hashed_semantic(
        self, texts: Sequence[str], n: int, concepts: NDArray[np.int64] | None
    ) -> tuple[Vector, Vector]:
        """Hashed cosines to every variant (texts x variants) and of the first `n` texts to the
        descriptions (n x concepts); only for `concepts` when given (zeros elsewhere)."""
        # variants x buckets (sparse) times buckets x texts (dense): about twice as fast as
        # the sparse-by-sparse product, as a hashed text vector fills ~15 % of the buckets.
        assert isinstance(self.embedder, HashedEmbedder)
        hashed = np.asarray(self.embedder.embed_sparse(texts).T.toarray(), dtype=np.float32)
        if concepts is None:
            semantic = np.ascontiguousarray((self.variant_vectors @ hashed).T)
            description = np.ascontiguousarray((self.description_vectors @ hashed[:, :n]).T)
            return semantic, description
        semantic = np.zeros((len(texts), len(self.variants)), dtype=np.float32)
        description = np.zeros((n, len(self.concepts)), dtype=np.float32)
        if len(concepts):
            wanted = np.zeros(len(self.concepts), dtype=bool)
            wanted[concepts] = True
            rows = np.flatnonzero(wanted[self.owner])
            semantic[:, rows] = (self.variant_vectors[rows] @ hashed).T
            description[:, concepts] = (self.description_vectors[concepts] @ hashed[:, :n]).T
        return semantic, description

    def _score_many(
        self, pieces: Sequence[_Piece], *, explain: bool = False, floor: float | None = None
    ) -> list[_Scored]:
        """Scores for several texts, computed together: one embedding batch and one sparse
        product per signal for all the texts, their chunks and their word windows.

        With a `floor` (extraction), a concept that cannot reach it whatever its semantic
        cosine is skipped by the hashed embedder's semantic product (its total is then a lower
        bound, below the floor); every concept that can reach the floor is scored in full."""
        if not pieces:
            return []
        weights = self.weights
        n = len(pieces)
        piece_chunks = [chunks(piece) for piece in pieces]
        texts = [piece.text for piece in pieces]
        chunk_owner: list[int] = []
        for number, found in enumerate(piece_chunks):
            texts.extend(chunk.text for chunk in found)
            chunk_owner.extend([number] * len(found))
        lexical_whole = np.asarray(
            (self.tfidf.transform(texts[:n]) @ self.tfidf_t).toarray(), dtype=np.float32
        )
        piece_windows = [windows(piece) for piece in pieces]
        all_windows = [w for found in piece_windows for w in found]
        window_owner = np.repeat(np.arange(n), [len(found) for found in piece_windows])
        window_matrix = self.tfidf.transform([w.text for w in all_windows])
        lexical_best = lexical_whole.copy()
        if all_windows:
            # Only the rarer n-grams take part here (see __init__): the windows are there to
            # find a label's distinctive words inside a long sentence, and the common n-grams
            # would make this product dense and slow.
            product = sparse.csr_matrix(window_matrix @ self.window_tfidf_t)
            rows = np.repeat(window_owner, np.diff(product.indptr))
            flat = rows * len(self.variants) + product.indices
            np.maximum.at(lexical_best.reshape(-1), flat, product.data)
        exact = np.zeros((n, len(self.variants)), dtype=np.float32)
        for number, piece in enumerate(pieces):
            exact[number, self._exact(piece)] = 1.0
        if isinstance(self.embedder, HashedEmbedder):
            semantic_all, description = self._hashed_semantic(
                texts,
                n,
                None
                if floor is None
                else self._candidates(lexical_whole, lexical_best, exact, floor),
            )
        else:
            vectors = self.embedder.embed(texts)
            semantic_all = self._semantic(vectors)
            description = self._description(vectors[:n])
        semantic_whole = semantic_all[:n]
        semantic_best = semantic_whole.copy()
        for row, owner in enumerate(chunk_owner, start=n):
            np.maximum(semantic_best[owner], semantic_all[row], out=semantic_best[owner])
        per_variant = (
            weights.semantic * semantic_whole
            + weights.semantic_chunk * semantic_best
            + weights.lexical * lexical_whole
            + weights.lexical_window * lexical_best
            + weights.exact * exact
        ) * self.variant_factor
        total = self._per_concept(per_variant) + weights.description * description
        semantic_concept = self._per_concept(semantic_best)
        lexical_concept = self._per_concept(lexical_best)
        exact_concept = self._per_concept(exact)
        out: list[_Scored] = []
        window_start = 0
        chunk_start = n
        for number in range(n):
            own_windows = piece_windows[number]
            own_chunks = piece_chunks[number]
            window_end = window_start + len(own_windows)
            chunk_end = chunk_start + len(own_chunks)
            out.append(
                _Scored(
                    total=total[number],
                    semantic=semantic_concept[number],
                    lexical=lexical_concept[number],
                    exact=exact_concept[number],
                    variant_score=per_variant[number],
                    window_tfidf=window_matrix[window_start:window_end] if explain else None,
                    windows=own_windows if explain else [],
                    chunk_semantic=(
                        semantic_all[chunk_start:chunk_end] if explain and own_chunks else None
                    ),
                    chunks=own_chunks if explain else [],
                )
            )
            window_start, chunk_start = window_end, chunk_end
        return out

    def scores(self, text: str) -> Vector:
        """One score per concept (in the order given to `build`) for a sentence or phrase."""
        return self.scores_many([text])[0]

    def scores_many(self, texts: Sequence[str]) -> list[Vector]:
        """`scores` for several texts; their embeddings are computed in one batch."""
        pieces = [_Piece(text, 0, len(text)) for text in texts]
        return [scored.total for scored in self._score_many(pieces)]

    # -- explaining -----------------------------------------------------------------------

    def _best_variant(self, concept: int, scored: _Scored) -> int:
        lo = self.starts[concept]
        hi = self.starts[concept + 1] if concept + 1 < len(self.starts) else len(self.variants)
        return int(lo + int(np.argmax(scored.variant_score[lo:hi])))

    def coverage(self, label: str, words: set[str]) -> float:
        """IDF-weighted share of the label's words (suffix-stripped) among `words`."""
        label_words = [stem(w) for w in normalise(label).split()]
        weights = [self._stem_idf.get(w, self._default_idf) for w in label_words]
        total = sum(weights)
        if total == 0:
            return 0.0
        return sum(x for w, x in zip(label_words, weights, strict=True) if w in words) / total

    def _covered(self, concept: int, scored: _Scored, words: set[str]) -> bool:
        weights = self.weights
        if scored.semantic[concept] >= weights.coverage_waiver:
            return True
        label = self.variants[self._best_variant(concept, scored)]
        return self.coverage(label, words) >= weights.min_coverage

    def _match(self, concept: int, scored: _Scored, piece: _Piece, document: str) -> SkillMatch:
        variant = self._best_variant(concept, scored)
        start, end = piece.start, piece.end
        evidence = piece.text
        if scored.window_tfidf is not None and scored.windows:
            label_vector = np.asarray(self.tfidf.matrix[variant].toarray(), dtype=np.float32)
            column = np.asarray(scored.window_tfidf @ label_vector.ravel()).ravel()
            if column.size and column.max() > 0.3:
                # Ties go to the shorter window: the fewest words that carry the match.
                best = max(
                    range(len(column)),
                    key=lambda i: (
                        round(float(column[i]), 3),
                        -(scored.windows[i].end - scored.windows[i].start),
                    ),
                )
                window = scored.windows[best]
                start, end, evidence = window.start, window.end, window.text
            elif scored.chunk_semantic is not None and scored.chunks:
                best = int(np.argmax(scored.chunk_semantic[:, variant]))
                chunk = scored.chunks[best]
                start, end, evidence = chunk.start, chunk.end, chunk.text
        # Only offsets that point at the evidence are ever handed out.
        span = (start, end) if document[start:end] == evidence else None
        semantic = float(scored.semantic[concept])
        lexical = float(scored.lexical[concept])
        if scored.exact[concept] > 0:
            method = "exact"
        elif lexical > 0.8 * semantic and lexical > 0.5:
            method = "lexical"
        elif semantic > 1.2 * lexical:
            method = "semantic"
        else:
            method = "hybrid"
        concept_obj = self.concepts[concept]
        return SkillMatch(
            uri=concept_obj.uri,
            label=concept_obj.label,
            score=round(float(scored.total[concept]), 4),
            evidence=evidence,
            span=span,
            method=method,
            matched_label=self.variants[variant],
        )

    # -- the three uses -------------------------------------------------------------------

    def link(self, text: str, *, k: int = 5) -> list[SkillMatch]:
        """The k concepts that best match one sentence or phrase, best first."""
        if not text.strip():
            raise EmptyText("there is no text to link")
        _check_size(text)
        piece = _Piece(text, 0, len(text))
        scored = self._score_many([piece], explain=True)[0]
        top = _top(scored.total, k)
        return [self._match(int(c), scored, piece, text) for c in top]

    def search(self, query: str, *, k: int = 20) -> list[SkillMatch]:
        """Label search for a skill picker: prefix and substring hits first, then the rest."""
        if not query.strip():
            return []
        _check_size(query)
        piece = _Piece(query, 0, len(query))
        scored = self._score_many([piece])[0]
        needle = normalise(query)
        boost = np.zeros(len(self.variants), dtype=np.float32)
        if needle:
            for index, variant in enumerate(self.variants):
                label = normalise(variant)
                if label.startswith(needle):
                    boost[index] = 0.5
                elif needle in label:
                    boost[index] = 0.3
        total = scored.total + self._per_concept(boost)
        return [
            SkillMatch(
                uri=self.concepts[c].uri,
                label=self.concepts[c].label,
                score=round(float(total[c]), 4),
                evidence=query,
                span=(0, len(query)),
                method="search",
                matched_label=self.concepts[c].label,
            )
            for c in _top(total, k)
        ]

    def extract(
        self, document: str, *, min_score: float | None = None, max_skills: int = 40
    ) -> Extraction:
        """The skills a job posting asks for, each with its best evidence, best first."""
        if not document.strip():
            raise EmptyText("the posting is empty")
        _check_size(document)
        threshold = self.weights.threshold if min_score is None else min_score
        language, confidence = detect_language(document)
        note = None
        if language not in {"en", "und"}:
            note = (
                f"This posting looks like {LANGUAGE_NAMES.get(language, language)} "
                f"(confidence {confidence:.2f}); skill linking works on English text, so only "
                "what could be linked (tool names, loan words) is shown."
            )
        pieces = sentences(document)
        best: dict[int, SkillMatch] = {}
        for start in range(0, len(pieces), 32):
            batch = pieces[start : start + 32]
            scored_batch = self._score_many(batch, explain=True, floor=threshold)
            for piece, scored in zip(batch, scored_batch, strict=True):
                piece_words: set[str] | None = None
                for concept in _top(scored.total, PER_SENTENCE):
                    score = float(scored.total[concept])
                    if score < threshold:
                        break
                    known = best.get(int(concept))
                    if known is not None and score <= known.score:
                        continue
                    if self.weights.min_coverage > 0:
                        if piece_words is None:
                            piece_words = {stem(w) for w in normalise(piece.text).split()}
                        if not self._covered(int(concept), scored, piece_words):
                            continue
                    best[int(concept)] = self._match(int(concept), scored, piece, document)
        ranked = sorted(best.values(), key=lambda m: (-m.score, m.label))
        notes: list[str] = []
        if len(ranked) > max_skills:
            notes.append(f"{len(ranked) - max_skills} weaker matches left out")
        if not ranked:
            notes.append("no skill matched above the threshold")
        return Extraction(
            matches=ranked[:max_skills],
            language=language,
            language_note=note,
            sentences=len(pieces),
            notes=notes,
            threshold=threshold,
        )


PER_SENTENCE = 5

LANGUAGE_NAMES: Mapping[str, str] = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "it": "Italian",
    "nl": "Dutch",
    "pt": "Portuguese",
    "sv": "Swedish",
    "pl": "Polish",
}


def _top(values: Vector, k: int) -> list[int]:
    k = max(0, min(k, len(values)))
    if k == 0:
        return []
    part = np.argpartition(-values, k - 1)[:k]
    return [int(i) for i in part[np.argsort(-values[part], kind="stable")]]


def _check_size(text: str) -> None:
    if len(text) > MAX_DOCUMENT_CHARS:
        raise PostingTooLarge(
            f"the text has {len(text):,} characters; at most {MAX_DOCUMENT_CHARS:,} can be linked"
        )
