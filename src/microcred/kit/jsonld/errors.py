"""Errors raised while turning JSON-LD into RDF.

Every failure that a client's document can cause is a `JsonLdError`, so the proof layer can turn
it into a verdict with one `except` and never leak an exception for data a client sent.
"""

from __future__ import annotations


class JsonLdError(Exception):
    """Base of every JSON-LD processing failure.

    `code` is the JSON-LD API error code where the spec names one; `path` is the JSON path of
    the offending item when it is known (`credentialSubject.@context`, …).
    """

    code: str = "jsonld error"

    def __init__(self, message: str, *, code: str | None = None, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        if code is not None:
            self.code = code

    def __str__(self) -> str:
        return self.message if self.path is None else f"{self.message} at {self.path}"


class JsonLdSyntaxError(JsonLdError):
    """The document or a context is not valid JSON-LD 1.1 (the spec names each `code`)."""


class ProtectedTermRedefinition(JsonLdSyntaxError):
    """A context tried to change a protected term: the meaning of signed data would shift."""

    code = "protected term redefinition"


class UnsupportedJsonLd(JsonLdError):
    """A valid JSON-LD construct this converter deliberately does not implement.

    Refusing is safer than guessing: a wrong RDF rendering would make signatures disagree with
    other verifiers.
    """

    code = "unsupported construct"


class SafeModeViolation(JsonLdError):
    """Data that a plain JSON-LD processor would silently drop or leave relative.

    Signing or verifying such a document would cover less than the JSON shows (CREDENTIALS.md,
    trap 1), so safe mode refuses it. `path` is the JSON path of the offending item, for example
    `credentialSubject.grade`.
    """

    code = "safe mode violation"

    def __init__(self, message: str, path: str) -> None:
        super().__init__(message, path=path)
        self.reason = message


class ContextNotAllowed(JsonLdError):
    """A context URL outside the bundled allow-list; contexts are never fetched (trap 2)."""

    code = "loading remote context failed"

    def __init__(self, url: str) -> None:
        super().__init__(f"context {url!r} is not one of the bundled, allowed contexts")
        self.url = url
