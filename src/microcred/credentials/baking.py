"""Baked badges: an Open Badges 3.0 credential carried inside its PNG or SVG image.

Open Badges 3.0, section "Baked Badge" (https://www.imsglobal.org/spec/ob/v3p0/#baking):

* PNG: one ``iTXt`` chunk, keyword ``openbadgecredential``, no compression, whose text is the
  credential JSON (or, for VC-JWT, the compact JWS).
* SVG: ``xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"`` on the root ``<svg>`` and,
  directly after the start tag, ``<openbadges:credential>`` whose body is the credential JSON
  in a CDATA section. For VC-JWT the compact JWS goes in the element's ``verify`` attribute
  instead. (Open Badges 2.0 used ``<openbadges:assertion>`` and the keyword ``openbadges``;
  those are reported, not read.)

Writing is strict: the output has exactly one credential chunk or element, in the place and
form the specification gives, with correct CRCs. Reading is lenient where that is harmless (a
compressed ``iTXt``, the credential anywhere in the SVG tree) and strict where it is not
(CRCs, truncation, DTDs). Every failure raises `BakingError` with a precise message.

Nothing here checks the credential's proof: extraction only hands the text to the verifier.
"""

from __future__ import annotations

import colorsys
import hashlib
import json
import math
import re
import struct
import textwrap
import xml.etree.ElementTree as ET
import zlib
from dataclasses import dataclass, field
from typing import Literal
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

__all__ = [
    "OB3_SVG_NAMESPACE",
    "PNG_KEYWORD",
    "BakingError",
    "bake_png",
    "bake_svg",
    "default_badge_png",
    "default_badge_svg",
    "detect_and_extract",
    "unbake_png",
    "unbake_svg",
]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_KEYWORD = b"openbadgecredential"
OB2_PNG_KEYWORD = b"openbadges"
OB3_SVG_NAMESPACE = "https://purl.imsglobal.org/ob/v3p0"
OB2_SVG_NAMESPACE = "http://openbadges.org"
SVG_NAMESPACE = "http://www.w3.org/2000/svg"

