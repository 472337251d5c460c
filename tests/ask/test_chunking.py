"""Reading sources into normalised text and cutting it into heading-aware chunks."""

from __future__ import annotations

import io
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfWriter

from microcred.ask.chunking import (
    Document,
    DocumentError,
    DocumentTooLarge,
    UnreadableDocument,
    UnsupportedDocument,
    chunk,
    read_document,
)

GUIDE = """# Sharing your credential

Your credential is a verifiable Open Badge. You can share it in several places.

## On LinkedIn

Open your LinkedIn profile and choose "Add profile section". Pick "Licenses & certifications".
Paste the credential link into the credential URL field.

## By email

Copy the public link and paste it into your message.

### Attachments

Download the badge image; the credential is baked into it.

# Revocation

An issuer can revoke a credential. Verifiers then see it as revoked.
"""


def minimal_pdf(text: str | None) -> bytes:
    """A one-page PDF with `text` drawn in Helvetica (or an empty page), offsets computed."""
    content = b"" if text is None else f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R"
        b" /Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(
        b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    )
    return out.getvalue()


def test_markdown_chunks_carry_heading_paths_and_exact_offsets() -> None:
    document = read_document("guide", GUIDE.encode(), "text/markdown; charset=utf-8")
    assert document.title == "Sharing your credential"
    chunks = chunk(document)
    assert [c.heading_path for c in chunks] == [
        ("Sharing your credential",),
        ("Sharing your credential", "On LinkedIn"),
        ("Sharing your credential", "By email"),
        ("Sharing your credential", "By email", "Attachments"),
        ("Revocation",),
    ]
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    for c in chunks:
        assert c.text == document.text[c.start : c.end]
        assert c.source_id == "guide"
        assert not c.text.startswith("#")  # the heading lives in the path, not the body
    assert "credential URL field" in chunks[1].text


def test_long_sections_are_split_within_max_chars_with_sentence_overlap() -> None:
    sentences = " ".join(f"Sentence number {i} talks about badges." for i in range(60))
    document = read_document("long", f"# Long\n\n{sentences}\n".encode(), "text/markdown")
    chunks = chunk(document, max_chars=200, overlap_sentences=1)
    assert len(chunks) > 5
    assert all(len(c.text) <= 200 and c.heading_path == ("Long",) for c in chunks)
    for before, after in itertools.pairwise(chunks):
        # The last sentence of one chunk opens the next.
        assert after.start < before.end
        assert before.text.endswith(after.text.split(". ")[0] + ".")
    assert chunks[-1].text.endswith("Sentence number 59 talks about badges.")
    without = chunk(document, max_chars=200, overlap_sentences=0)
    assert all(b.end <= a.start for b, a in itertools.pairwise(without))


def test_an_unbroken_run_is_hard_split() -> None:
    document = read_document("x", b"a" * 250 + b" " + b"word " * 100, "text/plain")
    chunks = chunk(document, max_chars=100)
    assert all(0 < len(c.text) <= 100 for c in chunks)
    assert all(c.text == document.text[c.start : c.end] for c in chunks)
    assert chunks[0].text == "a" * 100


def test_headings_in_code_fences_and_plain_text_are_not_headings() -> None:
    fenced = read_document("f", b"# Real\n\n```\n# comment\n```\n", "text/markdown")
    assert [c.heading_path for c in chunk(fenced)] == [("Real",)]
    plain = read_document("p", b"# not a heading\n\nbody\n", "text/plain")
    assert [c.heading_path for c in chunk(plain)] == [()]
    assert plain.title == "p"


def test_html_drops_script_and_style_and_keeps_headings_and_breaks() -> None:
    html = b"""<!doctype html><html><head><title>FAQ</title>
    <style>body { color: red }</style><script>alert("x")</script></head>
    <body><h1>Credentials</h1><p>What is a <b>credential</b>?</p>
    <script>document.write("injected")</script>
    <h2>Sharing</h2><p>Share it on
    LinkedIn.</p><ul><li>First</li><li>Second &amp; last</li></ul><noscript>no js</noscript>
    </body></html>"""
    document = read_document("faq", html, "text/html")
    assert document.title == "FAQ"
    assert "alert" not in document.text and "injected" not in document.text
    assert "color" not in document.text and "no js" not in document.text
    assert document.text == (
        "# Credentials\n\nWhat is a credential?\n\n## Sharing\n\n"
        "Share it on LinkedIn.\n\n- First\n- Second & last"
    )
    chunks = chunk(document)
    assert [c.heading_path for c in chunks] == [("Credentials",), ("Credentials", "Sharing")]


