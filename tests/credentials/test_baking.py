"""Baked badges: PNG iTXt and SVG <openbadges:credential>, sniffing, default images."""

from __future__ import annotations

import io
import json
import struct
import xml.etree.ElementTree as ET
import zlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from microcred.credentials import baking
from microcred.credentials.baking import (
    OB3_SVG_NAMESPACE,
    BakingError,
    bake_png,
    bake_svg,
    default_badge_png,
    default_badge_svg,
    detect_and_extract,
    unbake_png,
    unbake_svg,
)

SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG_NS = "http://www.w3.org/2000/svg"
CREDENTIAL_TAG = f"{{{OB3_SVG_NAMESPACE}}}credential"

CREDENTIAL: dict[str, Any] = {
    "@context": [
        "https://www.w3.org/ns/credentials/v2",
        "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
    ],
    "id": "urn:uuid:3f1d2c4e-0000-4000-8000-000000000001",
    "type": ["VerifiableCredential", "OpenBadgeCredential"],
    "issuer": {"id": "did:web:uni.example", "type": ["Profile"], "name": "Université Exemple"},
    "validFrom": "2025-01-01T00:00:00Z",
    "name": "Data Analysis — niveau 1 ✓",
    "credentialSubject": {
        "type": ["AchievementSubject"],
        "achievement": {
            "id": "https://uni.example/achievements/1",
            "type": ["Achievement"],
            "name": "Data Analysis",
            "description": (
                "Tricky text: ]]> and <![CDATA[ and <!DOCTYPE x> & </openbadges:credential>"
            ),
            "criteria": {"narrative": "Pass the assessment."},
        },
    },
}
CREDENTIAL_JSON = json.dumps(CREDENTIAL, ensure_ascii=False, indent=2)