# A credential is a few KiB; a compressed iTXt claiming more than this is refused rather than
# inflated, so a crafted image cannot exhaust memory.
MAX_CREDENTIAL_BYTES = 8 * 1024 * 1024
_MAX_CHUNK_LENGTH = 2**31 - 1  # PNG: chunk lengths are at most 2^31 - 1
_ITXT = b"iTXt"
_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
# Checked textually before any XML parser sees the input: with no DTD there are no entity
# definitions, so neither external entities (XXE) nor entity expansion (billion laughs) exist.
_DTD_MARKUP = re.compile(r"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
# Characters XML 1.0 forbids even inside CDATA; valid JSON can still contain U+FFFE/U+FFFF raw.
_NOT_XML_CHAR = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Inside CDATA only "]]>" ends the section. "<!" is split as well so that a baked file never
# contains the literal text "<!DOCTYPE" or "<!ENTITY", which `unbake_svg` refuses on sight.
_CDATA_SPLIT = re.compile(r"\]\]>|<!")


class BakingError(ValueError):
    """An image or credential that cannot be baked or unbaked, with the precise reason."""


# --------------------------------------------------------------------------- payload


def _payload_kind(credential: str) -> Literal["json", "jws"]:
    """Strict check of what is being baked: a JSON object, or a compact JWS (VC-JWT)."""
    if not isinstance(credential, str):
        raise BakingError(f"credential must be a str, not {type(credential).__name__}")
    text = credential.strip()
    if not text:
        raise BakingError("credential is empty")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BakingError(f"credential is not encodable as UTF-8: {exc.reason}") from None
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BakingError(f"credential is not valid JSON: {exc}") from None
        except RecursionError:
            raise BakingError("credential JSON is nested too deeply") from None
        if not isinstance(value, dict):
            raise BakingError("credential JSON must be an object")
        return "json"
    if _COMPACT_JWS.fullmatch(text):
        return "jws"
    raise BakingError("credential must be a JSON object or a compact JWS")


# --------------------------------------------------------------------------- PNG


@dataclass(frozen=True, slots=True)
class _Chunk:
    kind: bytes
    data: bytes
    offset: int

    def serialize(self) -> bytes:
        return (
            struct.pack(">I", len(self.data))
            + self.kind
            + self.data
            + struct.pack(">I", zlib.crc32(self.kind + self.data))
        )


def _read_chunks(png: bytes) -> list[_Chunk]:
    """All chunks from IHDR to IEND inclusive, CRC-checked; bytes after IEND are ignored."""
    if not isinstance(png, bytes | bytearray):
        raise BakingError(f"PNG data must be bytes, not {type(png).__name__}")
    if not png.startswith(PNG_SIGNATURE):
        raise BakingError("not a PNG: the file does not start with the PNG signature")
    chunks: list[_Chunk] = []
    pos = len(PNG_SIGNATURE)
    while True:
        if len(png) - pos < 8:
            if len(png) == pos:
                raise BakingError(f"truncated PNG: no IEND chunk (file ends at offset {pos})")
            raise BakingError(
                f"truncated PNG: chunk header at offset {pos} needs 8 bytes, "
                f"{len(png) - pos} remain"
            )
        length, kind = struct.unpack_from(">I4s", png, pos)
        if not kind.isalpha() or not kind.isascii():
            raise BakingError(f"corrupt PNG: invalid chunk type {kind!r} at offset {pos}")
        name = kind.decode("ascii")
        if length > _MAX_CHUNK_LENGTH:
            raise BakingError(
                f"corrupt PNG: chunk {name!r} at offset {pos} declares {length} bytes"
            )
        end = pos + 8 + length + 4
        if end > len(png):
            raise BakingError(
                f"truncated PNG: chunk {name!r} at offset {pos} declares {length} data bytes "
                f"plus a 4-byte CRC but only {len(png) - pos - 8} bytes remain"
            )
        data = bytes(png[pos + 8 : pos + 8 + length])
        (stored,) = struct.unpack_from(">I", png, pos + 8 + length)
        computed = zlib.crc32(kind + data)
        if stored != computed:
            raise BakingError(
                f"bad CRC in PNG chunk {name!r} at offset {pos}: "
                f"stored {stored:#010x}, computed {computed:#010x}"
            )
        if not chunks and kind != b"IHDR":
            raise BakingError(f"corrupt PNG: the first chunk is {name!r}, not 'IHDR'")
        chunks.append(_Chunk(kind, data, pos))
        pos = end
        if kind == b"IEND":
            return chunks


def _itxt_keyword(data: bytes) -> bytes:
    return data.split(b"\0", 1)[0]


def _itxt_text(chunk: _Chunk) -> str:
    """The text of an iTXt chunk (PNG spec 11.3.4.5), inflating it if compressed."""
    where = f"iTXt chunk at offset {chunk.offset}"
    parts = chunk.data.split(b"\0", 1)
    if len(parts) != 2 or len(parts[1]) < 2:
        raise BakingError(f"malformed {where}: missing keyword terminator or flags")
    rest = parts[1]
    flag, method = rest[0], rest[1]
    fields = rest[2:].split(b"\0", 2)
    if len(fields) != 3:
        raise BakingError(f"malformed {where}: missing language tag or translated keyword")
    raw = fields[2]
    if flag == 1:
        # The spec forbids compression when baking, but decoding it costs nothing and a
        # conforming PNG tool may have recompressed text chunks.
        if method != 0:
            raise BakingError(f"malformed {where}: unknown compression method {method}")
        inflater = zlib.decompressobj()
        try:
            raw = inflater.decompress(raw, MAX_CREDENTIAL_BYTES + 1)
        except zlib.error as exc:
            raise BakingError(f"malformed {where}: compressed text is corrupt: {exc}") from None
        if len(raw) > MAX_CREDENTIAL_BYTES or inflater.unconsumed_tail:
            raise BakingError(f"{where}: credential exceeds {MAX_CREDENTIAL_BYTES} bytes")
        if not inflater.eof:
            raise BakingError(f"malformed {where}: compressed text is truncated")
    elif flag != 0:
        raise BakingError(f"malformed {where}: compression flag {flag} (must be 0 or 1)")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BakingError(f"{where}: credential text is not UTF-8 ({exc.reason})") from None


def bake_png(png: bytes, credential_json: str) -> bytes:
    """Return ``png`` carrying ``credential_json`` in one ``openbadgecredential`` iTXt chunk.

    The input must be a complete, CRC-valid PNG. Any existing ``openbadgecredential`` iTXt
    chunks are removed; the new chunk (uncompressed, empty language tag and translated
    keyword, UTF-8 text) goes directly after IHDR. All other chunks are kept in order; bytes
    after IEND are dropped. ``credential_json`` must be a JSON object or a compact JWS.
    """
    _payload_kind(credential_json)
    chunks = _read_chunks(png)
    text = credential_json.encode("utf-8")
    # keyword NUL, compression flag 0, method 0, empty language tag NUL, empty
    # translated keyword NUL, then the text.
    data = PNG_KEYWORD + b"\0" + b"\0\0" + b"\0" + b"\0" + text
    if len(data) > _MAX_CHUNK_LENGTH:
        raise BakingError("credential is too large for a PNG chunk")
    baked = _Chunk(_ITXT, data, 0)
    kept = [c for c in chunks[1:] if not (c.kind == _ITXT and _itxt_keyword(c.data) == PNG_KEYWORD)]
    return b"".join(
        [PNG_SIGNATURE, chunks[0].serialize(), baked.serialize()] + [c.serialize() for c in kept]
    )


def unbake_png(png: bytes) -> str:
    """The credential text of the first ``openbadgecredential`` iTXt chunk of ``png``.

    The whole file is validated first (signature, chunk framing, every CRC, IHDR first, IEND
    present), so a damaged image is reported as such rather than half-read. A compressed
    chunk is accepted. Raises `BakingError` if there is no such chunk, naming an Open Badges
    2.0 ``openbadges`` chunk when that is what the image carries instead.
    """
    chunks = _read_chunks(png)
    for chunk in chunks:
        if chunk.kind == _ITXT and _itxt_keyword(chunk.data) == PNG_KEYWORD:
            return _itxt_text(chunk)
    if any(c.kind == _ITXT and _itxt_keyword(c.data) == OB2_PNG_KEYWORD for c in chunks):
        raise BakingError(
            "PNG carries an Open Badges 2.0 'openbadges' chunk, "
            "not an Open Badges 3.0 'openbadgecredential' chunk"
        )
    raise BakingError("PNG has no iTXt chunk with keyword 'openbadgecredential'")


# --------------------------------------------------------------------------- SVG


def _refuse_dtd(svg: str) -> None:
    match = _DTD_MARKUP.search(svg)
    if match:
        raise BakingError(
            f"SVG contains {match.group(0)!r} at offset {match.start()}: "
            "DTDs and entity declarations are refused (XXE / entity expansion)"
        )


class _NoDtdTreeBuilder(ET.TreeBuilder):
    """Second line of defence: aborts the parse at the start of any DOCTYPE declaration."""

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        raise BakingError("SVG contains a DOCTYPE declaration; refused")


@dataclass(slots=True)
class _Layout:
    """Byte offsets (into the UTF-8 encoding) of what `bake_svg` edits."""

    root_ns: str = ""
    root_local: str = ""
    root_start: int = -1
    root_namespaces: dict[str, str] = field(default_factory=dict)
    credentials: list[tuple[int, int]] = field(default_factory=list)


def _start_tag_end(data: bytes, start: int) -> int:
    """Offset just past the '>' closing the start tag at ``start`` ('>' may sit in quotes)."""
    quote = 0
    for pos in range(start + 1, len(data)):
        byte = data[pos]
        if quote:
            if byte == quote:
                quote = 0
        elif byte in b"\"'":
            quote = byte
        elif byte == 0x3E:  # '>'
            return pos + 1
    raise BakingError("malformed SVG: unterminated start tag")


def _scan_svg(data: bytes) -> _Layout:
    """Locate the root start tag and every OB 3.0 credential element with expat's offsets."""
    layout = _Layout()
    parser = expat.ParserCreate(encoding="utf-8", namespace_separator=" ")
    pending: dict[str, str] = {}
    open_credentials: list[int] = []
    depth = 0

    def on_ns(prefix: str | None, uri: str) -> None:
        pending[prefix or ""] = uri

    def on_start(name: str, _attrs: dict[str, str]) -> None:
        nonlocal depth
        uri, _, local = name.rpartition(" ")
        if depth == 0:
            layout.root_ns, layout.root_local = uri, local
            layout.root_start = parser.CurrentByteIndex
            layout.root_namespaces = dict(pending)
        if uri == OB3_SVG_NAMESPACE and local == "credential":
            open_credentials.append(parser.CurrentByteIndex)
        pending.clear()
        depth += 1

    def on_end(name: str) -> None:
        nonlocal depth
        depth -= 1
        uri, _, local = name.rpartition(" ")
        if uri == OB3_SVG_NAMESPACE and local == "credential":
            start = open_credentials.pop()
            tag_end = _start_tag_end(data, start)
            if data[tag_end - 2 : tag_end] == b"/>":
                end = tag_end
            else:
                end = data.index(b">", parser.CurrentByteIndex) + 1
            layout.credentials.append((start, end))

    def refuse(*_args: object) -> None:
        raise BakingError("SVG contains a DOCTYPE or entity declaration; refused")

    parser.StartNamespaceDeclHandler = on_ns
    parser.StartElementHandler = on_start
    parser.EndElementHandler = on_end
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise BakingError(f"not well-formed SVG: {exc}") from None
    return layout


def _check_svg_root(ns: str, local: str) -> None:
    # A standalone SVG must be in the SVG namespace; no namespace at all is tolerated because
    # some editors emit it and browsers render such files inline.
    if local != "svg" or ns not in (SVG_NAMESPACE, ""):
        shown = f"{{{ns}}}{local}" if ns else local
        raise BakingError(f"root element is <{shown}>, not <svg>")


def _cdata(text: str) -> str:
    def split(match: re.Match[str]) -> str:
        # "]]>" becomes "]]" + "]]><![CDATA[" + ">" and "<!" becomes "<" + ... + "!": the
        # parser joins adjacent sections, so the text content is unchanged.
        return "]]]]><![CDATA[>" if match.group(0) == "]]>" else "<]]><![CDATA[!"

    return "<![CDATA[" + _CDATA_SPLIT.sub(split, text) + "]]>"


_XML_DECL_ENCODING = re.compile(r"\A(\ufeff?<\?xml\s[^>]*?\bencoding\s*=\s*)([\"'])([^\"']*)\2")


def bake_svg(svg: str, credential_json: str) -> str:
    """Return ``svg`` carrying ``credential_json`` as its first child ``<openbadges:credential>``.

    The root must be ``<svg>`` and the input well-formed, without DTD. The root gains
    ``xmlns:openbadges="https://purl.imsglobal.org/ob/v3p0"`` unless it already has exactly
    that; a root that binds ``openbadges`` to anything else is refused. Every existing OB 3.0
    credential element (under any prefix, anywhere) is removed, so the result has exactly
    one. A JSON credential goes in the element body as CDATA (split where needed, so the
    text content is exact); a compact JWS goes in the ``verify`` attribute, as the spec
    prescribes for VC-JWT. The rest of the document is kept byte for byte, except that an
    XML declaration naming another encoding is changed to UTF-8, the encoding of a `str`
    written out. The result is checked by unbaking it.
    """
    kind = _payload_kind(credential_json)
    if not isinstance(svg, str):
        raise BakingError(f"SVG must be a str, not {type(svg).__name__}")
    bad = _NOT_XML_CHAR.search(credential_json)
    if bad:
        raise BakingError(f"credential contains {bad.group(0)!r}, which XML cannot carry")
    _refuse_dtd(svg)
    data = svg.encode("utf-8")
    layout = _scan_svg(data)
    _check_svg_root(layout.root_ns, layout.root_local)
    bound = layout.root_namespaces.get("openbadges")
    if bound is not None and bound != OB3_SVG_NAMESPACE:
        raise BakingError(
            f"the <svg> root binds the prefix 'openbadges' to {bound!r}, "
            f"not {OB3_SVG_NAMESPACE!r}; refusing to rebind it"
        )

    if kind == "json":
        element = f"<openbadges:credential>{_cdata(credential_json)}</openbadges:credential>"
    else:
        element = f'<openbadges:credential verify="{credential_json.strip()}"/>'

    root_start = layout.root_start
    tag_end = _start_tag_end(data, root_start)
    self_closing = data[tag_end - 2 : tag_end] == b"/>"
    qname_match = re.match(rb"<([^\s/>]+)", data[root_start:tag_end])
    if qname_match is None:  # expat accepted the tag, so it has a name
        raise BakingError("malformed SVG: root start tag has no name")
    qname = qname_match.group(1)

    # A credential element nested in another goes with its container: keep outermost ranges.
    removals: list[tuple[int, int]] = []
    for start, end in sorted(layout.credentials):
        if not removals or start >= removals[-1][1]:
            removals.append((start, end))
    # Edit from the end backwards so earlier offsets stay valid.
    out = bytearray(data)
    for start, end in reversed(removals):
        del out[start:end]
    inner = element.encode("utf-8")
    if self_closing:
        out[tag_end - 2 : tag_end] = b">" + inner + b"</" + qname + b">"
        close_at = tag_end - 2
    else:
        out[tag_end:tag_end] = inner
        close_at = tag_end - 1
    if bound is None:
        # Keep a space before "/>" or ">" tidy: insert right where the tag closes.
        out[close_at:close_at] = f' xmlns:openbadges="{OB3_SVG_NAMESPACE}"'.encode("ascii")

    result = out.decode("utf-8")
    declaration = _XML_DECL_ENCODING.match(result)
    if declaration and declaration.group(3).lower().replace("_", "-") not in ("utf-8", "utf8"):
        result = result[: declaration.start(3)] + "UTF-8" + result[declaration.end(3) :]
    if unbake_svg(result) != credential_json.strip():
        raise BakingError("internal error: the baked SVG does not unbake to the credential")
    return result


def unbake_svg(svg: str) -> str:
    """The credential in ``svg``: the text of its first ``<openbadges:credential>`` element.

    Leading whitespace and a byte order mark are ignored. The element is found in the OB 3.0
    namespace under any prefix and at any depth. Its text
    content (CDATA or escaped text, whitespace-trimmed) is returned; if it has none, its
    ``verify`` attribute (the VC-JWT form) is. Input containing ``<!DOCTYPE`` or
    ``<!ENTITY`` is refused before parsing. Raises `BakingError` for that, for malformed
    XML, for a root that is not ``<svg>``, for a missing or empty element (naming an Open
    Badges 2.0 ``<openbadges:assertion>`` if that is what is there).
    """
    if not isinstance(svg, str):
        raise BakingError(f"SVG must be a str, not {type(svg).__name__}")
    _refuse_dtd(svg)
    # Lenient: whitespace or a byte order mark before "<?xml" is not well-formed, but it is
    # harmless and editors and upload paths add it.
    svg = svg.lstrip(" \t\r\n\ufeff")
    # Safe despite S314: DTDs are refused above and again by the tree builder, so there is
    # nothing for an entity attack to use; expat never fetches external resources.
    parser = ET.XMLParser(target=_NoDtdTreeBuilder())  # noqa: S314
    try:
        root = ET.fromstring(svg, parser=parser)  # noqa: S314
    except ET.ParseError as exc:
        raise BakingError(f"not well-formed SVG: {exc}") from None
    # ElementTree spells namespaced tags "{uri}local".
    ns, _, local = root.tag[1:].partition("}") if root.tag.startswith("{") else ("", "", root.tag)
    _check_svg_root(ns, local)
    element = next(root.iter(f"{{{OB3_SVG_NAMESPACE}}}credential"), None)
    if element is None:
        if next(root.iter(f"{{{OB2_SVG_NAMESPACE}}}assertion"), None) is not None:
            raise BakingError(
                "SVG carries an Open Badges 2.0 <openbadges:assertion>, "
                "not an Open Badges 3.0 <openbadges:credential>"
            )
        raise BakingError(
            f"SVG has no <openbadges:credential> element (namespace {OB3_SVG_NAMESPACE})"
        )
    text = "".join(element.itertext()).strip()
    if text:
        return text
    verify = (element.get("verify") or "").strip()
    if verify:
        return verify
    raise BakingError(
        "the <openbadges:credential> element is empty: no credential JSON in its text "
        "content and no verify attribute"
    )


# --------------------------------------------------------------------------- sniffing


def detect_and_extract(data: bytes) -> tuple[Literal["png", "svg", "pdf", "json"], str]:
    """Sniff an upload and return ``(kind, credential text)``.

    PNG by signature; a PDF certificate by ``%PDF-``, its credential read from the attached
    ``credential.json`` (see `certificate.credential_from_pdf`); otherwise the bytes are read
    as UTF-8 (a UTF-8 or UTF-16 byte order mark is honoured) and, after leading whitespace,
    ``<svg``, ``<?xml`` or ``<!--`` mean SVG and ``{`` means a JSON credential, which must
    parse as a JSON object. Anything else raises ``BakingError("not a PNG, SVG or JSON
    credential")``; errors inside a recognised format are that format's (see `unbake_png`,
    `unbake_svg`, `certificate.credential_from_pdf`).
    """
    if not isinstance(data, bytes | bytearray):
        raise BakingError(f"data must be bytes, not {type(data).__name__}")
    if data.startswith(PNG_SIGNATURE):
        return "png", unbake_png(bytes(data))
    if data.startswith(b"%PDF-"):
        # Imported here: the certificate module is the one place that knows PDF, and most
        # uploads are not PDFs (pypdf itself is imported only when one is).
        from microcred.credentials.certificate import credential_from_pdf

        return "pdf", credential_from_pdf(bytes(data))
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = bytes(data).decode("utf-16")
        else:
            text = bytes(data).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BakingError("not a PNG, SVG or JSON credential") from None
    head = text.lstrip()
    if head.startswith(("<svg", "<?xml", "<!--")):
        return "svg", unbake_svg(text)
    if head.startswith("{"):
        # Sniffing only: the caller parses (and reports) the JSON once.
        return "json", head.rstrip()
    raise BakingError("not a PNG, SVG or JSON credential")


# --------------------------------------------------------------------------- default images

# Geometry of the default badge, as fractions of the image size: a medal made of a dark
# outer disc, a pale ring, the main-colour face and a white five-pointed star.
_OUTER, _RING, _FACE, _STAR_OUTER = 0.47, 0.42, 0.385, 0.215
_STAR_INNER = _STAR_OUTER * 0.381966  # inner/outer radius of a regular pentagram

RGB = tuple[int, int, int]


def _palette(label: str) -> tuple[RGB, RGB, RGB]:
    """(dark, pale, face) colours with a hue derived from the label.

    Achievements without an image still look distinct from one another, and the same
    achievement always gets the same colour. Value and saturation are fixed so white keeps
    enough contrast on the face.
    """
    hue = int.from_bytes(hashlib.sha256(label.encode("utf-8")).digest()[:2], "big") / 65536

    def rgb(s: float, v: float) -> RGB:
        r, g, b = colorsys.hsv_to_rgb(hue, s, v)
        return round(r * 255), round(g * 255), round(b * 255)

    return rgb(0.75, 0.38), rgb(0.15, 0.97), rgb(0.65, 0.60)


def _star_points(cx: float, cy: float, outer: float, inner: float) -> list[tuple[float, float]]:
    points = []
    for k in range(10):
        radius = outer if k % 2 == 0 else inner
        angle = -math.pi / 2 + k * math.pi / 5  # first point straight up
        points.append((cx + radius * math.cos(angle), cy + radius * math.sin(angle)))
    return points


class _Disc:
    def __init__(self, cx: float, cy: float, r: float) -> None:
        self.cx, self.cy, self.r = cx, cy, r

    def inside(self, x: float, y: float) -> bool:
        return (x - self.cx) ** 2 + (y - self.cy) ** 2 <= self.r**2

    def coverage(self, x: float, y: float) -> float:
        # Signed distance to the circle gives an anti-aliased edge one pixel wide.
        return min(1.0, max(0.0, 0.5 - (math.hypot(x - self.cx, y - self.cy) - self.r)))

    def boundary(self, y0: float, y1: float) -> list[tuple[float, float]]:
        """x-ranges in which the circle passes through the band y0 <= y <= y1."""
        if y1 < self.cy - self.r or y0 > self.cy + self.r:
            return []
        far = max(abs(y0 - self.cy), abs(y1 - self.cy))
        near = 0.0 if y0 <= self.cy <= y1 else min(abs(y0 - self.cy), abs(y1 - self.cy))
        wide = math.sqrt(max(0.0, self.r**2 - near**2))
        narrow = math.sqrt(max(0.0, self.r**2 - far**2))
        return [(self.cx - wide, self.cx - narrow), (self.cx + narrow, self.cx + wide)]


class _Polygon:
    def __init__(self, points: list[tuple[float, float]]) -> None:
        self.edges = [(points[i], points[(i + 1) % len(points)]) for i in range(len(points))]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        # Anything a pixel beyond the bounding box has zero coverage: skip the edge loop.
        self.box = (min(xs) - 1, min(ys) - 1, max(xs) + 1, max(ys) + 1)

    def inside(self, x: float, y: float) -> bool:
        crossings = False
        for (x0, y0), (x1, y1) in self.edges:
            if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
                crossings = not crossings
        return crossings

    def coverage(self, x: float, y: float) -> float:
        left, top, right, bottom = self.box
        if not (left <= x <= right and top <= y <= bottom):
            return 0.0
        nearest = math.inf
        for (x0, y0), (x1, y1) in self.edges:
            dx, dy = x1 - x0, y1 - y0
            t = max(0.0, min(1.0, ((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy)))
            nearest = min(nearest, math.hypot(x - x0 - t * dx, y - y0 - t * dy))
        signed = -nearest if self.inside(x, y) else nearest
        return min(1.0, max(0.0, 0.5 - signed))

    def boundary(self, y0: float, y1: float) -> list[tuple[float, float]]:
        spans = []
        for (ax, ay), (bx, by) in self.edges:
            lo, hi = max(y0, min(ay, by)), min(y1, max(ay, by))
            if lo > hi:
                continue
            if ay == by:
                spans.append((min(ax, bx), max(ax, bx)))
                continue
            xa = ax + (lo - ay) * (bx - ax) / (by - ay)
            xb = ax + (hi - ay) * (bx - ax) / (by - ay)
            spans.append((min(xa, xb), max(xa, xb)))
        return spans


def _render_rgba(size: int, layers: list[tuple[_Disc | _Polygon, RGB]]) -> list[bytes]:
    """Scanlines of straight-alpha RGBA for opaque layers painted in order.

    Per row, only pixels within a pixel of some shape boundary are shaded individually (with
    signed-distance coverage, composited in premultiplied space); the runs between them have
    one colour, found at their middle, and are filled with slice assignment. This keeps a
    512-pixel badge well under a second in pure Python.
    """
    rows = []
    clear = b"\0\0\0\0"
    for y in range(size):
        row = bytearray(4 * size)
        edges: list[tuple[int, int]] = []
        for shape, _ in layers:
            for a, b in shape.boundary(float(y), float(y + 1)):
                edges.append((max(0, math.floor(a) - 1), min(size, math.ceil(b) + 1)))
        edges.sort()
        merged: list[list[int]] = []
        for a, b in edges:
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        cy = y + 0.5
        x = 0
        for a, b in [*merged, [size, size]]:
            if a > x:
                # No boundary comes within half a pixel of this run: one test decides it.
                mid = (x + a) // 2 + 0.5
                colour = clear
                for shape, rgb in layers:
                    if shape.inside(mid, cy):
                        colour = bytes((*rgb, 255))
                row[4 * x : 4 * a] = colour * (a - x)
            for px in range(a, b):
                cx = px + 0.5
                pr = pg = pb = pa = 0.0
                for shape, (r, g, bl) in layers:
                    c = shape.coverage(cx, cy)
                    if c:
                        pr, pg, pb, pa = (
                            r * c + pr * (1 - c),
                            g * c + pg * (1 - c),
                            bl * c + pb * (1 - c),
                            c + pa * (1 - c),
                        )
                if pa > 0:
                    row[4 * px : 4 * px + 4] = bytes(
                        (round(pr / pa), round(pg / pa), round(pb / pa), round(pa * 255))
                    )
            x = max(x, b)
        rows.append(bytes(row))
    return rows


def _png(width: int, height: int, rows: list[bytes]) -> bytes:
    """A minimal RGBA PNG: IHDR, one IDAT (filter type 0 on every row), IEND."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)  # 8-bit RGBA, no interlace
    raw = b"".join(b"\0" + row for row in rows)
    return (
        PNG_SIGNATURE
        + _Chunk(b"IHDR", ihdr, 0).serialize()
        + _Chunk(b"IDAT", zlib.compress(raw, 9), 0).serialize()
        + _Chunk(b"IEND", b"", 0).serialize()
    )


def default_badge_png(size: int = 512, *, label: str) -> bytes:
    """A ``size`` x ``size`` RGBA PNG medal on a transparent background, coloured by ``label``.

    Used when an achievement has no uploaded image. No text is drawn (the stdlib has no
    font rasteriser); the label only picks the hue. Same label and size, same bytes.
    ``size`` must be between 16 and 4096.
    """
    if not isinstance(size, int) or isinstance(size, bool) or not 16 <= size <= 4096:
        raise BakingError(f"badge size must be an int from 16 to 4096, not {size!r}")
    dark, pale, face = _palette(label)
    c = size / 2
    white = (255, 255, 255)
    # A star's points reach R above its centre but only R*cos(36deg) below: lower it by half
    # the difference so the star's bounding box, which is what the eye centres, is centred.
    star_cy = c + _STAR_OUTER * size * (1 - math.cos(math.pi / 5)) / 2
    layers: list[tuple[_Disc | _Polygon, RGB]] = [
        (_Disc(c, c, _OUTER * size), dark),
        (_Disc(c, c, _RING * size), pale),
        (_Disc(c, c, _FACE * size), face),
        (_Polygon(_star_points(c, star_cy, _STAR_OUTER * size, _STAR_INNER * size)), white),
    ]
    return _png(size, size, _render_rgba(size, layers))


def default_badge_svg(label: str) -> str:
    """The same medal as `default_badge_png` as a 512x512-viewBox SVG, with ``label`` on it.

    The label is written on the face below the star (wrapped to at most two lines of 20
    characters, shortened with an ellipsis beyond that) and is the accessible title in full.
    It is XML-escaped and stripped of characters XML cannot carry. The result is a valid
    SVG 1.1 document with no DTD, ready for `bake_svg`.
    """
    clean = " ".join(_NOT_XML_CHAR.sub("", label).split())
    lines = textwrap.wrap(clean, width=20, max_lines=2, placeholder="\u2026") or [""]
    dark, pale, face = _palette(label)
    s = 512
    c = s / 2
    star_cy = c - 0.06 * s
    points = " ".join(
        f"{x:.1f},{y:.1f}" for x, y in _star_points(c, star_cy, 0.17 * s, 0.17 * s * 0.381966)
    )
    # Roughly 0.55 em per character in a sans-serif face; keep the longest line inside the
    # ~270-unit chord of the face at the text's height.
    font = max(14, min(34, math.floor(250 / (0.55 * max(len(line) for line in lines) or 1))))
    first = 0.72 * s if len(lines) == 1 else 0.70 * s
    text = "".join(
        f'<tspan x="{c:g}" y="{first + i * font * 1.15:.1f}">{escape(line)}</tspan>'
        for i, line in enumerate(lines)
    )

    def hexrgb(rgb: RGB) -> str:
        return "#{:02x}{:02x}{:02x}".format(*rgb)

    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<svg xmlns="{SVG_NAMESPACE}" viewBox="0 0 {s} {s}" width="{s}" height="{s}" '
        f'role="img" aria-label={quoteattr(clean)}>\n'
        f"  <title>{escape(clean)}</title>\n"
        f'  <circle cx="{c:g}" cy="{c:g}" r="{_OUTER * s:g}" fill="{hexrgb(dark)}"/>\n'
        f'  <circle cx="{c:g}" cy="{c:g}" r="{_RING * s:g}" fill="{hexrgb(pale)}"/>\n'
        f'  <circle cx="{c:g}" cy="{c:g}" r="{_FACE * s:g}" fill="{hexrgb(face)}"/>\n'
        f'  <polygon points="{points}" fill="#ffffff"/>\n'
        f'  <text text-anchor="middle" font-size="{font}" font-weight="600" fill="#ffffff" '
        "font-family=\"system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif\">"
        f"{text}</text>\n"
        "</svg>\n"
    )
