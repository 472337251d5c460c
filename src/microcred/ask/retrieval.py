"""Hybrid retrieval over chunks: BM25 and embeddings, fused by reciprocal rank, re-ranked.

Pipeline for one query (everything deterministic; ties go to the earlier chunk):

1. `scope` (if given) picks the chunks that may be returned, before any ranking, so a narrow
   scope is never starved by better chunks outside it.
2. BM25 and dense (cosine through the `Embedder` seam) each rank the in-scope chunks and keep
   their top `candidates`; BM25 keeps only chunks sharing a term, dense only positive cosines.
3. Reciprocal rank fusion: `rrf = sum(1 / (RRF_K + rank))` over the lists a chunk is in,
   divided by its maximum `2 / (RRF_K + 1)` so it lies in (0, 1].
4. Re-rank: `score = rrf + COVERAGE_WEIGHT * coverage + HEADING_WEIGHT * heading`, where
   `coverage` is the share of distinct query terms found in the chunk (heading path included)
   and `heading` the share found in its heading path. Rank fusion alone rewards a chunk that
   matches one rare word twice; coverage prefers the chunk that answers the whole question,
   and a heading is the author's own summary of what a section is about.

`HybridIndex.idf(term)` and `HybridIndex.term_weights(query)` expose how informative each query
term is over the indexed chunks (BM25's idf; a term no chunk contains gets the largest idf, as
if one more chunk held it), so the answer composer can tell a question's topic words
("transcript", "refund") from words every passage shares ("credential", "learner").

Chunk text is only ever counted, compared and returned: text that looks like an instruction
("ignore previous instructions...") is ranked like any other text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse  # type: ignore[import-untyped]

from microcred.ask.chunking import Chunk
from microcred.kit.ai.embedder import Embedder

MAX_QUERY_CHARS = 2000
RRF_K = 60
COVERAGE_WEIGHT = 0.5
HEADING_WEIGHT = 0.25
DEFAULT_CANDIDATES = 50

# Function words that carry no topic: matching them ranks "how do I ..." chunks, not answers.
# fmt: off
STOP_WORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "been", "but", "by", "can", "could", "do", "does",
    "did", "for", "from", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its",
    "me", "my", "of", "on", "or", "our", "so", "than", "that", "the", "their", "them", "then",
    "there", "these", "they", "this", "to", "us", "was", "we", "were", "what", "when", "where",
    "which", "who", "why", "will", "with", "would", "you", "your", "yours",
})
# fmt: on

_TOKEN = re.compile(r"[^\W_]+")


def _stem(word: str) -> str:
    """Light suffix stripping: plurals, -ing, -ed, then a final -e.

    Deliberately weaker than Porter: it only merges forms a reader would agree are the same
    word ("badges"/"badge", "sharing"/"shared"/"share", "policies"/"policy"), and words of four
    letters or fewer are left alone so short terms ("news", "bias") are not mangled, except
    a plain plural or third-person "-s" ("owns" is "own", "jobs" is "job").
    """
    if word.isdigit():
        return word
    if len(word) == 4 and word.endswith("s") and not word.endswith(("ss", "us", "is", "as", "ws")):
        return word[:-1]  # "owns", "jobs", "fees", "labs": a question's verb or plural noun
    if len(word) <= 4:
        return word
    if word.endswith("ies") and len(word) > 5:
        return word[:-3] + "y"
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and not word.endswith(("ss", "us", "is")):
            stem = word[: -len(suffix)]
            if len(stem) >= 3:
                word = stem
                break
    if word.endswith("e") and len(word) > 4:
        word = word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    """Lower-cased (NFKC) unicode word tokens, stop words dropped, lightly stemmed."""
    words = _TOKEN.findall(unicodedata.normalize("NFKC", text).lower())
    return [_stem(w) for w in words if w not in STOP_WORDS]


class BM25:
    """Okapi BM25 over a fixed list of texts, as one sparse documents x terms weight matrix.

    Uses the non-negative idf `log(1 + (N - df + 0.5) / (df + 0.5))`. A query term counts once
    however often the query repeats it, so "badge badge badge" cannot outweigh other words.
    """

    def __init__(self, texts: Sequence[str], *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self.vocabulary: dict[str, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        for row, text in enumerate(texts):
            for token in tokenize(text):
                rows.append(row)
                cols.append(self.vocabulary.setdefault(token, len(self.vocabulary)))
        n_docs = len(texts)
        counts = sparse.csr_matrix(
            (np.ones(len(rows), dtype=np.float64), (rows, cols)),
            shape=(n_docs, len(self.vocabulary)),
        )
        counts.sum_duplicates()
        lengths = np.asarray(counts.sum(axis=1), dtype=np.float64).ravel()
        average = float(lengths.mean()) if n_docs and lengths.mean() > 0 else 1.0
        df = np.bincount(counts.indices, minlength=len(self.vocabulary)).astype(np.float64)
        self.idf = np.log1p((n_docs - df + 0.5) / (df + 0.5))
        norm = k1 * (1.0 - b + b * lengths / average)
        tf = counts.data
        row_of = np.repeat(np.arange(n_docs), np.diff(counts.indptr))
        weights = counts.copy()
        weights.data = self.idf[counts.indices] * tf * (k1 + 1.0) / (tf + norm[row_of])
        self.weights: sparse.csr_matrix = weights
        self.size = n_docs

    def term_idf(self, term: str) -> float:
        """The idf of one (already tokenized) term; an unseen term counts as in half a text."""
        column = self.vocabulary.get(term)
        if column is not None:
            return float(self.idf[column])
        return float(np.log1p((self.size + 0.5) / 0.5))

    def query_vector(self, query: str) -> NDArray[np.float64]:
        vector = np.zeros(len(self.vocabulary), dtype=np.float64)
        for token in set(tokenize(query)):
            column = self.vocabulary.get(token)
            if column is not None:
                vector[column] = 1.0
        return vector

    def scores(self, query: str) -> NDArray[np.float64]:
        """One BM25 score per text (0 where no query term occurs)."""
        if self.size == 0:
            return np.zeros(0, dtype=np.float64)
        return np.asarray(self.weights @ self.query_vector(query), dtype=np.float64).ravel()


@dataclass(frozen=True, slots=True)
class Hit:
    chunk: Chunk
    score: float
    bm25: float
    dense: float
    reasons: tuple[str, ...]


def passage_text(chunk: Chunk) -> str:
    """What is indexed for a chunk: its heading path, then its text."""
    return "\n".join([" / ".join(chunk.heading_path), chunk.text]).strip()


def _top(scores: NDArray[np.float64], allowed: NDArray[np.bool_], n: int) -> list[int]:
    """Indices of the best `n` allowed positive scores, best first, ties by index."""
    eligible = np.flatnonzero(allowed & (scores > 0))
    order = np.argsort(-scores[eligible], kind="stable")
    return [int(i) for i in eligible[order][:n]]


class HybridIndex:
    """Chunks with their BM25 matrix and embeddings, searched by `search`."""

    def __init__(
        self,
        chunks: Sequence[Chunk],
        bm25: BM25,
        vectors: NDArray[np.float32],
        embedder: Embedder,
    ) -> None:
        self.chunks = list(chunks)
        self.bm25 = bm25
        self.vectors = vectors
        self.embedder = embedder
        self._terms = [frozenset(tokenize(passage_text(c))) for c in self.chunks]
        self._heading_terms = [frozenset(tokenize(" ".join(c.heading_path))) for c in self.chunks]

    @classmethod
    def build(cls, chunks: Sequence[Chunk], *, embedder: Embedder) -> HybridIndex:
        texts = [passage_text(c) for c in chunks]
        if texts:
            vectors = np.asarray(embedder.embed(texts), dtype=np.float32)
        else:
            vectors = np.zeros((0, embedder.dimension), dtype=np.float32)
        return cls(chunks, BM25(texts), vectors, embedder)

    def idf(self, term: str) -> float:
        """How informative `term` (one word, tokenized here) is over the indexed chunks.

        BM25's idf `log(1 + (N - df + 0.5) / (df + 0.5))`; a word no chunk holds gets the value
        for `df = 0`, the largest there is: a question's word the sources never use is exactly
        the word an answer would have to match. A word that tokenizes to nothing (a stop word)
        or to several tokens gets the mean over its tokens, 0.0 for none.
        """
        tokens = tokenize(term)
        if not tokens:
            return 0.0
        return sum(self.bm25.term_idf(t) for t in tokens) / len(tokens)

    def term_weights(self, query: str) -> dict[str, float]:
        """`{term: idf}` for each distinct term of `tokenize(query)`, in first-seen order."""
        return {t: self.bm25.term_idf(t) for t in dict.fromkeys(tokenize(query))}

    def search(
        self,
        query: str,
        *,
        k: int = 5,
        scope: Callable[[Chunk], bool] | None = None,
        candidates: int = DEFAULT_CANDIDATES,
        prior: Callable[[Chunk], tuple[float, str]] | None = None,
    ) -> list[Hit]:
        """The best `k` chunks for `query`, best first, each with the reasons for its rank.

        `prior` adds a fixed amount to a chunk's score, with the reason shown (the service
        prefers the institution's own catalogue and documents to the general articles when they
        match about as well)."""
        if len(query) > MAX_QUERY_CHARS:
            raise ValueError(
                f"the question is {len(query):,} characters long; the limit is {MAX_QUERY_CHARS:,}"
            )
        if k < 1:
            raise ValueError("k must be at least 1")
        if not query.strip() or not self.chunks:
            return []
        if scope is None:
            allowed = np.ones(len(self.chunks), dtype=bool)
        else:
            allowed = np.fromiter(
                (scope(c) for c in self.chunks), dtype=bool, count=len(self.chunks)
            )
        lexical = self.bm25.scores(query)
        query_vector = np.asarray(self.embedder.embed([query]), dtype=np.float32)[0]
        dense = (self.vectors @ query_vector).astype(np.float64)
        lexical_ranks = {i: r for r, i in enumerate(_top(lexical, allowed, candidates), 1)}
        dense_ranks = {i: r for r, i in enumerate(_top(dense, allowed, candidates), 1)}
        query_terms = sorted(set(tokenize(query)))
        best_rrf = 2.0 / (RRF_K + 1)
        scored: list[tuple[float, int, Hit]] = []
        for index in sorted(lexical_ranks.keys() | dense_ranks.keys()):
            reasons: list[str] = []
            rrf = 0.0
            if index in lexical_ranks:
                rank = lexical_ranks[index]
                rrf += 1.0 / (RRF_K + rank)
                reasons.append(f"keyword rank {rank} (BM25 {lexical[index]:.2f})")
            if index in dense_ranks:
                rank = dense_ranks[index]
                rrf += 1.0 / (RRF_K + rank)
                reasons.append(f"meaning rank {rank} (cosine {dense[index]:.2f})")
            covered = [t for t in query_terms if t in self._terms[index]]
            in_heading = [t for t in query_terms if t in self._heading_terms[index]]
            coverage = len(covered) / len(query_terms) if query_terms else 0.0
            heading = len(in_heading) / len(query_terms) if query_terms else 0.0
            if covered:
                reasons.append(
                    f"matches {len(covered)} of {len(query_terms)} query terms: "
                    + ", ".join(covered)
                )
            if in_heading:
                reasons.append("heading matches: " + ", ".join(in_heading))
            score = rrf / best_rrf + COVERAGE_WEIGHT * coverage + HEADING_WEIGHT * heading
            if prior is not None:
                bonus, why = prior(self.chunks[index])
                if bonus:
                    score += bonus
                    reasons.append(why)
            hit = Hit(
                chunk=self.chunks[index],
                score=round(score, 6),
                bm25=float(lexical[index]),
                dense=float(dense[index]),
                reasons=tuple(reasons),
            )
            scored.append((-hit.score, index, hit))
        scored.sort(key=lambda item: (item[0], item[1]))
        return [hit for _, _, hit in scored[:k]]