# --------------------------------------------------------------------------- PNG helpers
# Written here from the PNG specification, independently of the module under test.


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _tiny_png(extra: list[bytes] | None = None) -> bytes:
    """A valid 2x2 RGBA PNG, with optional extra chunks between IHDR and IDAT."""
    ihdr = struct.pack(">IIBBBBB", 2, 2, 8, 6, 0, 0, 0)
    raw = b"\0" + b"\xff\0\0\xff" * 2 + b"\0" + b"\0\0\xff\x80" * 2
    return (
        SIGNATURE
        + _chunk(b"IHDR", ihdr)
        + b"".join(extra or [])
        + _chunk(b"tEXt", b"Software\0test")
        + _chunk(b"IDAT", zlib.compress(raw))
        + _chunk(b"IEND", b"")
    )


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """(type, data) of every chunk, asserting each CRC."""
    assert png[:8] == SIGNATURE
    pos, out = 8, []
    while pos < len(png):
        (length,) = struct.unpack_from(">I", png, pos)
        kind = png[pos + 4 : pos + 8]
        data = png[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack_from(">I", png, pos + 8 + length)
        assert crc == zlib.crc32(kind + data), f"bad CRC in {kind!r}"
        out.append((kind, data))
        pos += 12 + length
    assert pos == len(png)
    return out


def _itxt(keyword: bytes, text: bytes, *, compressed: bool = False) -> bytes:
    body = zlib.compress(text) if compressed else text
    return _chunk(b"iTXt", keyword + b"\0" + bytes([int(compressed), 0]) + b"\0\0" + body)


# --------------------------------------------------------------------------- PNG


def test_png_round_trip_with_valid_crcs_and_exact_chunk_layout() -> None:
    original = _tiny_png()
    baked = bake_png(original, CREDENTIAL_JSON)
    chunks = _chunks(baked)
    assert [k for k, _ in chunks] == [b"IHDR", b"iTXt", b"tEXt", b"IDAT", b"IEND"]
    # keyword, NUL, compression flag 0, method 0, empty language tag, empty translated keyword.
    assert chunks[1][1] == b"openbadgecredential\0\0\0\0\0" + CREDENTIAL_JSON.encode("utf-8")
    # Every other chunk is carried over byte for byte.
    assert [c for c in chunks if c[0] != b"iTXt"] == _chunks(original)
    assert unbake_png(baked) == CREDENTIAL_JSON
    assert json.loads(unbake_png(baked)) == CREDENTIAL


def test_second_bake_replaces_rather_than_duplicates() -> None:
    once = bake_png(_tiny_png(), CREDENTIAL_JSON)
    other = json.dumps({**CREDENTIAL, "id": "urn:uuid:other"})
    twice = bake_png(once, other)
    credential_chunks = [d for k, d in _chunks(twice) if d.startswith(b"openbadgecredential\0")]
    assert len(credential_chunks) == 1
    assert unbake_png(twice) == other
    assert len(twice) == len(once) - len(CREDENTIAL_JSON.encode()) + len(other.encode())


def test_bake_removes_a_misplaced_existing_credential_chunk_and_keeps_others() -> None:
    stale = _itxt(b"openbadgecredential", b'{"old": true}')
    keep = _itxt(b"Comment", "café".encode())
    png = _tiny_png([keep, stale])
    baked = bake_png(png, CREDENTIAL_JSON)
    kinds = [(k, d.split(b"\0", 1)[0]) for k, d in _chunks(baked)]
    assert kinds[:3] == [(b"IHDR", b""), (b"iTXt", b"openbadgecredential"), (b"iTXt", b"Comment")]
    assert sum(1 for _, key in kinds if key == b"openbadgecredential") == 1


def test_bake_drops_bytes_after_iend() -> None:
    baked = bake_png(_tiny_png() + b"trailing junk", CREDENTIAL_JSON)
    assert _chunks(baked)[-1] == (b"IEND", b"")


def test_unbake_accepts_a_compressed_chunk_and_takes_the_first() -> None:
    png = _tiny_png(
        [
            _itxt(b"openbadgecredential", CREDENTIAL_JSON.encode(), compressed=True),
            _itxt(b"openbadgecredential", b'{"second": true}'),
        ]
    )
    assert unbake_png(png) == CREDENTIAL_JSON


def test_bake_accepts_a_compact_jws() -> None:
    jws = "eyJhbGciOiJFZERTQSJ9.eyJ2YyI6e319.c2lnbmF0dXJl"
    assert unbake_png(bake_png(_tiny_png(), jws)) == jws


def _corrupt_crc(png: bytes) -> bytes:
    # Flip one byte of the IDAT data (the last chunk before IEND's 12 bytes).
    data = bytearray(png)
    data[-12 - 4 - 3] ^= 0xFF
    return bytes(data)


@pytest.mark.parametrize(
    ("png", "message"),
    [
        (b"GIF89a" + bytes(20), "not a PNG"),
        (b"", "not a PNG"),
        (SIGNATURE, "truncated PNG: no IEND chunk"),
        (_tiny_png()[:-12], "truncated PNG: no IEND chunk"),
        (_tiny_png()[:-5], "truncated PNG: chunk header at offset"),
        (_tiny_png()[:40], "truncated PNG: chunk header at offset 33 needs 8 bytes, 7 remain"),
        (
            _tiny_png()[:50],
            "truncated PNG: chunk 'tEXt' at offset 33 declares 13 data bytes plus a 4-byte CRC "
            "but only 9 bytes remain",
        ),
        (_corrupt_crc(_tiny_png()), "bad CRC in PNG chunk 'IDAT'"),
        (SIGNATURE + _chunk(b"tEXt", b"a\0b") + _chunk(b"IEND", b""), "first chunk is 'tEXt'"),
        (SIGNATURE + b"\0\0\0\0\x00\x01\x02\x03", "invalid chunk type"),
        (_tiny_png(), "no iTXt chunk with keyword 'openbadgecredential'"),
        (
            _tiny_png([_itxt(b"openbadges", b'{"@context": "https://w3id.org/openbadges/v2"}')]),
            "Open Badges 2.0 'openbadges' chunk",
        ),
        (_tiny_png([_itxt(b"openbadgecredential", b"\xff\xfe")]), "not UTF-8"),
        (
            _tiny_png([_chunk(b"iTXt", b"openbadgecredential\0\x01\x00\0\0not zlib")]),
            "compressed text is corrupt",
        ),
        (
            _tiny_png([_chunk(b"iTXt", b"openbadgecredential\0\x02\x00\0\0{}")]),
            "compression flag 2",
        ),
        (_tiny_png([_chunk(b"iTXt", b"openbadgecredential\0\0\0")]), "malformed iTXt"),
    ],
)
def test_unbake_png_rejections(png: bytes, message: str) -> None:
    with pytest.raises(BakingError, match=message):
        unbake_png(png)


def test_compressed_chunk_bomb_is_refused() -> None:
    bomb = _itxt(b"openbadgecredential", b" " * (baking.MAX_CREDENTIAL_BYTES + 10), compressed=True)
    with pytest.raises(BakingError, match="exceeds"):
        unbake_png(_tiny_png([bomb]))


@pytest.mark.parametrize(
    ("credential", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("[1, 2]", "JSON object or a compact JWS"),
        ('{"a": ', "not valid JSON"),
        ("not a credential", "JSON object or a compact JWS"),
    ],
)
def test_bake_refuses_what_is_not_a_credential(credential: str, message: str) -> None:
    with pytest.raises(BakingError, match=message):
        bake_png(_tiny_png(), credential)
    with pytest.raises(BakingError, match=message):
        bake_svg(default_badge_svg("x"), credential)


def test_bake_refuses_a_corrupt_png() -> None:
    with pytest.raises(BakingError, match="bad CRC"):
        bake_png(_corrupt_crc(_tiny_png()), CREDENTIAL_JSON)


@settings(max_examples=50, deadline=None)
@given(st.text())
def test_png_round_trip_any_text(value: str) -> None:
    credential = json.dumps({"name": value}, ensure_ascii=False)
    try:
        credential.encode("utf-8")
    except UnicodeEncodeError:
        return  # lone surrogates are not text; bake refuses them (tested below)
    assert unbake_png(bake_png(_tiny_png(), credential)) == credential


def test_bake_refuses_unencodable_text() -> None:
    with pytest.raises(BakingError, match="UTF-8"):
        bake_png(_tiny_png(), '{"a": "\ud800"}')


# --------------------------------------------------------------------------- default PNG


def test_default_badge_png_is_a_valid_png_that_zlib_decodes() -> None:
    size = 128
    png = default_badge_png(size, label="Data Analysis")
    chunks = _chunks(png)
    assert [k for k, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(
        ">IIBBBBB", chunks[0][1]
    )
    assert (width, height, depth, colour, compression, filtering, interlace) == (
        size,
        size,
        8,
        6,
        0,
        0,
        0,
    )
    raw = zlib.decompress(chunks[1][1])
    stride = 1 + 4 * size
    assert len(raw) == stride * size
    rows = [raw[i * stride : (i + 1) * stride] for i in range(size)]
    assert all(row[0] == 0 for row in rows)  # filter type None everywhere

    def pixel(x: int, y: int) -> tuple[int, ...]:
        return tuple(rows[y][1 + 4 * x : 5 + 4 * x])

    assert pixel(0, 0) == (0, 0, 0, 0)  # transparent corner
    assert pixel(size - 1, size - 1) == (0, 0, 0, 0)
    assert pixel(size // 2, size // 2) == (255, 255, 255, 255)  # the star's centre
    face = pixel(size // 2, int(size * 0.85))  # the face, below the star
    assert face[3] == 255
    assert face[:3] != (255, 255, 255)
    rim = pixel(size // 2, int(size * 0.05))  # the dark outer disc
    assert rim[3] == 255
    assert sum(rim[:3]) < sum(face[:3])
    # Anti-aliased: some edge pixels are partly transparent.
    alphas = {rows[y][4 + 4 * x] for y in range(size) for x in range(size)}
    assert any(0 < a < 255 for a in alphas)


def test_default_badge_png_is_deterministic_and_label_coloured() -> None:
    a = default_badge_png(64, label="Python")
    assert a == default_badge_png(64, label="Python")
    assert a != default_badge_png(64, label="Statistics")
    assert unbake_png(bake_png(a, CREDENTIAL_JSON)) == CREDENTIAL_JSON
    with pytest.raises(BakingError, match="16 to 4096"):
        default_badge_png(8, label="x")


def test_default_badge_png_full_size_opens_in_pillow_if_installed() -> None:
    png = default_badge_png(label="Intro to Data Analysis")
    assert len(_chunks(png)) == 3
    image_module = pytest.importorskip("PIL.Image")
    with image_module.open(io.BytesIO(png)) as image:
        image.load()
        assert image.size == (512, 512)
        assert image.mode == "RGBA"


# --------------------------------------------------------------------------- SVG

PLAIN_SVG = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10" data-x="a>b">\n'
    '  <!-- a comment -->\n  <circle cx="5" cy="5" r="4" fill="#123456"/>\n</svg>\n'
)


def test_svg_round_trip_with_cdata_terminator_inside_the_json() -> None:
    assert "]]>" in CREDENTIAL_JSON
    assert "<!DOCTYPE" in CREDENTIAL_JSON
    baked = bake_svg(PLAIN_SVG, CREDENTIAL_JSON)
    assert unbake_svg(baked) == CREDENTIAL_JSON
    assert json.loads(unbake_svg(baked)) == CREDENTIAL
    # Element and namespace declaration where the spec puts them.
    root = ET.fromstring(baked)
    assert root.tag == f"{{{SVG_NS}}}svg"
    assert root[0].tag == CREDENTIAL_TAG
    assert baked.count('xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"') == 1
    tag_start = baked.index("<svg")
    tag_end = baked.index(">", baked.index('data-x="a>b"') + len('data-x="a>b"')) + 1
    assert 'xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"' in baked[tag_start:tag_end]
    assert baked[tag_end:].startswith("<openbadges:credential><![CDATA[")
    # The CDATA terminator and DTD markup never appear raw inside the credential.
    # (The JSON itself contains "</openbadges:credential>"; the real end tag is the last.)
    element_end = baked.rindex("</openbadges:credential>") + len("</openbadges:credential>")
    element = baked[tag_end:element_end]
    assert "<!DOCTYPE" not in element
    assert "<!ENTITY" not in element
    assert element.count("<![CDATA[") == 1 + CREDENTIAL_JSON.count("]]>") + 2  # two "<!" splits
    # Everything else is untouched, byte for byte.
    declaration = ' xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"'
    assert (baked[:tag_end] + baked[element_end:]).replace(declaration, "") == PLAIN_SVG


def test_second_svg_bake_replaces_rather_than_duplicates() -> None:
    once = bake_svg(PLAIN_SVG, CREDENTIAL_JSON)
    other = json.dumps({**CREDENTIAL, "id": "urn:uuid:other"})
    twice = bake_svg(once, other)
    root = ET.fromstring(twice)
    assert len(list(root.iter(CREDENTIAL_TAG))) == 1
    assert twice.count("xmlns:openbadges=") == 1
    assert unbake_svg(twice) == other


def test_svg_bake_replaces_a_credential_under_another_prefix_and_depth() -> None:
    svg = (
        f'<svg xmlns="{SVG_NS}"><g xmlns:ob="{OB3_SVG_NAMESPACE}">'
        '<ob:credential><![CDATA[{"old": 1}]]></ob:credential></g>'
        f'<ob2:credential xmlns:ob2="{OB3_SVG_NAMESPACE}" verify="a.b.c"/></svg>'
    )
    assert unbake_svg(svg) == '{"old": 1}'
    baked = bake_svg(svg, CREDENTIAL_JSON)
    root = ET.fromstring(baked)
    assert [e.tag for e in root.iter(CREDENTIAL_TAG)] == [CREDENTIAL_TAG]
    assert root[0].tag == CREDENTIAL_TAG
    assert root[1].tag == f"{{{SVG_NS}}}g"
    assert len(root[1]) == 0
    nested = (
        f'<svg xmlns="{SVG_NS}" xmlns:o="{OB3_SVG_NAMESPACE}">'
        "<o:credential><o:credential>inner</o:credential>outer</o:credential><g/></svg>"
    )
    assert unbake_svg(nested) == "innerouter"
    rebaked = ET.fromstring(bake_svg(nested, '{"a": 1}'))
    assert [child.tag for child in rebaked] == [CREDENTIAL_TAG, f"{{{SVG_NS}}}g"]


def test_svg_bake_handles_a_self_closing_root_and_an_existing_declaration() -> None:
    baked = bake_svg(f'<svg xmlns="{SVG_NS}"/>', '{"a": 1}')
    assert unbake_svg(baked) == '{"a": 1}'
    assert baked.endswith("</svg>")
    declared = f'<svg xmlns="{SVG_NS}" xmlns:openbadges="{OB3_SVG_NAMESPACE}"><g/></svg>'
    assert bake_svg(declared, '{"a": 1}').count("xmlns:openbadges") == 1
    prefixed = f'<s:svg xmlns:s="{SVG_NS}"/>'
    assert unbake_svg(bake_svg(prefixed, '{"a": 1}')) == '{"a": 1}'


def test_svg_jws_goes_in_the_verify_attribute() -> None:
    jws = "eyJhbGciOiJFZERTQSJ9.eyJ2YyI6e319.c2lnbmF0dXJl"
    baked = bake_svg(PLAIN_SVG, jws)
    element = ET.fromstring(baked)[0]
    assert element.get("verify") == jws
    assert not (element.text or "").strip()
    assert unbake_svg(baked) == jws


def test_unbake_svg_reads_the_spec_examples() -> None:
    # The two "well baked SVG" examples of Open Badges 3.0, section "Baked Badge".
    embedded = """<?xml version="1.0" encoding="UTF-8"?>
  <svg xmlns="http://www.w3.org/2000/svg"
    xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"
    viewBox="0 0 512 512">
    <openbadges:credential>
      <![CDATA[
        {
          "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
          ],
          "id": "http://example.edu/credentials/3732",
          "type": ["VerifiableCredential", "OpenBadgeCredential"],
          "validFrom": "2010-01-01T00:00:00Z",
          "proof": { }
        }
      ]]>
    </openbadges:credential>

    <!-- rest-of-image -->
  </svg>"""
    assert json.loads(unbake_svg(embedded))["id"] == "http://example.edu/credentials/3732"
    jwt = """<?xml version="1.0" encoding="UTF-8"?>
  <svg xmlns="http://www.w3.org/2000/svg"
    xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"
    viewBox="0 0 512 512">
    <openbadges:credential verify="header.payload.signature"></openbadges:credential>

    <!-- rest-of-image -->
  </svg>"""
    assert unbake_svg(jwt) == "header.payload.signature"


XXE = (
    '<?xml version="1.0"?>\n<!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
    f'<svg xmlns="{SVG_NS}" xmlns:openbadges="{OB3_SVG_NAMESPACE}">'
    "<openbadges:credential>&xxe;</openbadges:credential></svg>"
)
LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">'
        for i in range(1, 10)
    )
    + f']>\n<svg xmlns="{SVG_NS}">&lol9;</svg>'
)


@pytest.mark.parametrize(
    "svg",
    [
        XXE,
        LAUGHS,
        XXE.replace("DOCTYPE", "doctype"),
        f'<svg xmlns="{SVG_NS}"><!ENTITY x "y"></svg>',
    ],
)
def test_dtds_are_refused_before_parsing(svg: str) -> None:
    with pytest.raises(BakingError, match="refused"):
        unbake_svg(svg)
    with pytest.raises(BakingError, match="refused"):
        bake_svg(svg, '{"a": 1}')
    with pytest.raises(BakingError, match="refused"):
        detect_and_extract(svg.encode())


def test_dtds_are_refused_by_the_parsers_too(monkeypatch: pytest.MonkeyPatch) -> None:
    # Defence in depth: with the textual check disabled, both parsers still stop at the DTD.
    monkeypatch.setattr(baking, "_refuse_dtd", lambda svg: None)
    with pytest.raises(BakingError, match="DOCTYPE"):
        unbake_svg(XXE)
    with pytest.raises(BakingError, match="DOCTYPE"):
        bake_svg(LAUGHS, '{"a": 1}')


@pytest.mark.parametrize(
    ("svg", "message"),
    [
        ("<html><body/></html>", "root element is <html>, not <svg>"),
        ('<svg xmlns="urn:not-svg"/>', r"root element is <\{urn:not-svg\}svg>"),
        ("<svg><g></svg>", "not well-formed SVG"),
        (f'<svg xmlns="{SVG_NS}"><g/></svg>', "no <openbadges:credential> element"),
        (
            f'<svg xmlns="{SVG_NS}" xmlns:openbadges="{OB3_SVG_NAMESPACE}">'
            "<openbadges:credential>  </openbadges:credential></svg>",
            "element is empty: no credential JSON in its text content and no verify attribute",
        ),
        (
            f'<svg xmlns="{SVG_NS}" xmlns:openbadges="http://openbadges.org">'
            '<openbadges:assertion verify="https://x.example/a.json"/></svg>',
            "Open Badges 2.0 <openbadges:assertion>",
        ),
    ],
)
def test_unbake_svg_rejections(svg: str, message: str) -> None:
    with pytest.raises(BakingError, match=message):
        unbake_svg(svg)


def test_bake_svg_rejections() -> None:
    with pytest.raises(BakingError, match="root element is <html>"):
        bake_svg("<html/>", '{"a": 1}')
    ob2 = f'<svg xmlns="{SVG_NS}" xmlns:openbadges="http://openbadges.org"/>'
    with pytest.raises(BakingError, match="refusing to rebind"):
        bake_svg(ob2, '{"a": 1}')
    with pytest.raises(BakingError, match="XML cannot carry"):
        bake_svg(PLAIN_SVG, '{"a": "\uffff"}')


def test_bake_svg_rewrites_a_foreign_encoding_declaration() -> None:
    svg = f"<?xml version='1.0' encoding='ISO-8859-1'?><svg xmlns=\"{SVG_NS}\"/>"
    baked = bake_svg(svg, CREDENTIAL_JSON)
    assert baked.startswith("<?xml version='1.0' encoding='UTF-8'?>")
    assert unbake_svg(baked) == CREDENTIAL_JSON
    # Written out as UTF-8 (what the declaration now says), it still parses to the same text.
    assert detect_and_extract(baked.encode("utf-8")) == ("svg", CREDENTIAL_JSON)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=["Cs"])))
