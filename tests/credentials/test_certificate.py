"""The PDF certificate (its page, its QR code, the credential it carries and how the verifier
reads it back), and the Open Graph share image."""

from __future__ import annotations

import copy
import io
import json
import logging
import os
import shutil
import subprocess
import zlib
from pathlib import Path
from typing import Any

import pytest
import segno
from fastapi.testclient import TestClient
from PIL import Image
from pypdf import PdfReader, PdfWriter
from pypdf.generic import NameObject
from sqlalchemy.orm import Session

from microcred.credentials import baking, certificate, share_image
from microcred.credentials import service as credentials
from microcred.kit.settings import Settings
from tests import factories

LEARNER = "Ada Lovelace"
NO_CREDENTIAL = "this PDF carries no credential"
A4_LANDSCAPE_PT = (841.89, 595.28)


def issue(db: Session, settings: Settings, **kwargs: Any) -> dict[str, Any]:
    t = factories.tenant(db)
    achievement = factories.achievement(db, t, **kwargs)
    learner = factories.learner(db, t, display_name=LEARNER)
    award, _ = credentials.issue_award(
        db,
        actor=t.admin,
        settings=settings,
        institution_id=t.id,
        achievement_id=achievement.id,
        learner_id=learner.id,
    )
    credential: dict[str, Any] = award.credential
    return credential


def make_pdf(credential: dict[str, Any], **kwargs: Any) -> bytes:
    return certificate.certificate_pdf(
        credential, learner_name=LEARNER, verify_url=credential["id"], **kwargs
    )


def page_text(pdf: bytes) -> str:
    return PdfReader(io.BytesIO(pdf)).pages[0].extract_text()


def squashed(text: str) -> str:
    """Text without whitespace: the layout wraps long URLs and ids at arbitrary points."""
    return "".join(text.split())


def pdftoppm(pdf: bytes, tmp_path: Path, *args: str) -> Image.Image:
    if shutil.which("pdftoppm") is None:
        pytest.fail("pdftoppm is not installed: apt-get install poppler-utils")
    source = tmp_path / "page.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-png", "-singlefile", "-f", "1", "-l", "1", *args, source, tmp_path / "page"],
        check=True,
        timeout=60,
    )
    with Image.open(tmp_path / "page.png") as image:
        return image.convert("RGB")


def swap_attachment(pdf: bytes, content: bytes | None) -> bytes:
    """The same PDF with the credential.json content replaced, or (None) all attachments gone."""
    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    if content is None:
        del writer.root_object[NameObject("/Names")]
    else:
        for attachment in writer.attachment_list:
            attachment.content = content
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def pdf_with_attachments(*files: tuple[str, bytes]) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    for name, content in files:
        writer.add_attachment(name, content)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


# --------------------------------------------------------------------------- the PDF


