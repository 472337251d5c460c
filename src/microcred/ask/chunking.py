"""Reading knowledge-base sources into plain text, and cutting that text into chunks.

`read_document` turns the bytes of a Markdown, HTML, PDF or plain-text source into a
`Document` whose `text` is normalised (NFC, `\\n` line ends, no control characters). HTML is
rewritten as Markdown-style text on the way in (h1-h6 become `#` headings, paragraphs and list
items keep their breaks, script and style are dropped), so one chunker serves both formats.

`chunk` splits a document by its headings, then packs sentences (or lines, for lists) into
chunks of at most `max_chars`, preferring to end a chunk at a paragraph break. Every chunk
carries its heading path and its character offsets, and `document.text[start:end]` is exactly
its text: a citation can always point back into the source.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass
from html.parser import HTMLParser

DEFAULT_MAX_BYTES = 5_000_000

MARKDOWN = "text/markdown"
HTML = "text/html"
PDF = "application/pdf"
PLAIN = "text/plain"
SUPPORTED_MEDIA_TYPES = (MARKDOWN, HTML, PDF, PLAIN)


class DocumentError(ValueError):
    """A source that cannot become a `Document`."""


class UnsupportedDocument(DocumentError):
    """The media type is not one the knowledge base reads."""


class UnreadableDocument(DocumentError):
    """The bytes do not decode, do not parse, or hold no text."""


class DocumentTooLarge(DocumentError):
    """The source is over the size limit."""


@dataclass(frozen=True, slots=True)
class Document:
    source_id: str
    title: str
    text: str
    media_type: str


@dataclass(frozen=True, slots=True)
class Chunk:
    source_id: str
    ordinal: int
    heading_path: tuple[str, ...]
    text: str
    start: int
    end: int


# ---------------------------------------------------------------------------------------------
# Reading

# Control characters other than tab and newline would end up in prompts and HTML later.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_MANY_BLANK_LINES = re.compile(r"\n{3,}")


def normalise_text(text: str) -> str:
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text.replace("\f", "\n\n"))
    text = _TRAILING_SPACE.sub("\n", text)
    return _MANY_BLANK_LINES.sub("\n\n", text).strip()


# A line that starts a block of its own: heading, list item, quote, table row, fence, rule.
_BLOCK_START = re.compile(r"^\s*(?:#{1,6}\s|[-*+]\s|\d+[.)]\s|>|\||```|~~~|---|\*\*\*|___)")
_CODE_INDENT = re.compile(r"^(?: {4}|\t)")


def unwrap_soft_breaks(text: str) -> str:
    """Join hard-wrapped lines of a paragraph into one line.

    Editors and PDF text wrap paragraphs at a fixed width; a sentence split over two lines
    would otherwise read as two fragments (answers quote whole sentences, and a line break
    ends one). Blank lines, headings, list items, quotes, tables and code stay as they are.
    The result has the same characters except newlines turned into spaces, so it is still
    the text every offset points into once stored."""
    lines = text.split("\n")
    out: list[str] = []
    fenced = False
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(("```", "~~~")):
            fenced = not fenced
            out.append(line)
            continue
        previous = out[-1] if out else ""
        joinable = (
            not fenced
            and stripped
            and previous.strip()
            and not _BLOCK_START.match(line)
            and not _CODE_INDENT.match(line)
            and not previous.lstrip().startswith(("#", "|", "```", "~~~"))
            and not _CODE_INDENT.match(previous)
        )
        if joinable:
            out[-1] = previous.rstrip() + " " + stripped
        else:
            out.append(line)
    return "\n".join(out)


def _decode(data: bytes, charset: str | None) -> str:
    encoding = charset or "utf-8-sig"
    if encoding.lower().replace("_", "-") in {"utf-8", "utf8"}:
        encoding = "utf-8-sig"  # a BOM is not part of the text
    try:
        return data.decode(encoding)
    except LookupError as error:
        raise UnreadableDocument(f"unknown character set {charset!r}") from error
    except UnicodeDecodeError as error:
        raise UnreadableDocument(
            f"the document is not valid {charset or 'UTF-8'} text (byte {error.start})"
        ) from error


def _parse_media_type(media_type: str) -> tuple[str, str | None]:
    main, _, params = media_type.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    return main.strip().lower(), charset


_HEADING_TAGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
_BLOCK_TAGS = {
    "p", "div", "section", "article", "main", "header", "footer", "aside", "nav", "blockquote",
    "pre", "table", "tr", "ul", "ol", "dl", "dt", "dd", "figure", "figcaption", "form",
    "fieldset", "address", "details", "summary", "hr",
}  # fmt: skip
# Their content is never text a reader sees; it is dropped, never run.
_SKIPPED_TAGS = {"script", "style", "template", "noscript", "head", "svg", "iframe", "object"}


class _HTMLText(HTMLParser):
    """HTML to Markdown-style text: headings as `#` lines, blocks as paragraphs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title_parts: list[str] = []
        self._skip_depth = 0
        self._in_title = False
        self._heading: list[str] | None = None
        self._heading_level = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip_depth += 1
        elif tag == "title":
            self._in_title = True
        elif tag in _HEADING_TAGS:
            self._heading = []
            self._heading_level = _HEADING_TAGS[tag]
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")
        elif tag in {"td", "th"}:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # A self-closed <script/> opens nothing, so it must not start skipping.
        if tag not in _SKIPPED_TAGS:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag == "title":
            self._in_title = False
        elif tag in _HEADING_TAGS and self._heading is not None:
            heading = " ".join("".join(self._heading).split())
            self._heading = None
            if heading:
                self.parts.append(f"\n\n{'#' * self._heading_level} {heading}\n\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title_parts.append(data)
        elif self._skip_depth:
            return
        elif self._heading is not None:
            self._heading.append(data)
        else:
            # Source line breaks inside a paragraph are layout, not structure.
            self.parts.append(re.sub(r"\s+", " ", data))


def _html_to_text(html: str) -> tuple[str, str]:
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return text, " ".join("".join(parser.title_parts).split())


def _pdf_to_text(data: bytes) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            raise UnreadableDocument("the PDF is encrypted")
        pages = [page.extract_text() or "" for page in reader.pages]
    except UnreadableDocument:
        raise
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as error:
        raise UnreadableDocument(f"the PDF cannot be read: {error}") from error
    return "\n\n".join(pages)


_MD_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")


def _first_heading(text: str) -> str | None:
    for line in text.split("\n"):
        match = _MD_HEADING.match(line)
        if match and match.group(2).strip():
            return match.group(2).strip()
    return None


def read_document(
    source_id: str, data: bytes, media_type: str, *, max_bytes: int = DEFAULT_MAX_BYTES
) -> Document:
    """The normalised text of a source, or a `DocumentError` that says why not."""
    kind, charset = _parse_media_type(media_type)
    if kind not in SUPPORTED_MEDIA_TYPES:
        raise UnsupportedDocument(
            f"unsupported document type {kind!r}; supported: {', '.join(SUPPORTED_MEDIA_TYPES)}"
        )
    if len(data) > max_bytes:
        raise DocumentTooLarge(f"the document is {len(data):,} bytes; the limit is {max_bytes:,}")
    title: str | None = None
    if kind == PDF:
        text = normalise_text(unwrap_soft_breaks(normalise_text(_pdf_to_text(data))))
        if not text:
            raise UnreadableDocument(
                "the PDF has no extractable text (a scanned image?); upload a text version"
            )
    elif kind == HTML:
        raw, html_title = _html_to_text(_decode(data, charset))
        text = normalise_text(raw)
        title = html_title or None
    else:
        text = normalise_text(unwrap_soft_breaks(normalise_text(_decode(data, charset))))
    if kind in (MARKDOWN, HTML):
        title = title or _first_heading(text)
    return Document(source_id=source_id, title=title or source_id, text=text, media_type=kind)


# ---------------------------------------------------------------------------------------------
# Chunking

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")
# A unit ends after sentence punctuation (and closing quotes or brackets) followed by space,
# or at a single line break, which in lists and addresses separates items.
_UNIT_BREAK = re.compile("(?<=[.!?\u2026])[\"'\u201d\u2019)\\]]*[ \t]+|\n")


@dataclass(frozen=True, slots=True)
class _Unit:
    start: int
    end: int
    ends_paragraph: bool


def _sections(document: Document) -> list[tuple[tuple[str, ...], int, int]]:
    """(heading path, body start, body end) per heading section, in document order."""
    text = document.text
    if document.media_type not in (MARKDOWN, HTML):
        return [((), 0, len(text))]
    sections: list[tuple[tuple[str, ...], int, int]] = []
    stack: list[tuple[int, str]] = []
    body_start = 0
    position = 0
    in_fence = False
    for line in text.split("\n"):
        line_end = position + len(line)
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _MD_HEADING.match(line)
        if match and match.group(2).strip():
            sections.append((tuple(title for _, title in stack), body_start, position))
            level = len(match.group(1))
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, match.group(2).strip()))
            body_start = min(line_end + 1, len(text))
        position = line_end + 1
    sections.append((tuple(title for _, title in stack), body_start, len(text)))
    return sections