def test_svg_round_trip_any_text(value: str) -> None:
    credential = json.dumps({"name": value + "]]>"}, ensure_ascii=False)
    if "\ufffe" in credential or "\uffff" in credential:
        return  # XML cannot carry these two; bake refuses them (tested above)
    baked = bake_svg(PLAIN_SVG, credential)
    assert json.loads(unbake_svg(baked)) == {"name": value + "]]>"}


def test_default_badge_svg() -> None:
    svg = default_badge_svg('Data <Analysis> & "Stats" \x01')
    root = ET.fromstring(svg)
    assert root.tag == f"{{{SVG_NS}}}svg"
    assert root.find(f"{{{SVG_NS}}}title").text == 'Data <Analysis> & "Stats"'  # type: ignore[union-attr]
    assert "<Analysis>" not in svg
    assert unbake_svg(bake_svg(svg, CREDENTIAL_JSON)) == CREDENTIAL_JSON
    long_label = default_badge_svg("A very long achievement name that will not fit on two lines")
    lines = [t.text for t in ET.fromstring(long_label).iter(f"{{{SVG_NS}}}tspan")]
    assert len(lines) == 2
    assert all(len(line or "") <= 20 for line in lines)
    assert (lines[-1] or "").endswith("\u2026")


# --------------------------------------------------------------------------- sniffing


