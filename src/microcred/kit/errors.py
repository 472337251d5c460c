"""Domain errors, rendered as RFC 9457 problem details at the web boundary.

Services raise these; they carry a problem *type* and an HTTP-free classification. The web
layer (`kit.web.problems`) maps them to responses, so no service imports anything of HTTP.
"""

from __future__ import annotations

from typing import Any, ClassVar

PROBLEM_BASE = "https://microcred.dev/problems/"


class DomainError(Exception):
    """A failure a client can cause and understand. Never a 500."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None, **extra: Any):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or []
        self.extra = extra

    @property
    def type_uri(self) -> str:
        return PROBLEM_BASE + self.slug

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.type_uri,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.errors:
            body["errors"] = self.errors
        body.update(self.extra)
        return body


class InvalidInput(DomainError):
    status = 422
    slug = "invalid-input"
    title = "The request is not valid"


class NotFound(DomainError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    slug = "conflict"
    title = "Conflict with the current state"


class NotAuthenticated(DomainError):
    status = 401
    slug = "not-authenticated"
    title = "Sign-in or an API token is required"


class Forbidden(DomainError):
    status = 403
    slug = "forbidden"
    title = "Not allowed"


class PayloadTooLarge(DomainError):
    status = 413
    slug = "payload-too-large"
    title = "The upload is too large"


class UnsupportedMediaType(DomainError):
    status = 415
    slug = "unsupported-media-type"
    title = "Unsupported media type"


class IdempotencyMismatch(DomainError):
    status = 422
    slug = "idempotency-key-reused"
    title = "The idempotency key was used with a different request"
