"""The starter knowledge base: structure and citations of every shipped article."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

STARTER = Path(__file__).resolve().parents[2] / "src/microcred/ask/data/starter"
ARTICLES = sorted(p for p in STARTER.glob("*.md") if p.name != "README.md")

CITATION = re.compile(r"\[(\d+)\]")
SOURCE_ITEM = re.compile(r"^(\d+)\.\s+\S")


def _split_sources(text: str) -> tuple[str, str]:
    """Return (the article before its Sources section, the Sources section's body)."""
    lines = text.splitlines()
    idx = next(i for i, line in enumerate(lines) if line.strip() == "## Sources")
    return "\n".join(lines[:idx]), "\n".join(lines[idx + 1 :])


def test_there_are_ten_to_twelve_articles() -> None:
    assert 10 <= len(ARTICLES) <= 12, [p.name for p in ARTICLES]
    assert (STARTER / "README.md").is_file()


@pytest.mark.parametrize("path", ARTICLES, ids=lambda p: p.name)
def test_article_structure(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    first = next(line for line in lines if line.strip())
    assert first.startswith("# ") and first[2:].strip(), "first line must be the title"
    assert sum(1 for line in lines if line.startswith("# ")) == 1, "exactly one title"

    titles = [line[3:].strip() for line in lines if line.startswith("## ")]
    assert titles.count("Sources") == 1
    assert titles[-1] == "Sources", "Sources must be the last section"
    assert len(titles) - 1 >= 2, "at least two sections besides Sources"

    words = len(re.findall(r"\S+", text))
    assert 200 <= words <= 800, words


@pytest.mark.parametrize("path", ARTICLES, ids=lambda p: p.name)
def test_citations_match_sources(path: Path) -> None:
    body, sources = _split_sources(path.read_text(encoding="utf-8"))
    listed = [
        int(m.group(1)) for line in sources.splitlines() if (m := SOURCE_ITEM.match(line.strip()))
    ]
    assert listed, "at least one numbered source"
    assert listed == list(range(1, len(listed) + 1)), "sources numbered 1..n in order"

    cited = {int(n) for n in CITATION.findall(body)}
    assert cited <= set(listed), f"cited but not listed: {sorted(cited - set(listed))}"
    assert set(listed) <= cited, f"listed but never cited: {sorted(set(listed) - cited)}"
    assert not CITATION.findall(sources), "no citations inside the Sources list"