def test_detect_and_extract() -> None:
    png = bake_png(_tiny_png(), CREDENTIAL_JSON)
    assert detect_and_extract(png) == ("png", CREDENTIAL_JSON)
    svg = bake_svg(PLAIN_SVG, CREDENTIAL_JSON)
    assert detect_and_extract(svg.encode()) == ("svg", CREDENTIAL_JSON)
    assert detect_and_extract(b"\xef\xbb\xbf \n" + svg.encode()) == ("svg", CREDENTIAL_JSON)
    no_decl = svg[svg.index("<svg") :]
    assert detect_and_extract(("\t\n" + no_decl).encode()) == ("svg", CREDENTIAL_JSON)
    assert detect_and_extract(svg.encode("utf-16")) == ("svg", CREDENTIAL_JSON)
    raw = CREDENTIAL_JSON.encode()
    assert detect_and_extract(b"  " + raw + b"\n") == ("json", CREDENTIAL_JSON)
    assert detect_and_extract(b"\xef\xbb\xbf" + raw) == ("json", CREDENTIAL_JSON)


@pytest.mark.parametrize(
    "data",
    [b"", b"GIF89a....", b"\xff\xd8\xff\xe0JFIF", b"hello", b"[1, 2]", b"\x80\x81\x82"],
)
def test_detect_rejects_other_formats(data: bytes) -> None:
    with pytest.raises(BakingError, match=r"^not a PNG, SVG or JSON credential$"):
        detect_and_extract(data)


def test_detect_reports_errors_inside_a_recognised_format() -> None:
    # JSON is only sniffed here; the verifier parses it once and reports errors itself.
    assert detect_and_extract(b'{"a": ') == ("json", '{"a":')
    with pytest.raises(BakingError, match="no iTXt chunk"):
        detect_and_extract(_tiny_png())
    with pytest.raises(BakingError, match="no <openbadges:credential>"):
        detect_and_extract(PLAIN_SVG.encode())
