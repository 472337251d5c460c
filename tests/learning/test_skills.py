"""Skill linking with the dependency-free embedder: ranking, evidence spans, refusals, language."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from microcred.kit.ai.embedder import HashedEmbedder
from microcred.learning.skills import (
    HASHED_WEIGHTS,
    MAX_DOCUMENT_CHARS,
    CharTfidf,
    EmptyText,
    PostingTooLarge,
    SkillConcept,
    SkillIndex,
    char_ngrams,
    detect_language,
    sentences,
)

CONCEPTS = [
    SkillConcept(
        "urn:esco:postgresql", "PostgreSQL", ("Postgres",), "Open-source relational DBMS."
    ),
    SkillConcept("urn:esco:python", "Python (computer programming)", ("Python",)),
    SkillConcept("urn:esco:java", "Java (computer programming)", ("Java",)),
    SkillConcept("urn:esco:sql", "SQL", ("structured query language",)),
    SkillConcept("urn:esco:cook", "cook meals", ("prepare food",)),
    SkillConcept("urn:esco:teamwork", "work in teams", ("teamwork", "collaborate")),
    SkillConcept("urn:esco:customer", "provide customer service", ("customer care",)),
    SkillConcept("urn:esco:forklift", "operate forklift", ("drive forklift",)),
    SkillConcept("urn:esco:accounting", "accounting", ("bookkeeping",)),
]


@pytest.fixture(scope="module")
def index() -> SkillIndex:
    return SkillIndex.build(CONCEPTS, embedder=HashedEmbedder())


def test_link_ranks_the_named_skills_first_with_spans_on_their_words(index: SkillIndex) -> None:
    text = "Experience with PostgreSQL and Python"
    matches = index.link(text, k=3)
    assert {m.uri for m in matches[:2]} == {"urn:esco:postgresql", "urn:esco:python"}
    for match in matches[:2]:
        assert match.span is not None
        assert text[match.span[0] : match.span[1]] == match.evidence
    by_uri = {m.uri: m for m in matches}
    assert by_uri["urn:esco:postgresql"].evidence == "PostgreSQL"
    assert by_uri["urn:esco:python"].evidence == "Python"
    assert by_uri["urn:esco:postgresql"].method == "exact"
    assert matches[0].score >= matches[1].score >= matches[2].score


def test_extract_finds_demanded_skills_with_offsets_into_the_document(index: SkillIndex) -> None:
    posting = (
        "Backend developer\n"
        "We are looking for a developer to join us.\n"
        "- 3+ years of experience with Postgres databases\n"
        "- You write clean Python code. You collaborate in a small team.\n"
        "Bonus: bookkeeping knowledge."
    )
    extraction = index.extract(posting)
    uris = [m.uri for m in extraction.matches]
    assert "urn:esco:postgresql" in uris
    assert "urn:esco:python" in uris
    assert "urn:esco:cook" not in uris
    assert extraction.language == "en"
    assert extraction.language_note is None
    assert extraction.sentences >= 4
    assert len(uris) == len(set(uris))  # one entry per skill
    assert [m.score for m in extraction.matches] == sorted(
        (m.score for m in extraction.matches), reverse=True
    )
    for match in extraction.matches:
        assert match.span is not None
        assert posting[match.span[0] : match.span[1]] == match.evidence


def test_extract_respects_min_score_and_max_skills(index: SkillIndex) -> None:
    posting = "Python, PostgreSQL, SQL, Java, forklift, accounting and customer service."
    assert len(index.extract(posting, max_skills=2).matches) == 2
    assert index.extract(posting, min_score=5.0).matches == []


def test_empty_and_oversized_texts_are_refused(index: SkillIndex) -> None:
    with pytest.raises(EmptyText):
        index.extract("   \n ")
    with pytest.raises(EmptyText):
        index.link("")
    with pytest.raises(PostingTooLarge, match="100,000"):
        index.extract("Python " * (MAX_DOCUMENT_CHARS // 7 + 1))


def test_a_german_posting_is_flagged_and_still_linked(index: SkillIndex) -> None:
    posting = (
        "Wir suchen eine Entwicklerin oder einen Entwickler für unser Team in Berlin. "
        "Sie haben Erfahrung mit PostgreSQL und Python und arbeiten gerne im Team."
    )
    extraction = index.extract(posting)
    assert extraction.language == "de"
    assert extraction.language_note is not None
    assert "English" in extraction.language_note
    assert "urn:esco:postgresql" in {m.uri for m in extraction.matches}


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("We are looking for a nurse with experience in the care of older people.", "en"),
        ("Nous recherchons un développeur avec une expérience dans le domaine.", "fr"),
        ("Buscamos un desarrollador con experiencia en el sector de la salud.", "es"),
        ("Wij zoeken een collega met ervaring in de zorg voor ouderen.", "nl"),
        ("Python SQL", "und"),
    ],
)
def test_detect_language(text: str, language: str) -> None:
    found, confidence = detect_language(text)
    assert found == language
    assert 0.0 <= confidence <= 1.0


def test_linking_is_deterministic() -> None:
    text = "Cook meals for guests and provide customer service at the counter"
    first = SkillIndex.build(CONCEPTS).link(text, k=4)
    second = SkillIndex.build(CONCEPTS, embedder=HashedEmbedder()).link(text, k=4)
    assert first == second
    assert {m.uri for m in first[:2]} == {"urn:esco:cook", "urn:esco:customer"}


def test_search_puts_prefix_hits_first(index: SkillIndex) -> None:
    results = index.search("postg", k=3)
    assert results[0].uri == "urn:esco:postgresql"
    assert index.search("  ") == []


def test_sentences_split_lines_bullets_and_run_together_text() -> None:
    document = "Who you are:You must be kind.\n* Python\n* SQL. Great pay!"
    pieces = [p.text for p in sentences(document)]
    assert pieces == ["Who you are:", "You must be kind.", "Python", "SQL.", "Great pay!"]
    for piece in sentences(document):
        assert document[piece.start : piece.end] == piece.text


def test_an_index_needs_concepts() -> None:
    with pytest.raises(ValueError, match="at least one"):
        SkillIndex.build([])


def test_char_tfidf_counts_match_per_text_counting() -> None:
    corpus = ["PostgreSQL", "node.js and C++", "cook meals", "a", "", "manage a team, manage"]
    tfidf = CharTfidf(corpus)
    for row, text in enumerate(corpus):
        expected: dict[int, float] = {}
        for gram in char_ngrams(text):
            index = tfidf.vocabulary[gram]
            expected[index] = expected.get(index, 0.0) + 1.0
        counts = tfidf._counts([text])
        assert dict(zip(counts.indices.tolist(), counts.data.tolist(), strict=True)) == expected
        assert np.allclose(tfidf.transform([text]).toarray(), tfidf.matrix[row].toarray())
    # n-grams the corpus never had are ignored
    assert tfidf.transform(["zzqx"]).nnz == 0


def test_extraction_drops_labels_that_share_one_generic_word() -> None:
    concepts = [
        *CONCEPTS,
        SkillConcept("urn:esco:stealth", "stealth technology"),
        SkillConcept("urn:esco:instruct", "give instructions to staff", ("instruct colleagues",)),
    ]
    text = "Technology matters to us. You will support your colleagues. You know PostgreSQL."
    loose = dataclasses.replace(HASHED_WEIGHTS, min_coverage=0.0)
    before = {m.uri for m in SkillIndex.build(concepts, weights=loose).extract(text).matches}
    assert {"urn:esco:stealth", "urn:esco:instruct"} <= before
    index = SkillIndex.build(concepts)
    after = {m.uri for m in index.extract(text).matches}
    assert after == before - {"urn:esco:stealth", "urn:esco:instruct"}
    assert "urn:esco:postgresql" in after
    assert index.coverage("PostgreSQL", {"postgresql"}) == 1.0
    assert index.coverage("stealth technology", {"technology"}) < 0.6


def test_extraction_scores_equal_full_scoring(index: SkillIndex) -> None:
    """The hashed index skips the semantic product for concepts that cannot reach the
    threshold; what it keeps must score exactly as without that shortcut."""
    posting = (
        "We use Postgres and Python every day.\n"
        "- Bookkeeping and customer care are a plus; you drive a forklift"
    )
    pruned = index.extract(posting, min_score=0.3).matches
    full = SkillIndex.build(CONCEPTS)
    full._candidates = lambda *_: None  # type: ignore[assignment,method-assign,return-value]
    assert full.extract(posting, min_score=0.3).matches == pruned
    assert pruned
