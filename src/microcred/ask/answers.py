"""Grounded answers composed offline from retrieved passages: extractive and template-based.

`compose(question, hits)` never writes a fact of its own. It splits the retrieved chunks into
sentences, scores each by the share of the question's terms it contains (weighted by the rank
of its passage, with a small boost for the persona's vocabulary and an MMR-style redundancy
penalty), and quotes the best few, each followed by an `[n]` marker whose `Citation` holds the
exact sentence and its offsets in the source document. Every answer sentence is therefore a
quotation, supported by construction.

Terms are weighted by how informative they are when the caller passes `term_weights` (the
index's idf per question term, `HybridIndex.term_weights(question)`); without them every term
counts 1. The composer abstains, an honest "the sources do not cover this" beating a fluent
answer to a different question, when either

- the quoted sentences cover less than `min_coverage` of the question's term weight: "How do
  I bake a credential?" shares "credential" with half the knowledge base, but "credential"
  carries little weight and "bake", which no passage says, carries most of it; or
- with `term_weights`, a term they miss carries more than `max_missing_share` of that weight
  on its own: a question dominated by one informative word is about that word, so the word
  must be in the answer, however many generic words around it are.

Passage text is data. A passage saying "ignore previous instructions" is scored by word
overlap like any other sentence; nothing here interprets it, so it can only ever be quoted,
and only when its words are the best evidence for the question's words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, get_args

from microcred.ask.retrieval import MAX_QUERY_CHARS, Hit, tokenize

Persona = Literal["learner", "educator", "employer", "unspecified"]
PERSONAS: tuple[str, ...] = get_args(Persona)

MIN_COVERAGE = 0.5
# With idf weights: no single question term the quotes miss may carry more than this share of
# the question's weight. Set on the starter-article questions (the strictest value that cost no
# answer there), then checked unchanged on the catalogue and near-miss questions.
MAX_MISSING_SHARE = 0.45
# A sentence must score at least this share of the best sentence's relevance to be quoted:
# a sentence matching one generic word ("credential") is not evidence for a three-word question.
RELATIVE_FLOOR = 0.5
# Beyond the first, a sentence below this share of the best one must bring a question term the
# chosen ones lack: "There is no single price" matches "micro-credential" but answers nothing.
PADDING_FLOOR = 0.8
PERSONA_BOOST = 0.15
REDUNDANCY_PENALTY = 0.3
# Later passages count somewhat less; the retriever already put the best evidence first.
RANK_DECAY = 0.15
# Fragments such as "Steps:" or a bare list label say nothing on their own.
MIN_SENTENCE_TERMS = 3

LEAD_INS: Mapping[str, str] = {
    "learner": "For you as a learner:",
    "employer": "For employers:",
    "educator": "For course designers:",
    "unspecified": "",
}

# Word prefixes, so "sharing", "hired", "verification" all count; matched on raw words because
# `tokenize` drops "your" as a stop word, and "your" is exactly what a learner-facing text says.
PERSONA_VOCABULARY: Mapping[str, tuple[str, ...]] = {
    "learner": ("shar", "your", "earn", "cost", "time"),
    "employer": ("verif", "hir", "genuin", "skill", "revok"),
    "educator": ("criteri", "assess", "evidence", "design", "align"),
    "unspecified": (),
}

ABSTAIN_MESSAGE = (
    "The sources available here do not cover this question, so there is no grounded answer to "
    "give. Please ask the institution's credentials office, or see the help pages of the "
    "institution that issued the credential."
)

# A sentence ends at . ! ? (or an ellipsis) plus closing quotes/brackets and a space, or at a
# line break, which in lists separates items; the same rule the chunker uses.
_SENTENCE_BREAK = re.compile("(?<=[.!?\u2026])[\"'\u201d\u2019)\\]]*[ \t]+|\n")
_LIST_BULLET = re.compile(r"(?:[-*+]|\d+[.)])\s+")  # `match(text, pos)` anchors it
# The article's own citation markers ("[1]", "[2][3]") number its bibliography, not ours.
_SOURCE_MARKERS = re.compile(r"\s*(?:\[\d+\])+")
_MARKER_NUMBER = re.compile(r"\[(\d+)\]")
_WORD = re.compile(r"[^\W_]+")

# Words that frame a question without naming its topic, beyond the retriever's stop words:
# "What should I know about X?" is a question about X, and a passage need not say "should".
# Hedging adverbs ("usually", "actually") and the function words of a standard English stop
# list that the retriever keeps ("many", "much", "over") are filler too: sources rarely use
# them, and with idf weights a word no source uses would otherwise look like the topic.
QUESTION_FILLER = frozenset(
    tokenize(
        "about actually also any anything exactly explain generally know knowing mean means "
        "need please really should tell typically usually want wondering "
        "after again against all am before between both down during each few further here "
        "get just many more most much nor off once only other out over same some such "
        "through too under until up very while"
    )
)


@dataclass(frozen=True, slots=True)
class Citation:
    """One quoted sentence: `quote` is verbatim `document.text[start:end]`.

    `sources` are the bibliography entries that the article's own markers in the quote refer to
    (empty when the caller passed no source lists or the quote has no markers).
    """

    number: int
    source_id: str
    heading_path: tuple[str, ...]
    quote: str
    start: int
    end: int
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Answer:
    text: str
    citations: list[Citation]
    abstained: bool
    reason: str
    persona: str
    sentences: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Sentence:
    hit_rank: int
    hit: Hit
    local_start: int
    local_end: int
    text: str
    terms: frozenset[str]


def validate_question(question: str) -> str:
    """The question stripped, or a `ValueError` saying what is wrong with it."""
    if len(question) > MAX_QUERY_CHARS:
        raise ValueError(
            f"the question is {len(question):,} characters long; the limit is {MAX_QUERY_CHARS:,}"
        )
    stripped = question.strip()
    if not stripped:
        raise ValueError("the question is empty; type a question about micro-credentials")
    return stripped


def validate_persona(persona: str) -> Persona:
    if persona not in PERSONAS:
        raise ValueError(f"unknown persona {persona!r}; expected one of: {', '.join(PERSONAS)}")
    return persona  # type: ignore[return-value]  # narrowed by the membership test above


def strip_source_markers(text: str) -> str:
    """A sentence without the article's `[n]` markers ("skills [1]." becomes "skills.")."""
    return _SOURCE_MARKERS.sub("", text).strip()


