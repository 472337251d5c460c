"""Who is calling: API tokens for `/api`, session cookies for pages. Typed dependency aliases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from microcred.identity import service
from microcred.kit.errors import Forbidden, NotAuthenticated
from microcred.kit.principal import Principal
from microcred.kit.web.deps import DbSession


def api_principal(request: Request, session: DbSession) -> Principal:
    """Bearer tokens only: cookies on a JSON API would invite cross-site request forgery."""
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise NotAuthenticated("send an API token as 'Authorization: Bearer <token>'")
    principal = service.principal_for_api_token(session, secret=secret.strip())
    if principal is None:
        raise NotAuthenticated("the API token is unknown, expired or revoked")
    return principal


def optional_page_principal(request: Request, session: DbSession) -> Principal | None:
    secret = request.cookies.get(request.app.state.settings.session_cookie_name)
    if not secret:
        return None
    return service.principal_for_session(session, secret=secret)


ApiPrincipal = Annotated[Principal, Depends(api_principal)]
PagePrincipal = Annotated[Principal | None, Depends(optional_page_principal)]


def scoped(scope: str, *roles: str) -> Callable[[Principal], Principal]:
    """A dependency that demands an API scope and (for staff) one of the roles."""

    def check(principal: ApiPrincipal) -> Principal:
        if principal.kind not in ("api_token", "staff"):
            raise Forbidden("staff only")
        principal.require_scope(scope)
        if roles:
            principal.require_role(*roles)
        return principal

    return check


Reader = Annotated[Principal, Depends(scoped("read"))]
CatalogEditor = Annotated[Principal, Depends(scoped("catalog", "issuer"))]
Issuer = Annotated[Principal, Depends(scoped("issue", "issuer"))]
StatusManager = Annotated[Principal, Depends(scoped("status", "issuer"))]
PeopleManager = Annotated[Principal, Depends(scoped("people", "issuer"))]
KeyManager = Annotated[Principal, Depends(scoped("keys", "admin"))]
Admin = Annotated[Principal, Depends(scoped("people", "admin"))]
Assessor = Annotated[Principal, Depends(scoped("status", "assessor"))]
