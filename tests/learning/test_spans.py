"""The skill-span tagger: the bundled model on a realistic sentence, offsets, determinism."""

from __future__ import annotations

import itertools
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from microcred.learning.spans import (
    Sentence,
    Span,
    SpanTagger,
    bio_spans,
    bundled_tagger,
    joint_tags,
    sentences,
    split_tags,
    tokenize,
    train,
)

POSTING = "You have experience with Python and PostgreSQL and can communicate with stakeholders"


def test_bundled_model_tags_a_posting_sentence() -> None:
    found = bundled_tagger().tag(POSTING)
    for span in found:
        assert POSTING[span.start : span.end] == span.text
        assert 0.0 < span.confidence <= 1.0
    knowledge = {s.text for s in found if s.kind == "knowledge"}
    skills = {s.text for s in found if s.kind == "skill"}
    assert {"Python", "PostgreSQL"} <= knowledge
    assert any("communicate" in s for s in skills)


def test_spans_carry_offsets_into_a_multi_line_posting() -> None:
    text = "About us: we sell shoes.\n\nRequirements:\n- Strong knowledge of Java and SQL\n"
    found = bundled_tagger().tag(text)
    assert found == sorted(found, key=lambda s: (s.start, s.end, s.kind))
    assert all(text[s.start : s.end] == s.text for s in found)
    assert {"Java", "SQL"} <= {s.text for s in found if s.kind == "knowledge"}


def test_empty_and_blank_text_have_no_spans() -> None:
    assert bundled_tagger().tag("") == []
    assert bundled_tagger().tag(" \n\t ") == []


def _check(text: str, found: list[Span]) -> None:
    for span in found:
        assert 0 <= span.start < span.end <= len(text)
        assert text[span.start : span.end] == span.text
    for kind in ("skill", "knowledge"):
        # Spans of one kind never overlap; a knowledge span may sit inside a skill span.
        same = [s for s in found if s.kind == kind]
        assert all(a.end <= b.start for a, b in itertools.pairwise(same))


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300))
def test_offsets_in_bounds_and_non_overlapping_for_any_text(text: str) -> None:
    _check(text, bundled_tagger().tag(text))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "Python",
                "SQL",
                "experience",
                "with",
                "and",
                "manage",
                "teams",
                ".",
                "\n",
                "•",
                "C++",
                "e.g.",
                "communicate",
                "stakeholders",
                ",",
                "Node.js",
                "knowledge",
                "of",
            ]
        ),
        max_size=40,
    )
)
def test_offsets_hold_for_posting_like_text(words: list[str]) -> None:
    text = " ".join(words)
    _check(text, bundled_tagger().tag(text))


def test_tokens_and_sentences_keep_offsets() -> None:
    text = "Use C++, C# and Node.js (e.g. for CI/CD).\nThen rest"
    tokens = tokenize(text)
    assert [t.text for t in tokens][:6] == ["Use", "C++", ",", "C#", "and", "Node.js"]
    assert all(text[t.start : t.end] == t.text for t in tokens)
    assert [[t.text for t in s][-1] for s in sentences(text)] == [".", "rest"]


def test_joint_tags_round_trip_and_chunking() -> None:
    skill = ["B", "I", "I", "O", "I"]
    knowledge = ["O", "B-Knowledge", "O", "O", "O"]
    joint = joint_tags(skill, knowledge)
    assert joint[1] == "I-S|B-K"
    assert split_tags(joint) == (["B", "I", "I", "O", "I"], ["O", "B", "O", "O", "O"])
    assert bio_spans(skill) == [(0, 3), (4, 5)]


TINY = [
    Sentence(("Experience", "with", "Python", "."), ("O",) * 4, ("O", "O", "B", "O")),
    Sentence(("You", "manage", "teams", "well"), ("O", "B", "I", "O"), ("O", "O", "O", "O")),
    Sentence(("Knowledge", "of", "SQL", "databases"), ("O",) * 4, ("O", "O", "B", "I")),
]


def test_train_is_deterministic(tmp_path: Path) -> None:
    first = train(TINY, tmp_path / "a.crfsuite", params={"max_iterations": 30})
    second = train(TINY, tmp_path / "b.crfsuite", params={"max_iterations": 30})
    assert first.read_bytes() == second.read_bytes()
    tagger = SpanTagger(first)
    found = tagger.tag("Knowledge of Python .")
    assert found == SpanTagger(second).tag("Knowledge of Python .")