def _sentences(rank: int, hit: Hit) -> list[_Sentence]:
    text = hit.chunk.text
    out: list[_Sentence] = []
    cursor = 0
    pieces: list[tuple[int, int]] = []
    for match in _SENTENCE_BREAK.finditer(text):
        pieces.append((cursor, match.start()))
        cursor = match.end()
    pieces.append((cursor, len(text)))
    for piece_start, piece_end in pieces:
        start, end = piece_start, piece_end
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        bullet = _LIST_BULLET.match(text, start, end)
        if bullet:
            start = bullet.end()  # the quote stays verbatim: it simply starts after the bullet
        sentence = text[start:end]
        terms = frozenset(tokenize(sentence))
        if len(terms) < MIN_SENTENCE_TERMS or sentence.endswith(":"):
            continue  # fragments and list lead-ins do not stand alone as an answer
        out.append(_Sentence(rank, hit, start, end, sentence, terms))
    return out


def _persona_hits(sentence: str, persona: Persona) -> int:
    prefixes = PERSONA_VOCABULARY[persona]
    if not prefixes:
        return 0
    words = _WORD.findall(sentence.lower())
    return sum(1 for w in words if w.startswith(prefixes))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    union = a | b
    return len(a & b) / len(union) if union else 0.0


def _weights(
    query_terms: frozenset[str], term_weights: Mapping[str, float] | None
) -> dict[str, float]:
    """A positive weight per query term: the caller's, the largest given for a missing term."""
    if term_weights is None:
        return dict.fromkeys(query_terms, 1.0)
    given = {t: float(term_weights[t]) for t in query_terms if t in term_weights}
    fallback = max(given.values(), default=1.0)
    # A zero or negative weight would let a term count for nothing; keep every term in play.
    return {t: max(given.get(t, fallback), 1e-6) for t in query_terms}


def _abstain(persona: Persona, reason: str) -> Answer:
    return Answer(
        text=ABSTAIN_MESSAGE, citations=[], abstained=True, reason=reason, persona=persona
    )


