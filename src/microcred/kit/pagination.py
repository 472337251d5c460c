"""Offset pagination shared by every list endpoint."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

T = TypeVar("T")
ModelT = TypeVar("ModelT")


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int
    offset: int


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int
    next_offset: int | None

    @classmethod
    def of(cls, items: list[T], *, total: int, page: PageRequest) -> Page[T]:
        after = page.offset + len(items)
        return cls(
            items=items,
            total=total,
            limit=page.limit,
            offset=page.offset,
            next_offset=after if after < total else None,
        )


def fetch_page(
    session: Session,
    model: type[ModelT],
    *,
    where: Sequence[ColumnElement[bool]],
    order_by: Sequence[Any],
    page: PageRequest,
) -> tuple[Sequence[ModelT], int]:
    """One page of `model` rows matching `where`, and how many match in all.

    Repositories call this for every list endpoint so paging behaves the same everywhere.
    """
    total = session.scalar(select(func.count()).select_from(model).where(*where)) or 0
    rows = session.scalars(
        select(model).where(*where).order_by(*order_by).limit(page.limit).offset(page.offset)
    ).all()
    return rows, total
