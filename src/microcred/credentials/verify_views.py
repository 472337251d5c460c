"""The verification page for employers and anyone else handed a credential.

`GET /verify` shows three ways in: paste the JSON, upload a file (the JSON, a baked PNG/SVG
badge, the PDF certificate) or open a link. `GET /verify?url=…` verifies that link at once,
so the QR code on a certificate and a holder's "verification link" land on a verdict.
`POST /verify` verifies pasted text or an uploaded file. Everything works without
JavaScript: plain multipart forms, protected by the double-submit CSRF cookie.

Every verdict, VALID or INVALID, is a 200 page (as `POST /api/v1/verify` answers 200 with a
verdict), and is logged as a verification event. Input that carries nothing to verify is
refused with its own status and the reason on the page, and nothing is logged: an empty
form (422), a file too large (413), a file that is no credential format at all (415), an
expired form (403), a link that cannot be opened (422 refused, 404 ours but unknown, 502
unreachable).
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import httpx
from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from microcred.credentials import explain, records, resolvers, service, verifier
from microcred.credentials.verifier import Verdict
from microcred.kit.errors import NotAuthenticated
from microcred.kit.settings import Settings
from microcred.kit.web import csrf
from microcred.kit.web.deps import DbSession, SettingsDep
from microcred.kit.web.templating import templates

router = APIRouter(include_in_schema=False)

# Asked of other sites when opening a link: the credential, not its page.
ACCEPT = "application/vc+ld+json, application/json"
MAX_FETCH_BYTES = resolvers.MAX_DOCUMENT_BYTES
MAX_PASTE_BYTES = verifier.MAX_CREDENTIAL_BYTES
MAX_URL_CHARS = 2000
# The app refuses any body over `max_upload_bytes` before it reaches a route (with a JSON
# problem). Keeping the page's own file limit this much below it leaves room for the other
# fields and the multipart framing, so a file just over the page's limit still gets the
# reason on this page.
FORM_HEADROOM = 64 * 1024
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
NOT_A_CREDENTIAL_FILE = (
    "This file is not a credential: upload the JSON file, the badge image (PNG/SVG) or the "
    "PDF certificate."
)

Source = Literal["paste", "upload", "link"]
ErrorField = Literal["credential", "file", "url", ""]


class PageError(Exception):
    """Input that cannot be verified at all: a status and a sentence for the page."""

    def __init__(self, status: int, message: str, field: ErrorField = "") -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


@dataclass(frozen=True, slots=True)
class Submission:
    """The posted form, read off the event loop's request before the route runs."""

    csrf_token: str = ""
    text: str = ""
    upload: bytes | None = None
    url: str = ""
    error: PageError | None = None


def upload_limit(settings: Settings) -> int:
    return max(1024, settings.max_upload_bytes - FORM_HEADROOM)


def _size_words(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):.1f} MB".replace(".0 MB", " MB")
    return f"{count // 1024} KB"


def _field(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def read_submission(request: Request) -> Submission:
    """Parse the multipart form here (async), so the route itself runs in a worker thread."""
    settings: Settings = request.app.state.settings
    limit = upload_limit(settings)
    try:
        form = await request.form(max_files=1, max_fields=5, max_part_size=MAX_PASTE_BYTES)
    except HTTPException as exc:  # Starlette's answer to a malformed or oversized part
        if "maximum size" in str(exc.detail):
            return Submission(
                error=PageError(
                    413,
                    f"The pasted text is larger than {_size_words(MAX_PASTE_BYTES)}, too large "
                    "to be a credential.",
                    "credential",
                )
            )
        return Submission(error=PageError(400, "The form could not be read; please try again."))
    try:
        upload: bytes | None = None
        part = form.get("file")
        # A browser sends an empty, nameless part when no file was chosen.
        if isinstance(part, UploadFile) and (part.filename or part.size):
            # The size is known once the part is spooled: refuse before reading it in.
            if part.size is not None and part.size > limit:
                return _too_large(limit)
            upload = await part.read(limit + 1)
            if len(upload) > limit:
                return _too_large(limit)
        return Submission(
            csrf_token=_field(form, "csrf_token"),
            text=_field(form, "credential"),
            upload=upload,
            url=_field(form, "url").strip(),
        )
    finally:
        await form.close()


def _too_large(limit: int) -> Submission:
    return Submission(
        error=PageError(
            413,
            f"The file is larger than {_size_words(limit)}. Credentials, badge images and "
            "certificates are much smaller: check that this is the right file.",
            "file",
        )
    )


def _looks_like_a_credential_file(data: bytes) -> bool:
    """The formats the verifier reads: PNG, PDF, or text that is JSON or SVG.

    Sniffed from the bytes as the verifier sniffs them (browsers label files inconsistently).
    A JSON or image file without a valid credential still gets a verdict that says why.
    """
    if data.startswith((PNG_SIGNATURE, b"%PDF-")):
        return True
    try:
        text = (
            data.decode("utf-16")
            if data.startswith((b"\xff\xfe", b"\xfe\xff"))
            else data.decode("utf-8-sig")
        )
    except UnicodeDecodeError:
        return False
    return text.lstrip().startswith(("{", "[", "<svg", "<?xml", "<!--"))


# --- opening a link --------------------------------------------------------------------------


def resolve_host(host: str, port: int) -> list[str]:
    """The addresses a host name resolves to (a seam for tests; the system resolver)."""
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]) for info in infos]


