"""Double-submit CSRF protection for server-rendered forms."""

from __future__ import annotations

import hmac
import secrets

from fastapi import Request, Response

from microcred.kit.errors import NotAuthenticated

CSRF_COOKIE = "microcred_csrf"


def token(request: Request) -> str:
    """The form token: the cookie's value, or a fresh one (set it with `remember`)."""
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(24)


def check(request: Request, submitted: str) -> None:
    """A cross-site form cannot read our cookie to echo it back."""
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, submitted):
        raise NotAuthenticated("the form expired; reload the page and try again")


def remember(response: Response, request: Request, value: str) -> Response:
    response.set_cookie(
        CSRF_COOKIE, value, httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )
    return response
