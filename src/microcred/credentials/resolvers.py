"""Fetching other issuers' did:web documents and status lists over HTTPS, carefully."""

from __future__ import annotations

import json
from typing import Any

import httpx

from microcred.credentials.verifier import ResolutionError
from microcred.kit.crypto import did as dids

MAX_DOCUMENT_BYTES = 1024 * 1024


class HttpResolver:
    """did:web and status lists of other issuers. Bounded in time and size; HTTPS only."""

    def __init__(self, *, timeout_s: float) -> None:
        self.timeout_s = timeout_s

    def _get_json(self, url: str, what: str) -> dict[str, Any]:
        if not url.startswith("https://"):
            raise ResolutionError(f"{what} {url} is not an https URL")
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
