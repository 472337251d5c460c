"""The issue 6 evaluation set (bench/data/ask_questions.json) is well-formed and grounded."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from microcred.ask.starter import starter_documents

QUESTIONS = Path(__file__).resolve().parents[2] / "bench" / "data" / "ask_questions.json"
PERSONAS = ("learner", "educator", "employer")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")


def _load() -> list[dict[str, Any]]:
    data = json.loads(QUESTIONS.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    questions = data["questions"]
    assert isinstance(questions, list)
    return questions


def _sections(text: str) -> dict[str, str]:
    """Each heading's own body (up to the next heading of any level), by heading text."""
    out: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.split("\n"):
        match = _HEADING.match(line)
        if match:
            current = out.setdefault(match.group(2).strip(), [])
            continue
        if current is not None:
            current.append(line)
    return {heading: "\n".join(lines) for heading, lines in out.items()}


def test_the_set_is_large_enough_and_covers_every_persona() -> None:
    questions = _load()
    assert len(questions) >= 40
    ids = [q["id"] for q in questions]
    assert len(ids) == len(set(ids)), "ids must be unique"
    answerable = Counter(q["persona"] for q in questions if q["answerable"])
    for persona in PERSONAS:
        assert answerable[persona] >= 10, persona
    assert sum(1 for q in questions if not q["answerable"]) >= 10
    assert {q["persona"] for q in questions} <= set(PERSONAS)


def test_every_item_has_the_expected_shape() -> None:
    for q in _load():
        assert set(q) == {"id", "persona", "question", "answerable", "gold"}, q
        assert isinstance(q["question"], str) and q["question"].strip()
        assert isinstance(q["answerable"], bool)
        if q["answerable"]:
            assert q["gold"], q["id"]
        else:
            assert q["gold"] == [], q["id"]
        for gold in q["gold"]:
            assert set(gold) == {"source_id", "heading", "evidence"}, q["id"]
            assert all(isinstance(v, str) and v.strip() for v in gold.values()), q["id"]


@pytest.mark.parametrize("question", _load(), ids=lambda q: q["id"])
def test_gold_points_at_real_text(question: dict[str, Any]) -> None:
    documents = {d.source_id: d for d in starter_documents()}
    for gold in question["gold"]:
        assert gold["source_id"] in documents, gold["source_id"]
        text = documents[gold["source_id"]].text
        sections = _sections(text)
        assert gold["heading"] in sections, (gold["source_id"], gold["heading"])
        assert gold["evidence"] in text, gold["evidence"]
        # Stricter: the phrase is in the section the gold names, not elsewhere in the article.
        assert gold["evidence"] in sections[gold["heading"]], (gold["heading"], gold["evidence"])
