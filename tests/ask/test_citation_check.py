"""The citation checker: term recall, quantities, negation, and whole answers."""

from __future__ import annotations

from microcred.ask.answers import Answer, Citation
from microcred.ask.citation_check import (
    citation_judgements,
    citation_precision,
    marked_sentences,
    supports,
)

PASSAGE = (
    "SQL Foundations costs 150.00 EUR. SQL Foundations takes about 16 hours of study in total. "
    "A SQL Foundations credential does not expire once it is issued."
)


def test_a_verbatim_or_close_sentence_is_supported() -> None:
    judgement = supports("SQL Foundations costs 150 EUR.", PASSAGE)
    assert judgement.supported and judgement.verdict == "supported"
    assert judgement.score == 1.0
    assert supports("SQL Foundations takes about 16 hours of study.", PASSAGE).supported


def test_a_sentence_about_something_else_is_unsupported() -> None:
    judgement = supports("Employers verify badges online before they hire.", PASSAGE)
    assert not judgement.supported
    assert 0.0 <= judgement.score < 0.6
    assert "below 60%" in judgement.reason
    assert not supports("", PASSAGE).supported


def test_numbers_and_units_must_match() -> None:
    wrong_price = supports("SQL Foundations costs 160 EUR.", PASSAGE)
    assert not wrong_price.supported and wrong_price.score == 0.0
    assert "160" in wrong_price.reason
    # Same number, other unit: the passage gives 16 in hours, not months.
    wrong_unit = supports("SQL Foundations takes about 16 months of study.", PASSAGE)
    assert not wrong_unit.supported and "month" in wrong_unit.reason
    assert supports("Prices start at 1,000 USD.", "Prices start at USD 1000.").supported


def test_negation_mismatch_is_unsupported() -> None:
    negated = supports("A SQL Foundations credential expires once it is issued.", PASSAGE)
    assert not negated.supported and "negation" in negated.reason
    added = supports(
        "The credential does not show the learner's grade.",
        "The credential shows the learner's grade and the date.",
    )
    assert not added.supported and "negation" in added.reason
    assert supports("A SQL Foundations credential does not expire.", PASSAGE).supported
    assert not supports("A badge isn't shareable.", "A badge is shareable.").supported


def test_marked_sentences_take_markers_before_or_after_the_stop() -> None:
    assert marked_sentences("For employers:\nShared. [1] Next one [2][3]. Last [4].") == [
        ("For employers:", ()),
        ("Shared.", (1,)),
        ("Next one.", (2, 3)),
        ("Last.", (4,)),
    ]


def _answer(text: str, citations: list[Citation]) -> Answer:
    return Answer(text=text, citations=citations, abstained=False, reason="", persona="learner")


def test_whole_answers_are_checked_against_the_source_offsets() -> None:
    price = "SQL Foundations costs 150.00 EUR."
    citation = Citation(1, "cat/sql", ("SQL Foundations",), price, 0, len(price))
    good = _answer(f"{price} [1]", [citation])
    assert citation_precision(good, {"cat/sql": PASSAGE}) == 1.0
    # A staff correction that changes the figure fails against the cited passage.
    edited = _answer("SQL Foundations costs 99.00 EUR. [1]", [citation])
    assert citation_precision(edited, {"cat/sql": PASSAGE}) == 0.0
    # A quote that claims words the source does not have at its offsets is judged by the source.
    forged = Citation(1, "cat/sql", (), "SQL Foundations costs 99.00 EUR.", 0, len(price))
    claimed = _answer("SQL Foundations costs 99.00 EUR. [1]", [forged])
    assert citation_precision(claimed) == 1.0  # against its own quote only
    assert citation_precision(claimed, {"cat/sql": PASSAGE}) == 0.0


def test_dangling_markers_and_uncarried_citations_are_unsupported() -> None:
    price = "SQL Foundations costs 150.00 EUR."
    citation = Citation(1, "cat/sql", (), price, 0, len(price))
    judgements = citation_judgements(_answer(f"{price} [2]", [citation]))
    assert [j.number for j in judgements] == [2, 1]
    assert not any(j.judgement.supported for j in judgements)
    abstained = Answer(text="No.", citations=[], abstained=True, reason="", persona="learner")
    assert citation_judgements(abstained) == [] and citation_precision(abstained) is None
