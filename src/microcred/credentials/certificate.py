"""The printable PDF certificate, which carries its own signed credential.

`certificate_pdf` renders one A4 landscape page with WeasyPrint from
``templates/credentials/certificate_pdf.html`` and embeds the signed credential as the file
attachment ``credential.json``: whoever holds the PDF holds the credential, and the public
verifier accepts the PDF itself (`credential_from_pdf`, via `baking.detect_and_extract`). A QR
code on the page leads to the public verification page for people who only have the paper.

The page text is for people and is not signed; only the attachment is verified.

Rendering is offline by construction: the only URL WeasyPrint may open is a ``data:`` URI
(the QR code and the seal are inlined), so a template edit can never make a render reach the
network. The output is byte-for-byte reproducible for the same inputs (no creation date, the
attachment dated by the credential's ``validFrom``).

WeasyPrint (about 1.5 s to import) and pypdf are imported inside the functions that need them,
so that importing this module, which the upload sniffer does, stays cheap.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

import segno
from jinja2 import Environment, PackageLoader, StrictUndefined

from microcred.credentials import baking

__all__ = [
    "ATTACHMENT_NAME",
    "MAX_ATTACHMENT_BYTES",
    "QR_BOX_MM",
    "certificate_pdf",
    "credential_from_pdf",
]

ATTACHMENT_NAME = "credential.json"
ATTACHMENT_DESCRIPTION = "Open Badges 3.0 credential"
# A signed credential is a few KiB; anything far larger is not one of ours and is refused
# before it is decoded into memory.
MAX_ATTACHMENT_BYTES = 1024 * 1024
# Bound every decompression pypdf does while finding the attachment (object and xref streams),
# so that a small crafted upload cannot inflate into gigabytes.
_PARSE_OUTPUT_LIMIT = 32 * 1024 * 1024
_OUTPUT_LIMIT_SETTINGS = (
    "zlib_maximum_output_length",
    "lzw_maximum_output_length",
    "run_length_maximum_output_length",
    "array_based_stream_maximum_output_length",
    "brotli_maximum_output_length",
    "jbig2_maximum_output_length",
)

# Where the QR code sits on the page, in millimetres from the page's top-left corner:
# (left, top, size). The template is positioned from these numbers, and the tests read the
# code back out of a rendering of the page at exactly this place.
PAGE_MM = (297.0, 210.0)
QR_BOX_MM = (241.0, 148.0, 34.0)

# Beyond these lengths text is cut with an ellipsis, so that whatever an issuer typed the
# certificate stays on one page with its footer in place.
_MAX_ACHIEVEMENT = 100
_MAX_LEARNER = 60
_MAX_ISSUER = 80
_MAX_DESCRIPTION = 170
_MAX_SKILL = 36
_MAX_SKILLS = 6

_UNREADABLE_PDF = "not a readable PDF (damaged or truncated?)"
_NO_CREDENTIAL = (
    "this PDF carries no credential; it may be a printout — ask for the credential file or its link"
)

_environment: Environment | None = None


def _templates() -> Environment:
    global _environment  # noqa: PLW0603 - built once, on first use, not at import time
    if _environment is None:
        _environment = Environment(
            loader=PackageLoader("microcred", "templates"),
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
    return _environment


# --------------------------------------------------------------------------- rendering


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


def _parse_moment(value: object) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _long_date(value: object) -> str | None:
    """'2026-03-12T09:00:00Z' as '12 March 2026'; text that is not a date is shown as is."""
    moment = _parse_moment(value)
    if moment is None:
        return value if isinstance(value, str) and value else None
    return f"{moment.day} {moment:%B %Y}"


def _hours_text(hours: str | None) -> str | None:
    if hours is None or not hours.strip():
        return None
    text = hours.strip()
    try:
        number = Decimal(text)
    except InvalidOperation:
        return _clip(text, 40)  # already worded, e.g. "about 12 hours"
    if not number.is_finite():
        return _clip(text, 40)
    shown = format(number.normalize(), "f") if number == number.to_integral() else text
    return f"{shown} hour" if number == 1 else f"{shown} hours"


def _name_of(value: object) -> str:
    if isinstance(value, Mapping):
        name = value.get("name")
        if isinstance(name, str):
            return name
        ident = value.get("id")
        return ident if isinstance(ident, str) else ""
    return value if isinstance(value, str) else ""


def _achievement(credential: Mapping[str, Any]) -> Mapping[str, Any]:
    subject = credential.get("credentialSubject")
    if isinstance(subject, list):  # VC 2.0 allows several subjects; the first is the learner
        subject = subject[0] if subject else None
    achievement = subject.get("achievement") if isinstance(subject, Mapping) else None
    return achievement if isinstance(achievement, Mapping) else {}


def _alignment_names(achievement: Mapping[str, Any]) -> list[str]:
    alignments = achievement.get("alignment")
    if not isinstance(alignments, list):
        return []
    names = (a.get("targetName") for a in alignments if isinstance(a, Mapping))
    return [n for n in names if isinstance(n, str) and n.strip()]


def _size_class(text: str, *, long: int, very_long: int) -> str:
    """A smaller type size for long names, so that they still fit their box on two lines."""
    if len(text) > very_long:
        return "very-long"
    return "long" if len(text) > long else ""


def _data_uri(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _qr_data_uri(url: str) -> str:
    # Level M survives a scuffed or folded print; the four-module quiet zone is the one the
    # QR specification requires for reliable scanning.
    qr = segno.make_qr(url, error="m")
    return str(qr.svg_data_uri(border=4, dark="#102a43", light="#ffffff", omitsize=True))


def _context(
    credential: Mapping[str, Any],
    *,
    learner_name: str,
    verify_url: str,
    hours: str | None,
    skills: list[str] | None,
) -> dict[str, Any]:
    achievement = _achievement(credential)
    full_name = _name_of(achievement) or _name_of(credential) or "Achievement"
    achievement_name = _clip(full_name, _MAX_ACHIEVEMENT)
    learner = _clip(learner_name, _MAX_LEARNER) or "the learner"
    issuer = _clip(_name_of(credential.get("issuer")), _MAX_ISSUER)
    chosen = _alignment_names(achievement) if skills is None else skills
    shown_skills = [_clip(s, _MAX_SKILL) for s in chosen if s.strip()]
    description = achievement.get("description")
    credential_id = credential.get("id")
    # The full name picks the medal's colour, as it does for the achievement's default badge.
    seal = baking.default_badge_svg(full_name).encode("utf-8")
    left, top, size = QR_BOX_MM
    return {
        "title": f"{achievement_name} — {learner}",
        "issuer": issuer,
        "achievement_name": achievement_name,
        "achievement_class": _size_class(achievement_name, long=48, very_long=80),
        "learner_name": learner,
        "learner_class": _size_class(learner, long=32, very_long=50),
        "description": _clip(description, _MAX_DESCRIPTION)
        if isinstance(description, str)
        else None,
        "issued": _long_date(credential.get("validFrom")),
        "expires": _long_date(credential.get("validUntil")),
        "hours": _hours_text(hours),
        "skills": shown_skills[:_MAX_SKILLS],
        "more_skills": max(0, len(shown_skills) - _MAX_SKILLS),
        "credential_id": credential_id if isinstance(credential_id, str) else None,
        "verify_url": verify_url,
        "qr_uri": _qr_data_uri(verify_url),
        "seal_uri": _data_uri("image/svg+xml", seal),
        "page": {"width": PAGE_MM[0], "height": PAGE_MM[1]},
        "qr": {"left": left, "top": top, "size": size},
    }


def _offline_fetcher() -> Any:
    """A WeasyPrint URL fetcher that opens ``data:`` URIs and refuses every other URL.

    A refused URL fails (WeasyPrint logs it and leaves the resource out) instead of being
    fetched. A new one per render: WeasyPrint's fetcher keeps per-request state.
    """
    from weasyprint.urls import URLFetcher  # type: ignore[import-untyped]

    return URLFetcher(allowed_protocols=("data",))


def certificate_pdf(
    credential: dict[str, Any],
    *,
    learner_name: str,
    verify_url: str,
    hours: str | None = None,
    skills: list[str] | None = None,
) -> bytes:
    """A one-page A4 landscape PDF certificate carrying ``credential`` as ``credential.json``.

    ``credential`` is the signed document exactly as issued; it is embedded as
    ``json.dumps(credential, indent=2)``, so the PDF verifies like the JSON does. The page
    shows the issuer, the achievement, "awarded to" ``learner_name`` (the credential itself
    identifies the learner only by a hash), the issue and expiry dates, ``hours`` of learning
    when given, the skills (``skills``, or the achievement's alignment names when None), the
    credential id and a QR code for ``verify_url``, the public verification page.
    """
    from weasyprint import HTML, Attachment  # type: ignore[import-untyped]

    html = (
        _templates()
        .get_template("credentials/certificate_pdf.html")
        .render(
            _context(
                credential,
                learner_name=learner_name,
                verify_url=verify_url,
                hours=hours,
                skills=skills,
            )
        )
    )
    fetcher = _offline_fetcher()
    # The attachment's dates come from the credential, not the clock, so the same credential
    # always gives the same bytes.
    dated = _parse_moment(credential.get("validFrom")) or dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    dated = dated.astimezone(dt.UTC).replace(tzinfo=None)
    attachment = Attachment(
        string=json.dumps(credential, indent=2),
        name=ATTACHMENT_NAME,
        description=ATTACHMENT_DESCRIPTION,
        created=dated,
        modified=dated,
        url_fetcher=fetcher,
    )
    document = HTML(string=html, url_fetcher=fetcher).render()
    if len(document.pages) > 1:
        # The template and the length limits keep everything on one page; should a font
        # still push something over, the certificate stays one page rather than spilling.
        document = document.copy(document.pages[:1])
    # Tagged (a structure tree with reading order, language and the QR code's alt text) so
    # that screen readers can read the certificate; it costs about 1.5 KiB and 50 ms.
    pdf: bytes = document.write_pdf(attachments=[attachment], pdf_tags=True)
    return pdf


# --------------------------------------------------------------------------- reading back


def credential_from_pdf(data: bytes) -> str:
    """The text of the ``credential.json`` file attached to a PDF (see `certificate_pdf`).

    Raises `baking.BakingError` with a reason a person can act on when ``data`` is not a PDF,
    is encrypted or cannot be parsed, carries no (or more than one) ``credential.json``, or
    when that attachment exceeds `MAX_ATTACHMENT_BYTES` or is not UTF-8. Decompression is
    bounded throughout. The credential's proof is not checked here.
    """
    if not isinstance(data, bytes | bytearray):
        raise baking.BakingError(f"PDF data must be bytes, not {type(data).__name__}")
    if not data.startswith(b"%PDF-"):
        raise baking.BakingError("not a PDF: the file does not start with '%PDF-'")

    from pypdf import PdfReader, apply_configuration
    from pypdf.errors import FileNotDecryptedError, LimitReachedError

    parse_limits = dict.fromkeys(_OUTPUT_LIMIT_SETTINGS, _PARSE_OUTPUT_LIMIT)
    content_limits = dict.fromkeys(_OUTPUT_LIMIT_SETTINGS, MAX_ATTACHMENT_BYTES + 1)
    too_large = f"the {ATTACHMENT_NAME} attachment is larger than {MAX_ATTACHMENT_BYTES} bytes"
    try:
        with apply_configuration(None, **parse_limits):
            reader = PdfReader(io.BytesIO(bytes(data)))
            if reader.is_encrypted:
                raise baking.BakingError(
                    "the PDF is encrypted; its attachments cannot be read — "
                    "ask for the certificate as it was issued, or the credential file"
                )
            found = [
                f for f in reader.attachment_list if ATTACHMENT_NAME in (f.name, f.alternative_name)
            ]
            if not found:
                raise baking.BakingError(_NO_CREDENTIAL)
            if len(found) > 1:
                raise baking.BakingError(
                    f"the PDF carries {len(found)} {ATTACHMENT_NAME} attachments; "
                    "which one is the credential is ambiguous"
                )
            declared = found[0].size
            if isinstance(declared, int) and declared > MAX_ATTACHMENT_BYTES:
                raise baking.BakingError(too_large)
            try:
                with apply_configuration(None, **content_limits):
                    raw = found[0].content
            except LimitReachedError:
                raise baking.BakingError(too_large) from None
    except baking.BakingError:
        raise
    except FileNotDecryptedError:
        raise baking.BakingError("the PDF is encrypted; its attachments cannot be read") from None
    except Exception as exc:
        # pypdf reports a damaged file with many exception types (its own, ValueError,
        # KeyError, struct and zlib errors, RecursionError...); to the uploader they all mean
        # the same thing.
        raise baking.BakingError(f"{_UNREADABLE_PDF}: {type(exc).__name__}: {exc}") from None
    if len(raw) > MAX_ATTACHMENT_BYTES:
        raise baking.BakingError(too_large)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise baking.BakingError(
            f"the {ATTACHMENT_NAME} attachment is not UTF-8 text ({exc.reason})"
        ) from None
