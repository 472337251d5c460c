"""Typed dependencies shared by every router: the unit of work, settings, paging."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session

from microcred.kit.pagination import PageRequest
from microcred.kit.settings import Settings


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: commit when the handler returns, roll back if it raises.

    Jobs written to the outbox are kicked only after the commit succeeded.
    """
    session: Session = request.app.state.sessionmaker()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    request.app.state.after_commit()


def get_page(
    request: Request,
    limit: Annotated[int | None, Query(ge=1, le=500, description="page size")] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> PageRequest:
    settings: Settings = request.app.state.settings
    return PageRequest(
        limit=min(limit or settings.page_size_default, settings.page_size_max), offset=offset
    )


DbSession = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
PageDep = Annotated[PageRequest, Depends(get_page)]