def test_the_certificate_is_one_a4_page_that_says_what_was_awarded(
    db: Session, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    credential = issue(db, settings)
    with caplog.at_level(logging.WARNING, logger="weasyprint"):
        pdf = make_pdf(credential, hours="12.5")
    # WeasyPrint logs, rather than raises, what it could not load or tag (an external URL the
    # offline fetcher refused, an image without alt text): the template must cause none.
    assert [r.getMessage() for r in caplog.records if r.name.startswith("weasyprint")] == []
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(A4_LANDSCAPE_PT, abs=0.5)
    text = page_text(pdf)
    achievement = credential["credentialSubject"]["achievement"]
    for expected in (
        LEARNER,
        achievement["name"],
        "awarded to",
        credential["issuer"]["name"],
        "12.5 hours",
        "No expiry",
        "Python (computer programming)",  # the achievement's ESCO alignments
        "SQL",
    ):
        assert expected in text, expected
    assert squashed(f"Scan or open {credential['id']} to verify") in squashed(text)
    assert squashed(f"Credential ID {credential['id']}") in squashed(text)
    catalog = reader.trailer["/Root"]
    assert "/StructTreeRoot" in catalog and catalog["/Lang"] == "en"  # tagged, for screen readers
    assert reader.metadata is not None
    assert reader.metadata.title == f"{achievement['name']} — {LEARNER}"
    assert reader.metadata.author == credential["issuer"]["name"]


def test_the_pdf_carries_the_exact_signed_credential(db: Session, settings: Settings) -> None:
    credential = issue(db, settings)
    pdf = make_pdf(credential)
    exact = json.dumps(credential, indent=2)
    attachments = PdfReader(io.BytesIO(pdf)).attachments
    assert list(attachments) == ["credential.json"]
    assert attachments["credential.json"] == [exact.encode()]
    assert certificate.credential_from_pdf(pdf) == exact
    assert baking.detect_and_extract(pdf) == ("pdf", exact)
    # Same credential, same bytes: no clock in the file, so responses can be cached by hash.
    assert make_pdf(credential) == pdf


def test_explicit_skills_hours_expiry_and_html_in_names(db: Session, settings: Settings) -> None:
    credential = issue(db, settings)
    credential["validUntil"] = "2029-03-01T00:00:00Z"  # the page only; the proof is not checked
    pdf = certificate.certificate_pdf(
        credential,
        learner_name="<b>Grace</b> & Hopper",
        verify_url="https://microcred.test/v/1",
        hours="1",
        skills=["Statistics", "Data <cleaning>"],
    )
    text = page_text(pdf)
    assert "<b>Grace</b> & Hopper" in text  # escaped into text, not markup
    assert "1 hour" in text and "1 hours" not in text
    assert "1 March 2029" in text
    assert "Statistics" in text and "Data <cleaning>" in text
    assert "Python (computer programming)" not in text  # explicit skills replace alignments


def test_long_text_stays_on_one_page(db: Session, settings: Settings) -> None:
    credential = issue(
        db, settings, name=("Advanced methods " * 12)[:200], description="Long. " * 200
    )
    pdf = certificate.certificate_pdf(
        credential,
        learner_name="Maria Magdalena Alexandrina von Hohenzollern-Sigmaringen " * 3,
        verify_url=credential["id"],
        hours="120",
        skills=[f"Skill {i} with a rather long descriptive name" for i in range(20)],
    )
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    text = page_text(pdf)
    assert "Maria Magdalena" in text and "\u2026" in text and "+14 more" in text
    assert certificate.credential_from_pdf(pdf) == json.dumps(credential, indent=2)


def test_the_page_renders_and_its_qr_code_encodes_the_verification_url(
    db: Session, settings: Settings, tmp_path: Path
) -> None:
    credential = issue(db, settings)
    verify_url = credential["id"]
    pdf = make_pdf(credential)

    page = pdftoppm(pdf, tmp_path, "-r", "40")
    colours = page.getcolors(maxcolors=page.width * page.height)
    assert colours is not None
    inked = sum(count for count, (r, g, b) in colours if min(r, g, b) < 235)
    assert inked / (page.width * page.height) > 0.02, "the rendered certificate is blank"

    # Render only the QR code's box at 300 dpi and read every module at its centre.
    dpi = 300
    left, top, size = (round(v / 25.4 * dpi) for v in certificate.QR_BOX_MM)
    crop = ("-r", str(dpi), "-x", str(left), "-y", str(top), "-W", str(size), "-H", str(size))
    qr_image = pdftoppm(pdf, tmp_path, *crop).convert("L")
    qr = segno.make_qr(verify_url, error="m")
    expected = [[bool(v) for v in row] for row in qr.matrix_iter(scale=1, border=4)]
    step = qr_image.width / len(expected)

    def dark(x: int, y: int) -> bool:
        value = qr_image.getpixel((int((x + 0.5) * step), int((y + 0.5) * step)))
        assert isinstance(value, int)
        return value < 128

    seen = [[dark(x, y) for x in range(len(expected))] for y in range(len(expected))]
    assert seen == expected


def test_the_renderer_fetches_nothing_but_data_uris() -> None:
    fetcher = certificate._offline_fetcher()
    for url in ("https://example.org/logo.png", "http://169.254.169.254/", "file:///etc/passwd"):
        with pytest.raises(ValueError, match="disallowed protocol"):
            fetcher(url)
    assert fetcher("data:text/plain;base64,aGk=").read() == b"hi"


# --------------------------------------------------------------------------- our verifier


def test_the_verifier_accepts_the_certificate_of_a_real_credential(
    db: Session, settings: Settings
) -> None:
    credential = issue(db, settings)
    verdict = credentials.verify_document(db, settings=settings, data=make_pdf(credential))
    assert verdict.verdict == "VALID", verdict.to_dict()
    assert verdict.source_format == "pdf"
    assert verdict.credential == credential


def test_the_verifier_rejects_a_tampered_attachment(db: Session, settings: Settings) -> None:
    credential = issue(db, settings)
    pdf = make_pdf(credential)
    forged = copy.deepcopy(credential)
    forged["credentialSubject"]["achievement"]["name"] = "Brain Surgery"
    # Both ways to forge: edit the attachment inside the real certificate, or render anew.
    for tampered in (
        swap_attachment(pdf, json.dumps(forged, indent=2).encode()),
        make_pdf(forged),
    ):
        assert certificate.credential_from_pdf(tampered) == json.dumps(forged, indent=2)
        verdict = credentials.verify_document(db, settings=settings, data=tampered)
        assert verdict.verdict == "INVALID" and verdict.source_format == "pdf"
        assert verdict.failures[0].name == "proof", verdict.to_dict()


def test_the_verifier_explains_pdfs_that_carry_no_credential(
    db: Session, settings: Settings
) -> None:
    pdf = make_pdf(issue(db, settings))
    cases = {
        "printout": (swap_attachment(pdf, None), NO_CREDENTIAL),
        "truncated": (pdf[: len(pdf) // 2], "damaged or truncated"),
        "random": (b"%PDF-1.7\n" + os.urandom(4096), "damaged or truncated"),
    }
    for name, (data, reason) in cases.items():
        verdict = credentials.verify_document(db, settings=settings, data=data)
        assert verdict.verdict == "INVALID", name
        assert [c.name for c in verdict.checks] == ["format"], name
        assert reason in verdict.reason, (name, verdict.reason)


# --------------------------------------------------------------------------- reading back


def test_credential_from_pdf_refusals() -> None:
    with pytest.raises(baking.BakingError, match="does not start with '%PDF-'"):
        certificate.credential_from_pdf(b"GIF89a")
    with pytest.raises(baking.BakingError, match="printout"):
        certificate.credential_from_pdf(pdf_with_attachments(("notes.txt", b"hello")))
    with pytest.raises(baking.BakingError, match="not UTF-8"):
        certificate.credential_from_pdf(pdf_with_attachments(("credential.json", b"\xff{}")))
    with pytest.raises(baking.BakingError, match=r"2 credential\.json attachments"):
        certificate.credential_from_pdf(
            pdf_with_attachments(("credential.json", b"{}"), ("credential.json", b"{}"))
        )
    big = b"{" + b" " * certificate.MAX_ATTACHMENT_BYTES + b"}"
    with pytest.raises(baking.BakingError, match="larger than 1048576 bytes"):
        certificate.credential_from_pdf(pdf_with_attachments(("credential.json", big)))

    plain = pdf_with_attachments(("credential.json", b"{}"))
    assert certificate.credential_from_pdf(plain) == "{}"
    encrypted = PdfWriter(clone_from=io.BytesIO(plain))
    encrypted.encrypt("secret", algorithm="AES-128")
    out = io.BytesIO()
    encrypted.write(out)
    with pytest.raises(baking.BakingError, match="encrypted"):
        certificate.credential_from_pdf(out.getvalue())


def test_a_compressed_attachment_cannot_inflate_past_the_limit() -> None:
    # 200 MiB of spaces deflate to ~200 KiB and declare no size: only the bounded
    # decompression stops it.
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    attachment = writer.add_attachment("credential.json", b"{}")
    stream = attachment._embedded_file
    stream.set_data(b"")
    stream._data = zlib.compress(b" " * (200 * 1024 * 1024), 9)
    stream[NameObject("/Filter")] = NameObject("/FlateDecode")
    out = io.BytesIO()
    writer.write(out)
    assert len(out.getvalue()) < 1024 * 1024
    with pytest.raises(baking.BakingError, match="larger than 1048576 bytes"):
        certificate.credential_from_pdf(out.getvalue())


# --------------------------------------------------------------------------- the public API


def test_the_verify_api_takes_a_certificate_pdf(client: TestClient, db: Session) -> None:
    t = factories.tenant(db)
    achievement, learner = factories.achievement(db, t), factories.learner(db, t)
    db.commit()
    award = client.post(
        "/api/v1/awards",
        json={"achievement_id": str(achievement.id), "learner_id": str(learner.id)},
        headers=t.headers,
    ).json()
    pdf = make_pdf(award["credential"])
    headers = {"content-type": "application/pdf"}

    valid = client.post("/api/v1/verify", content=pdf, headers=headers)
    assert valid.status_code == 200, valid.text
    assert valid.json()["verdict"] == "VALID" and valid.json()["format"] == "pdf"

    for data, reason in (
        (swap_attachment(pdf, None), NO_CREDENTIAL),
        (pdf[:-200], "damaged or truncated"),
    ):
        answer = client.post("/api/v1/verify", content=data, headers=headers)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["verdict"] == "INVALID" and body["checks"][0]["name"] == "format"
        assert reason in body["reason"], body

    schema = client.get("/api/v1/openapi.json").json()
    content = schema["paths"]["/api/v1/verify"]["post"]["requestBody"]["content"]
    assert content["application/pdf"]["schema"] == {"type": "string", "format": "binary"}


# --------------------------------------------------------------------------- share image


SHARE = {
    "title": "Python data analysis",
    "issuer": "Institution of Examples",
    "subtitle": "Awarded 12 March 2026",
    "verdict_line": "Verified credential · microcred",
}


def open_png(data: bytes) -> Image.Image:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def assert_not_blank(image: Image.Image) -> None:
    rgb = image.convert("RGB")
    colours = rgb.getcolors(maxcolors=1_000_000)
    assert colours is not None
    background = max(colours)[0]
    # Everything but the most common colour (the paper) is drawing: panel, medal, text.
    assert 1 - background / (rgb.width * rgb.height) > 0.02


def test_the_share_image_is_an_open_graph_png() -> None:
    data = share_image.share_image_png(**SHARE)
    image = open_png(data)
    assert (image.format, image.size) == ("PNG", (1200, 630))
    assert len(data) < 150 * 1024
    assert_not_blank(image)
    assert share_image.share_image_png(**SHARE) is data  # cached by the four strings
    other = share_image.share_image_png(**{**SHARE, "subtitle": "Awarded 13 March 2026"})
    assert other != data


def test_the_share_image_takes_long_and_odd_text() -> None:
    data = share_image.share_image_png(
        title="Advanced Interdisciplinary Methods in Computational Statistics " * 4,
        issuer="Università della Svizzera italiana — Ελληνικό Ανοικτό Πανεπιστήμιο " * 2,
        subtitle="https://example.org/" + "x" * 300,
        verdict_line="",
    )
    image = open_png(data)
    assert image.size == (1200, 630) and len(data) < 150 * 1024
    assert_not_blank(image)


def test_the_share_image_falls_back_to_pillows_font(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(share_image, "FONT_DIR", tmp_path)
    share_image._font.cache_clear()
    try:
        data = share_image._render("Fallback", "Issuer", "Awarded today", "Verified")
    finally:
        share_image._font.cache_clear()
    image = open_png(data)
    assert image.size == (1200, 630)
    assert_not_blank(image)
