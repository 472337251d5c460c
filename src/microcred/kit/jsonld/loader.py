"""The only way a JSON-LD context enters the process: byte copies bundled with the package.

A signature covers the RDF that JSON expands to, so the context bytes are part of what is signed
(CREDENTIALS.md, trap 2). We never fetch a context from the network and refuse any URL that is
not in `contexts/index.json`.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from microcred.kit.jsonld.errors import ContextNotAllowed

__all__ = [
    "ContextNotAllowed",
    "allowed_context_urls",
    "context_bytes",
    "load_context",
    "pyld_document_loader",
]

_PACKAGE = "microcred.kit.jsonld"
_FOLDER = "contexts"


@cache
def _index() -> dict[str, str]:
    """Canonical URL -> file name, read once."""
    raw = resources.files(_PACKAGE).joinpath(_FOLDER, "index.json").read_bytes()
    contexts: dict[str, str] = json.loads(raw)["contexts"]
    return contexts


def allowed_context_urls() -> frozenset[str]:
    """Every context URL a document may name."""
    return frozenset(_index())


@cache
def context_bytes(url: str) -> bytes:
    """The exact bundled bytes of an allowed context; `ContextNotAllowed` for any other URL."""
    filename = _index().get(url)
    if filename is None:
        raise ContextNotAllowed(url)
    return resources.files(_PACKAGE).joinpath(_FOLDER, filename).read_bytes()


@cache
def shared_context(url: str) -> Any:
    """The parsed context, one shared object per URL for the whole process.

    Read-only by contract: the RDF converter keys its caches on the identity of these objects.
    Callers outside `microcred.kit.jsonld` should use `load_context`, which hands out a copy.
    """
    return json.loads(context_bytes(url))


def load_context(url: str) -> dict[str, Any]:
    """The parsed context document (a private copy the caller may change)."""
    document: dict[str, Any] = json.loads(context_bytes(url))
    return document


def pyld_document_loader(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """A pyld document loader over the bundled contexts; it refuses everything else.

    Pass it as `{"documentLoader": pyld_document_loader}` so pyld never reaches the network.
    """
    del options  # pyld passes request options; nothing here depends on them
    try:
        document = load_context(url)
    except ContextNotAllowed as exc:
        # Imported lazily: pyld pulls in lxml and friends, which the fast path never needs.
        from pyld.jsonld import JsonLdError as PyldError

        raise PyldError(
            str(exc), "jsonld.LoadDocumentError", {"url": url}, code="loading document failed"
        ) from exc
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": document,
    }