def test_pdf_with_text_is_read() -> None:
    document = read_document(
        "policy", minimal_pdf("Refunds are issued within 14 days."), "application/pdf"
    )
    assert document.text == "Refunds are issued within 14 days."
    assert chunk(document)[0].text == document.text


def test_pdf_without_text_is_unreadable() -> None:
    with pytest.raises(UnreadableDocument, match="no extractable text"):
        read_document("scan", minimal_pdf(None), "application/pdf")
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    blank = io.BytesIO()
    writer.write(blank)
    with pytest.raises(UnreadableDocument, match="no extractable text"):
        read_document("blank", blank.getvalue(), "application/pdf")


def test_broken_pdf_and_undecodable_text_are_unreadable() -> None:
    with pytest.raises(UnreadableDocument):
        read_document("broken", b"%PDF-1.4 garbage", "application/pdf")
    with pytest.raises(UnreadableDocument, match="UTF-8"):
        read_document("bad", b"caf\xe9 \xff", "text/markdown")
    assert read_document("latin", b"caf\xe9", "text/plain; charset=latin-1").text == "café"


def test_unsupported_and_too_large_documents_are_refused() -> None:
    with pytest.raises(UnsupportedDocument, match="image/png"):
        read_document("img", b"\x89PNG", "image/png")
    with pytest.raises(DocumentTooLarge, match="limit"):
        read_document("big", b"x" * 101, "text/plain", max_bytes=100)
    assert issubclass(DocumentTooLarge, DocumentError)
    assert issubclass(DocumentError, ValueError)


def test_text_is_normalised() -> None:
    document = read_document(
        "n", "\ufeffe\u0301\r\nline  \r\n\r\n\r\n\r\nnext\x00".encode(), "text/plain"
    )
    # The wrapped line joins its paragraph (a sentence split by a hard wrap reads as one).
    assert document.text == "\u00e9 line\n\nnext"


def test_hard_wrapped_paragraphs_are_joined_but_blocks_are_kept() -> None:
    text = (
        "# Refunds\nLearners who cancel within 14 days\nget a full refund.\n\n"
        "- first item\n  continues\n- second\n\n    code line\n    code line\n\n| a |\n| b |\n"
    )
    document = read_document("w", text.encode(), "text/markdown")
    assert document.text == (
        "# Refunds\nLearners who cancel within 14 days get a full refund.\n\n"
        "- first item continues\n- second\n\n    code line\n    code line\n\n| a |\n| b |"
    )


markdownish = st.lists(
    st.one_of(
        st.sampled_from(["# A", "## B", "### C", "#", "```", "", "  ", "- item", "1. one"]),
        st.lists(
            st.sampled_from([*list("ab .!?\n#-\t\u00e9"), "word ", "Sentence. "]), max_size=40
        ).map("".join),
    ),
    max_size=30,
).map("\n".join)


@settings(max_examples=150, deadline=None)
@given(source=markdownish, max_chars=st.integers(20, 200), overlap=st.integers(0, 2))
def test_chunks_slice_the_text_exactly_in_order(source: str, max_chars: int, overlap: int) -> None:
    document = read_document("p", source.encode(), "text/markdown")
    chunks = chunk(document, max_chars=max_chars, overlap_sentences=overlap)
    for number, c in enumerate(chunks):
        assert c.ordinal == number
        assert c.text == document.text[c.start : c.end]
        assert c.text.strip() == c.text != ""
        assert len(c.text) <= max_chars
    assert [c.start for c in chunks] == sorted({c.start for c in chunks})
    assert [c.end for c in chunks] == sorted(c.end for c in chunks)
    assert chunk(document, max_chars=max_chars, overlap_sentences=overlap) == chunks


def test_every_word_of_the_document_lands_in_a_chunk() -> None:
    document = Document("d", "d", "# H\n\none two. three four.\n\nfive", "text/markdown")
    covered = " ".join(c.text for c in chunk(document, max_chars=20))
    assert all(w in covered for w in ["one", "two", "three", "four", "five"])