def _public_address(host: str, port: int) -> str:
    """One address of `host`, refusing hosts that resolve to anything but the public internet.

    Every address is checked, not just the first: a name that also points at a private or
    loopback address would let a visitor make this server probe its own network (SSRF).
    """
    try:
        addresses = resolve_host(host, port)
    except (OSError, UnicodeError):
        raise PageError(
            502,
            f"The link could not be opened: {host} could not be found. Check the link, or "
            "download the credential and upload it here.",
            "url",
        ) from None
    if not addresses:
        raise PageError(502, f"The link could not be opened: {host} has no address.", "url")
    if not all(resolvers.is_public_address(raw) for raw in addresses):
        raise PageError(
            422,
            "This link points into a private network, which this server does not open. "
            "Download the credential and upload it here instead.",
            "url",
        )
    return addresses[0]


def fetch_credential(url: str, *, timeout_s: float) -> bytes:
    """GET a credential from another site: HTTPS only, no redirects, at most 1 MiB, public
    addresses only (the connection goes to the address that was checked, so a second DNS
    answer cannot redirect it; TLS still verifies the certificate for the host name)."""
    target = httpx.URL(url)
    if target.scheme != "https" or not target.host:
        raise PageError(
            422,
            "Only https:// links are opened: a credential fetched over plain http could have "
            "been altered on the way.",
            "url",
        )
    host = target.host
    port = target.port or 443
    address = _public_address(host, port)
    shown_host = f"[{host}]" if ":" in host else host
    headers = {
        "Accept": ACCEPT,
        "Host": shown_host if target.port in (None, 443) else f"{shown_host}:{port}",
    }
    unreachable = (
        f"The link could not be opened: {host} could not be reached. Try again later, or "
        "download the credential and upload it here."
    )
    try:
        with (
            # No proxies from the environment: the request must go to the checked address.
            httpx.Client(timeout=timeout_s, follow_redirects=False, trust_env=False) as client,
            client.stream(
                "GET",
                target.copy_with(host=address),
                headers=headers,
                extensions={"sni_hostname": host},
            ) as response,
        ):
            if response.is_redirect:
                raise PageError(
                    502,
                    "The link redirects to another address "
                    f"({response.headers.get('location', '')}); give the credential's own "
                    "address instead.",
                    "url",
                )
            if response.status_code != 200:
                raise PageError(
                    502,
                    f"The link could not be opened: {host} answered HTTP {response.status_code}.",
                    "url",
                )
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > MAX_FETCH_BYTES:
                    raise PageError(
                        502,
                        f"The document at this link is larger than "
                        f"{_size_words(MAX_FETCH_BYTES)}, too large to be a credential.",
                        "url",
                    )
    except httpx.HTTPError:
        raise PageError(502, unreachable, "url") from None
    return bytes(body)


def verify_link(session: Session, *, settings: Settings, url: str) -> Verdict:
    """The verdict on the credential at `url`: ours from the register, others' fetched."""
    if len(url) > MAX_URL_CHARS:
        raise PageError(422, "This link is too long to be a credential's address.", "url")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise PageError(
            422,
            "This is not a web address: give the credential's link, starting with https://.",
            "url",
        )
    award = records.award_for_credential_id(session, settings=settings, credential_id=url)
    if award is not None:
        # The link is the holder's share: whoever has it may verify the stored credential,
        # whatever its page's visibility.
        return service.verify_document(session, settings=settings, data=award.credential)
    if url.startswith(f"{settings.public_base_url}/"):
        raise PageError(
            404,
            "There is no credential at this address on this platform. Check that the whole "
            "link was copied.",
            "url",
        )
    if not settings.verifier_fetch_remote:
        raise PageError(
            422,
            "This server does not open links to other websites. Download the credential (its "
            "JSON file, badge image or PDF certificate) and upload it here.",
            "url",
        )
    data = fetch_credential(url, timeout_s=settings.verifier_fetch_timeout_s)
    return service.verify_document(session, settings=settings, data=data)


