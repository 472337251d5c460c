"""The starter knowledge base bundled with the package: its documents, answer chunks and sources.

Each starter article ends with a `## Sources` list that its inline markers (`[1]`) refer to.
That list is bibliography, not an answer to anyone's question, and because every chunk's heading
path carries the article title it would otherwise rank well for almost any query. So
`starter_chunks` leaves it out, and `starter_sources` parses it into `{n: text}` per article so
an answer can still show the original source behind a quoted passage.
"""

from __future__ import annotations

import re
from functools import cache
from importlib.resources import files

from microcred.ask.chunking import MARKDOWN, Chunk, Document, chunk, read_document

STARTER_PREFIX = "starter/"

# Section titles whose body is a list of references rather than prose.
BIBLIOGRAPHY_HEADINGS = frozenset({"sources", "references", "bibliography"})

_SOURCE_ITEM = re.compile(r"^\s*(\d+)\.\s+(\S.*?)\s*$")
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")


@cache
def _starter_documents() -> tuple[Document, ...]:
    folder = files("microcred.ask") / "data" / "starter"
    entries = sorted(
        (entry for entry in folder.iterdir() if entry.name.endswith(".md")),
        key=lambda entry: entry.name,
    )
    documents: list[Document] = []
    for entry in entries:
        if entry.name.lower() == "readme.md":
            continue  # describes the collection; it answers no learner's question
        source_id = STARTER_PREFIX + entry.name.removesuffix(".md")
        documents.append(read_document(source_id, entry.read_bytes(), MARKDOWN))
    return tuple(documents)


def starter_documents() -> list[Document]:
    """The bundled starter articles, in file-name order (README excluded)."""
    return list(_starter_documents())


def is_bibliography(chunk_: Chunk) -> bool:
    """Whether a chunk lies in a Sources/References section (at any heading depth)."""
    return any(title.strip().lower() in BIBLIOGRAPHY_HEADINGS for title in chunk_.heading_path)


def starter_chunks(*, max_chars: int = 900) -> list[Chunk]:
    """Chunks of every starter article, without their Sources/References sections."""
    return [
        piece
        for document in _starter_documents()
        for piece in chunk(document, max_chars=max_chars)
        if not is_bibliography(piece)
    ]


def parse_sources(text: str) -> dict[int, str]:
    """The numbered items of a document's Sources/References section, as `{n: text}`.

    Only the section's own body counts; a later heading of the same or a higher level ends it.
    """
    sources: dict[int, str] = {}
    level: int | None = None
    for line in text.split("\n"):
        heading = _HEADING.match(line)
        if heading:
            depth = len(heading.group(1))
            if heading.group(2).strip().lower() in BIBLIOGRAPHY_HEADINGS:
                level = depth
            elif level is not None and depth <= level:
                level = None
            continue
        if level is None:
            continue
        item = _SOURCE_ITEM.match(line)
        if item:
            # The first entry under a number wins: a duplicate number is an authoring slip.
            sources.setdefault(int(item.group(1)), item.group(2))
    return sources


def starter_sources() -> dict[str, dict[int, str]]:
    """Per starter source_id, its numbered sources: `{source_id: {n: text}}`."""
    return {document.source_id: parse_sources(document.text) for document in _starter_documents()}
