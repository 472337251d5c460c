"""Citation precision: does the cited passage support the answer sentence that cites it?

Pure functions, no model: a judgement anyone can recompute and argue with. The rule, for an
answer sentence `S` and the passage `P` it cites (`supports(S, P)`):

1. **Content-term recall.** `S`'s distinct content terms (`retrieval.tokenize`: lower-cased,
   stop words dropped, lightly stemmed; `[n]` markers and bare numbers left out) that also occur
   in `P`, as a share of `S`'s. This is the `score`; below `MIN_RECALL` the verdict is
   "unsupported": the sentence says things the passage does not.
2. **Quantities.** Every number in `S` (digits, with thousands separators or decimals: "1,000",
   "120.00", "6%") must occur in `P` as the same value ("120" matches "120.00"), and when `S`
   gives it a unit (a currency code or symbol, %, hours, days, weeks, months, years, credits),
   `P` must give that value the same unit or none. "Costs 150 EUR" is not supported by a
   passage saying "takes 150 hours", however many words they share.
3. **Negation.** `S` is aligned with the sentence of `P` that shares most of its terms. If one
   of the two has a negation ("not", "no", "never", "without", "none", "cannot", "n't") within
   `NEGATION_WINDOW` words of a term they share and the other has none there, the verdict is
   "unsupported": "the credential does not expire" is not supported by "the credential
   expires after 36 months".

A failed quantity or negation check sets the score to 0. Recall only counts shared words, so
"supported" means "the passage says this, near enough", not "this is true"; a paraphrase with
new words can be judged unsupported, and that is the safe side to err on.

`citation_judgements(answer, documents)` applies the rule to every citation of an `Answer`: the
sentence of the answer text that carries the marker `[n]` against the passage cited as `n`,
which is the source document's text at the citation's offsets when `documents` has it (so a
quote edited away from its source is caught), else the citation's own quote. A citation no
sentence carries, or a marker with no citation, is judged unsupported.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from microcred.ask.answers import Answer, Citation
from microcred.ask.retrieval import tokenize

Verdict = Literal["supported", "unsupported"]

MIN_RECALL = 0.6
NEGATION_WINDOW = 4

NEGATIONS = frozenset({"not", "no", "never", "without", "none", "cannot", "nor", "neither"})

# Units a quantity can carry, by the spelling that follows (or, for currencies, precedes) it.
_UNITS: Mapping[str, str] = {
    "%": "%",
    "percent": "%",
    "per cent": "%",
    "hour": "hour",
    "hours": "hour",
    "hrs": "hour",
    "h": "hour",
    "day": "day",
    "days": "day",
    "week": "week",
    "weeks": "week",
    "month": "month",
    "months": "month",
    "year": "year",
    "years": "year",
    "credit": "credit",
    "credits": "credit",
    "ects": "credit",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "€": "EUR",
    "usd": "USD",
    "$": "USD",
    "dollars": "USD",
    "gbp": "GBP",
    "£": "GBP",
    "pounds": "GBP",
}
_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_QUANTITY = re.compile(
    r"(?P<pre>[€$£]|\b(?:EUR|USD|GBP)\b)?\s?(?P<num>" + _NUMBER + r")"
    r"(?:\s?(?P<post>%|per cent|percent|[a-zA-Z€]+))?"
)
_MARKERS = re.compile(r"\s*(?:\[\d+\])+")
_MARKER_NUMBER = re.compile(r"\[(\d+)\]")
_MARKERS_AFTER_STOP = re.compile(r"([.!?])((?:\s*\[\d+\])+)")
# A sentence also ends after its marker group: a quoted list item has no full stop of its own.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)\]]*\s+|(?<=\d\])\s+|\n+")
_SENTENCE_BREAK_IN_PASSAGE = re.compile(r"(?<=[.!?\u2026])[\"'\u201d\u2019)\]]*\s+|\n")
_WORD = re.compile(r"[^\W_]+(?:['\u2019][^\W_]+)?")


@dataclass(frozen=True, slots=True)
class SupportJudgement:
    """`score` in [0, 1] (content-term recall, 0 after a failed hard check) and the verdict."""

    score: float
    verdict: Verdict
    reason: str

    @property
    def supported(self) -> bool:
        return self.verdict == "supported"


@dataclass(frozen=True, slots=True)
class CitationJudgement:
    """One (answer sentence, cited passage) pair of an answer and its judgement."""

    number: int
    sentence: str
    passage: str
    judgement: SupportJudgement


def _value(number: str) -> Decimal | None:
    try:
        return Decimal(number.replace(",", "")).normalize()
    except InvalidOperation:  # pragma: no cover - the pattern only matches valid numbers
        return None


def quantities(text: str) -> set[tuple[Decimal, str | None]]:
    """Each number in `text` as (value, unit or None); "120.00 EUR" is (120, "EUR")."""
    out: set[tuple[Decimal, str | None]] = set()
    for match in _QUANTITY.finditer(text):
        start = match.start("num")
        if start > 0 and (text[start - 1].isalpha() or text[start - 1] == "-"):
            continue  # part of a word or an identifier ("T50", "ISO-9001"), not a quantity
        value = _value(match["num"])
        if value is None:
            continue
        unit = None
        if match["pre"]:
            unit = _UNITS.get(match["pre"].lower())
        if unit is None and match["post"]:
            unit = _UNITS.get(match["post"].lower())
        out.add((value, unit))
    return out


def _content_terms(text: str) -> set[str]:
    return {t for t in tokenize(_MARKERS.sub(" ", text)) if not t.isdigit()}


def _words(text: str) -> list[str]:
    return [w.lower().replace("\u2019", "'") for w in _WORD.findall(text)]


def _is_negation(word: str) -> bool:
    return word in NEGATIONS or word.endswith("n't")


def _negated_near(text: str, shared: set[str]) -> bool:
    """Whether a negation lies within `NEGATION_WINDOW` words of a word whose term is shared."""
    words = _words(text)
    negations = [i for i, w in enumerate(words) if _is_negation(w)]
    if not negations:
        return False
    positions = [i for i, w in enumerate(words) if set(tokenize(w)) & shared]
    return any(abs(n - p) <= NEGATION_WINDOW for n in negations for p in positions)


def _aligned_sentence(terms: set[str], passage: str) -> tuple[str, set[str]]:
    """The passage sentence sharing most of `terms` (the first on ties), and what it shares."""
    best, best_shared = passage, set[str]()
    for piece in _SENTENCE_BREAK_IN_PASSAGE.split(passage):
        shared = terms & _content_terms(piece)
        if len(shared) > len(best_shared):
            best, best_shared = piece, shared
    return best, best_shared


def _quantity_mismatch(sentence: str, passage: str) -> str | None:
    claimed = quantities(sentence)
    if not claimed:
        return None
    found = quantities(passage)
    for value, unit in sorted(claimed, key=lambda q: (q[0], q[1] or "")):
        units = {u for v, u in found if v == value}
        if not units:
            return f"the number {value:f} in the sentence is not in the passage"
        if unit is not None and unit not in units and None not in units:
            given = ", ".join(sorted(u for u in units if u))
            return f"the sentence gives {value:f} in {unit}, the passage in {given}"
    return None


def supports(sentence: str, passage: str) -> SupportJudgement:
    """Whether `passage` supports `sentence`, by the rule in the module docstring."""
    terms = _content_terms(sentence)
    if not terms:
        return SupportJudgement(0.0, "unsupported", "the sentence has no content words to check")
    passage_terms = _content_terms(passage)
    shared = terms & passage_terms
    recall = len(shared) / len(terms)
    recall_text = f"{len(shared)} of {len(terms)} content terms in the passage ({recall:.0%})"
    mismatch = _quantity_mismatch(sentence, passage)
    if mismatch:
        return SupportJudgement(0.0, "unsupported", f"{mismatch}; {recall_text}")
    aligned, aligned_shared = _aligned_sentence(terms, passage)
    if aligned_shared:
        in_sentence = _negated_near(sentence, aligned_shared)
        in_passage = _negated_near(aligned, aligned_shared)
        if in_sentence != in_passage:
            where = "sentence" if in_sentence else "passage"
            return SupportJudgement(
                0.0,
                "unsupported",
                f"negation mismatch: only the {where} negates the shared terms; {recall_text}",
            )
    if recall < MIN_RECALL:
        missing = ", ".join(sorted(terms - passage_terms)[:6])
        return SupportJudgement(
            round(recall, 4),
            "unsupported",
            f"{recall_text}, below {MIN_RECALL:.0%}; not in the passage: {missing}",
        )
    return SupportJudgement(round(recall, 4), "supported", recall_text)


def marked_sentences(text: str) -> list[tuple[str, tuple[int, ...]]]:
    """The answer text as (sentence without markers, marker numbers) pairs, in order.

    Markers written after the full stop ("Shared. [1]", as the extractive composer writes
    them) belong to the sentence before it, like markers written before the stop; a marker
    group followed by a space ends a sentence even without a stop (a quoted list item).
    """
    text = _MARKERS_AFTER_STOP.sub(lambda m: m.group(2) + m.group(1), text)
    out: list[tuple[str, tuple[int, ...]]] = []
    for piece in _SENTENCE_BREAK.split(text):
        numbers = tuple(dict.fromkeys(int(n) for n in _MARKER_NUMBER.findall(piece)))
        sentence = " ".join(_MARKERS.sub(" ", piece).split())
        sentence = re.sub(r"\s+([.!?,;:])", r"\1", sentence)
        if sentence:
            out.append((sentence, numbers))
    return out


def _cited_passage(citation: Citation, documents: Mapping[str, str] | None) -> str:
    if documents is not None and citation.source_id in documents:
        return documents[citation.source_id][citation.start : citation.end]
    return citation.quote


def citation_judgements(
    answer: Answer, documents: Mapping[str, str] | None = None
) -> list[CitationJudgement]:
    """A judgement per (sentence, citation) pair of `answer`; none for an abstention.

    `documents` maps source ids to document text; a citation whose source is there is judged
    against the text at its offsets, not against the quote it claims.
    """
    if answer.abstained:
        return []
    by_number = {c.number: c for c in answer.citations}
    carried: set[int] = set()
    out: list[CitationJudgement] = []
    for sentence, numbers in marked_sentences(answer.text):
        for number in numbers:
            citation = by_number.get(number)
            if citation is None:
                reason = f"the marker [{number}] names no citation"
                out.append(
                    CitationJudgement(
                        number, sentence, "", SupportJudgement(0.0, "unsupported", reason)
                    )
                )
                continue
            carried.add(number)
            passage = _cited_passage(citation, documents)
            out.append(CitationJudgement(number, sentence, passage, supports(sentence, passage)))
    for number, citation in sorted(by_number.items()):
        if number not in carried:
            reason = f"no sentence of the answer carries the marker [{number}]"
            judgement = SupportJudgement(0.0, "unsupported", reason)
            out.append(CitationJudgement(number, "", citation.quote, judgement))
    return out


def citation_precision(answer: Answer, documents: Mapping[str, str] | None = None) -> float | None:
    """Share of `answer`'s citation judgements that are "supported"; None when there are none."""
    judgements = citation_judgements(answer, documents)
    if not judgements:
        return None
    return sum(j.judgement.supported for j in judgements) / len(judgements)