def _trimmed(text: str, start: int, end: int) -> tuple[int, int] | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _units(text: str, start: int, end: int, max_chars: int) -> list[_Unit]:
    """Sentence-or-line spans of one section, trimmed, none longer than `max_chars`."""
    units: list[_Unit] = []
    paragraphs: list[tuple[int, int]] = []
    cursor = start
    for match in _PARAGRAPH_BREAK.finditer(text, start, end):
        paragraphs.append((cursor, match.start()))
        cursor = match.end()
    paragraphs.append((cursor, end))
    for p_start, p_end in paragraphs:
        pieces: list[tuple[int, int]] = []
        cursor = p_start
        for match in _UNIT_BREAK.finditer(text, p_start, p_end):
            pieces.append((cursor, match.start()))
            cursor = match.end()
        pieces.append((cursor, p_end))
        spans = [span for s, e in pieces if (span := _trimmed(text, s, e))]
        split: list[tuple[int, int]] = []
        for s, e in spans:
            split.extend(_hard_split(text, s, e, max_chars))
        for i, (s, e) in enumerate(split):
            units.append(_Unit(s, e, ends_paragraph=i == len(split) - 1))
    return units


def _hard_split(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """A sentence longer than a chunk, cut at the last space that keeps pieces in bounds."""
    out: list[tuple[int, int]] = []
    while end - start > max_chars:
        cut = text.rfind(" ", start + 1, start + max_chars + 1)
        if cut <= start:
            cut = start + max_chars  # one unbroken run of characters: cut it anywhere
        piece = _trimmed(text, start, cut)
        if piece:
            out.append(piece)
        rest = _trimmed(text, cut, end)
        if rest is None:
            return out
        start = rest[0]
    out.append((start, end))
    return out


def chunk(document: Document, *, max_chars: int = 900, overlap_sentences: int = 1) -> list[Chunk]:
    """The document cut into heading-aware chunks of at most `max_chars` characters.

    Within a section, sentences are packed greedily; when a chunk is full it ends at the last
    paragraph break in its second half if there is one (a clean break needs no overlap),
    otherwise mid-paragraph, and the next chunk then repeats the last `overlap_sentences`
    sentences so that a sentence is never read without its predecessor.
    """
    if max_chars < 20:
        raise ValueError("max_chars must be at least 20")
    if overlap_sentences < 0:
        raise ValueError("overlap_sentences must not be negative")
    text = document.text
    chunks: list[Chunk] = []
    for path, s_start, s_end in _sections(document):
        units = _units(text, s_start, s_end, max_chars)
        i = 0
        while i < len(units):
            j = i
            while j + 1 < len(units) and units[j + 1].end - units[i].start <= max_chars:
                j += 1
            clean_break = units[j].ends_paragraph or j == len(units) - 1
            if not clean_break:
                for candidate in range(j - 1, i - 1, -1):
                    if units[candidate].end - units[i].start < max_chars // 2:
                        break
                    if units[candidate].ends_paragraph:
                        j, clean_break = candidate, True
                        break
            start, end = units[i].start, units[j].end
            chunks.append(Chunk(document.source_id, len(chunks), path, text[start:end], start, end))
            following = j + 1
            if following >= len(units):
                break
            next_i = following
            if not clean_break:
                for overlap in range(overlap_sentences, 0, -1):
                    first = following - overlap
                    # The overlap must leave room for new text and never restart this chunk.
                    if first > i and units[following].end - units[first].start <= max_chars:
                        next_i = first
                        break
            i = next_i
    return chunks
