"""Fetching other issuers' did:web documents and status lists over HTTPS, carefully."""

from __future__ import annotations

import ipaddress
import json
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx

from microcred.credentials.verifier import ResolutionError
from microcred.kit.crypto import did as dids

MAX_DOCUMENT_BYTES = 1024 * 1024


def is_public_address(raw: str) -> bool:
    """Whether an address is on the public internet (an IPv4-mapped IPv6 address counts as
    its IPv4 address; a zone index is ignored)."""
    address = ipaddress.ip_address(raw.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def refuse_private_host(url: str, what: str) -> None:
    """A credential names its issuer's DID and status list: without this check anyone could
    make the verifier probe the server's own network (SSRF). Every address the host resolves
    to must be public. (The fetch resolves again; a rebinding DNS answer between the two is
    the residual risk, which `verify_views.fetch_credential` closes for links by connecting to
    the checked address.)"""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        raise ResolutionError(f"{what} {url} is unreachable ({type(exc).__name__})") from exc
    if not all(is_public_address(str(info[4][0])) for info in infos):
        raise ResolutionError(f"{what} {url} points into a private network; not fetched")


class HttpResolver:
    """did:web and status lists of other issuers. Bounded in time and size; HTTPS only."""

    def __init__(self, *, timeout_s: float) -> None:
        self.timeout_s = timeout_s

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        if not url.startswith("https://"):
            raise ResolutionError(f"{what} {url} is not an https URL")
        refuse_private_host(url, what)
        try:
            with (
                httpx.Client(timeout=self.timeout_s, follow_redirects=False) as client,
                client.stream("GET", url, headers={"Accept": "application/json"}) as resp,
            ):
                if resp.status_code != 200:
                    raise ResolutionError(f"{what} {url} answered HTTP {resp.status_code}")
                body = b""
                for chunk in resp.iter_bytes():
                    body += chunk
                    if len(body) > MAX_DOCUMENT_BYTES:
                        raise ResolutionError(f"{what} {url} is larger than 1 MiB")
        except httpx.HTTPError as exc:
            raise ResolutionError(f"{what} {url} is unreachable ({type(exc).__name__})") from exc
        try:
            document = json.loads(body)
        except json.JSONDecodeError as exc:
            raise ResolutionError(f"{what} {url} is not JSON") from exc
        if not isinstance(document, dict):
            raise ResolutionError(f"{what} {url} is not a JSON object")
        return document

    def did_document(self, did: str) -> dict[str, Any]:
        if not did.startswith("did:web:"):
            raise ResolutionError(f"{did}: only did:web is fetched over the network")
        try:
            url = dids.did_web_to_url(did)
        except ValueError as exc:
            raise ResolutionError(f"{did} is not a valid did:web: {exc}") from exc
        document = self._get_json(url, "DID document")
        if document.get("id") != did:
            raise ResolutionError(f"the document at {url} is for {document.get('id')}, not {did}")
        return document

    def status_list_credential(self, url: str) -> dict[str, Any]:
        return self._get_json(url, "status list")
