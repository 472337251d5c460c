"""What every server-rendered page shares: rendering with the form token, reading a posted
form before the handler runs, the staff check, and a savepoint for refusals shown on a form."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Request, Response
from sqlalchemy.orm import Session

from microcred.kit.errors import Forbidden, NotAuthenticated
from microcred.kit.principal import Principal
from microcred.kit.web import csrf
from microcred.kit.web.templating import templates


def render(
    request: Request,
    name: str,
    context: Mapping[str, object],
    *,
    principal: Principal | None = None,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A page with the CSRF token its forms echo (and the cookie that holds it)."""
    token = csrf.token(request)
    values: dict[str, object] = {**context, "csrf_token": token}
    if principal is not None:
        values["principal"] = principal
    page = templates.TemplateResponse(
        request, name, values, status_code=status_code, headers=dict(headers or {})
    )
    return csrf.remember(page, request, token)


async def posted_fields(request: Request) -> dict[str, list[str]]:
    """A posted form's text fields, read (and closed) before the handler runs, so handlers stay
    synchronous and their database work runs in the thread pool, not on the event loop."""
    async with request.form() as raw:
        return {key: [v for v in raw.getlist(key) if isinstance(v, str)] for key in raw}


PostedFields = Annotated[dict[str, list[str]], Depends(posted_fields)]


def one(fields: Mapping[str, list[str]], name: str) -> str:
    """The last value of a field ("" when absent): the one a person last chose."""
    values = fields.get(name)
    return values[-1] if values else ""


@contextmanager
def undo_on_refusal(session: Session) -> Iterator[None]:
    """Run a service call in a savepoint. A refused change is shown on its form and the request
    still commits, so whatever the service flushed before refusing must not go with it."""
    with session.begin_nested():
        yield


def require_staff(principal: Principal | None) -> Principal:
    if principal is None:
        raise NotAuthenticated("sign in as staff")
    if principal.kind != "staff":
        raise Forbidden("this page is for staff")
    return principal