def compose(
    question: str,
    hits: Sequence[Hit],
    *,
    persona: Persona = "unspecified",
    max_sentences: int = 4,
    sources: Mapping[str, Mapping[int, str]] | None = None,
    min_coverage: float = MIN_COVERAGE,
    term_weights: Mapping[str, float] | None = None,
    max_missing_share: float = MAX_MISSING_SHARE,
) -> Answer:
    """An extractive answer to `question` from `hits` (best first), or an abstention.

    `sources` maps a source_id to its numbered bibliography (see `starter.starter_sources`), so
    each citation can name the original source behind its quote. `term_weights` maps question
    terms (as `tokenize` writes them) to how informative they are, normally
    `index.term_weights(question)`; a term it lacks gets its largest weight, and without it
    every term weighs 1 and no term is singled out as the one that must be covered.
    """
    question = validate_question(question)
    persona = validate_persona(persona)
    if max_sentences < 1:
        raise ValueError("max_sentences must be at least 1")
    query_terms = frozenset(tokenize(question)) - QUESTION_FILLER
    if not query_terms:
        return _abstain(persona, "the question has no content words to look for")
    if not hits:
        return _abstain(persona, "no passage in the knowledge base matched the question")

    weights = _weights(query_terms, term_weights)
    total = sum(weights.values())

    candidates = [s for rank, hit in enumerate(hits) for s in _sentences(rank, hit)]
    relevance: dict[int, float] = {}
    for index, sentence in enumerate(candidates):
        overlap = sum(weights[t] for t in sentence.terms & query_terms) / total
        if overlap == 0:
            continue  # shares no word with the question: it cannot be evidence for it
        weight = 1.0 / (1.0 + RANK_DECAY * sentence.hit_rank)
        boost = PERSONA_BOOST * min(1.0, _persona_hits(sentence.text, persona) / 2)
        # The boost scales with the overlap so persona words alone never lift a sentence in.
        relevance[index] = overlap * weight * (1.0 + boost)
    if not relevance:
        return _abstain(
            persona, "no retrieved passage shares a content word with the question's terms"
        )

    top = max(relevance.values())
    floor = RELATIVE_FLOOR * top
    pool = [i for i, score in relevance.items() if score >= floor]
    chosen: list[int] = []
    seen_texts: set[str] = set()
    while pool and len(chosen) < max_sentences:
        # MMR: relevance minus a penalty for repeating what is already chosen; ties go to the
        # earlier candidate (better passage, earlier position), so the result is deterministic.
        def mmr(i: int) -> tuple[float, int]:
            redundancy = max(
                (_jaccard(candidates[i].terms, candidates[j].terms) for j in chosen), default=0.0
            )
            return (relevance[i] - REDUNDANCY_PENALTY * redundancy, -i)

        best = max(pool, key=mmr)
        pool.remove(best)
        normalised = " ".join(strip_source_markers(candidates[best].text).split())
        if normalised in seen_texts:
            continue  # chunk overlap repeats a sentence; quoting it twice adds nothing
        if chosen and relevance[best] < PADDING_FLOOR * top:
            so_far = frozenset().union(*(candidates[j].terms for j in chosen))
            if not (candidates[best].terms & query_terms) - so_far:
                # A weaker sentence that adds no question term is padding, not evidence.
                continue
        seen_texts.add(normalised)
        chosen.append(best)

    covered = query_terms & frozenset().union(*(candidates[i].terms for i in chosen))
    coverage = sum(weights[t] for t in covered) / total
    missing = ", ".join(sorted(query_terms - covered))
    weighted = " by informativeness" if term_weights is not None else ""
    if coverage < min_coverage:
        return _abstain(
            persona,
            f"the best passages cover {len(covered)} of {len(query_terms)} question terms, "
            f"{coverage:.0%} of their weight{weighted} (below {min_coverage:.0%}); "
            f"not found: {missing}",
        )
    heaviest = max(query_terms - covered, key=lambda t: (weights[t], t), default=None)
    if (
        term_weights is not None
        and heaviest is not None
        and weights[heaviest] / total > max_missing_share
    ):
        return _abstain(
            persona,
            f"the best passages miss {heaviest!r}, which carries "
            f"{weights[heaviest] / total:.0%} of the question's weight by informativeness "
            f"(more than {max_missing_share:.0%}); not found: {missing}",
        )

    # Readable order: as the retriever ranked the passages, then as each passage reads.
    chosen.sort(key=lambda i: (candidates[i].hit_rank, candidates[i].local_start))
    citations: list[Citation] = []
    rendered: list[str] = []
    for number, index in enumerate(chosen, 1):
        sentence = candidates[index]
        chunk_ = sentence.hit.chunk
        bibliography = (sources or {}).get(chunk_.source_id, {})
        referenced = dict.fromkeys(int(n) for n in _MARKER_NUMBER.findall(sentence.text))
        citations.append(
            Citation(
                number=number,
                source_id=chunk_.source_id,
                heading_path=chunk_.heading_path,
                quote=sentence.text,
                start=chunk_.start + sentence.local_start,
                end=chunk_.start + sentence.local_end,
                sources=tuple(bibliography[n] for n in referenced if n in bibliography),
            )
        )
        rendered.append(f"{strip_source_markers(sentence.text)} [{number}]")
    body = " ".join(rendered)
    lead_in = LEAD_INS[persona]
    return Answer(
        text=f"{lead_in}\n{body}" if lead_in else body,
        citations=citations,
        abstained=False,
        reason=(
            f"quoted {len(citations)} sentence(s) from {len({c.source_id for c in citations})} "
            f"source(s), covering {len(covered)} of {len(query_terms)} question terms"
        ),
        persona=persona,
        sentences=[strip_source_markers(candidates[i].text) for i in chosen],
    )