# --- pages -------------------------------------------------------------------------------------


def _page(
    request: Request,
    *,
    token: str,
    status: int = 200,
    verdict: Verdict | None = None,
    error: PageError | None = None,
    text: str = "",
    url: str = "",
    settings: Settings,
) -> Response:
    page = templates.TemplateResponse(
        request,
        "credentials/verify.html",
        {
            "csrf_token": token,
            "verdict": verdict,
            "plain": explain.plain_checks(verdict) if verdict is not None else [],
            "claims": explain.claims(verdict.credential) if verdict is not None else [],
            "error": error.message if error is not None else None,
            "error_field": error.field if error is not None else "",
            # Refill what was typed so a mistake can be fixed, unless it was the problem.
            "text": text if len(text) <= MAX_PASTE_BYTES else "",
            "url": url if len(url) <= MAX_URL_CHARS else "",
            "max_upload": _size_words(upload_limit(settings)),
        },
        status_code=status,
        # What a visitor brought is theirs: no shared cache keeps it.
        headers={"Cache-Control": "no-store"},
    )
    return csrf.remember(page, request, token)


def _verdict_page(
    request: Request,
    session: Session,
    *,
    settings: Settings,
    token: str,
    verdict: Verdict,
    source: Source,
    text: str = "",
) -> Response:
    credential_id = (verdict.credential or {}).get("id")
    records.record_verification(
        session,
        source=source,
        verdict=verdict.verdict,
        credential_id=credential_id if isinstance(credential_id, str) else None,
        settings=settings,
    )
    # A failed paste comes back in the box, so a copying mistake can be fixed in place.
    refill = text if not verdict.valid else ""
    return _page(request, token=token, verdict=verdict, text=refill, settings=settings)


@router.get("/verify")
def verify_page(
    request: Request, session: DbSession, settings: SettingsDep, url: str | None = None
) -> Response:
    """The form; with `?url=` the verdict on that link (QR codes and share links land here)."""
    token = csrf.token(request)
    if url is None or not url.strip():
        return _page(request, token=token, settings=settings)
    url = url.strip()
    try:
        verdict = verify_link(session, settings=settings, url=url)
    except PageError as exc:
        return _page(request, token=token, status=exc.status, error=exc, url=url, settings=settings)
    return _verdict_page(
        request, session, settings=settings, token=token, verdict=verdict, source="link"
    )


@router.post("/verify")
def verify_submitted(
    request: Request,
    session: DbSession,
    settings: SettingsDep,
    submission: Annotated[Submission, Depends(read_submission)],
) -> Response:
    token = csrf.token(request)
    if submission.error is not None:
        return _page(
            request,
            token=token,
            status=submission.error.status,
            error=submission.error,
            settings=settings,
        )
    try:
        csrf.check(request, submission.csrf_token)
    except NotAuthenticated:
        expired = PageError(
            403, "This form expired (or cookies are off). Please submit it again from this page."
        )
        return _page(
            request,
            token=token,
            status=403,
            error=expired,
            text=submission.text,
            url=submission.url,
            settings=settings,
        )
    text = submission.text if submission.text.strip() else ""
    given = [bool(text), submission.upload is not None, bool(submission.url)]
    try:
        if not any(given):
            raise PageError(
                422,
                "There is nothing to verify: paste a credential, choose a file, or give its link.",
            )
        if sum(given) > 1:
            raise PageError(
                422,
                "Give one credential at a time: paste it, upload it, or give its link.",
            )
        if submission.url:
            verdict = verify_link(session, settings=settings, url=submission.url)
            source: Source = "link"
        elif submission.upload is not None:
            if not submission.upload:
                raise PageError(422, "The file is empty: choose the credential file.", "file")
            if not _looks_like_a_credential_file(submission.upload):
                raise PageError(415, NOT_A_CREDENTIAL_FILE, "file")
            verdict = service.verify_document(session, settings=settings, data=submission.upload)
            source = "upload"
        else:
            verdict = service.verify_document(session, settings=settings, data=text)
            source = "paste"
    except PageError as exc:
        return _page(
            request,
            token=token,
            status=exc.status,
            error=exc,
            text=text,
            url=submission.url,
            settings=settings,
        )
    return _verdict_page(
        request,
        session,
        settings=settings,
        token=token,
        verdict=verdict,
        source=source,
        text=text if source == "paste" else "",
    )
