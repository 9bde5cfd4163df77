"""Keyset pagination, the one way store listings page: newest first, by a unique key.

A listing names its key columns (most significant first: `(created_at, id)` or `(seq,)`)
and `keyset_page` does the rest: decode the cursor, select the rows strictly after that
position, fetch one row more than the page to know whether another page follows, and
write the next cursor from the last row. Offsets are never used: a page stays correct
while rows are added in front of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

from shiplane.domain.pagination import PositionType, decode_position, encode_position

MAX_PAGE = 500
"""The largest page any listing returns, whatever `limit` asks for."""

R = TypeVar("R")


def page_size(limit: int) -> int:
    """`limit` kept within 1..MAX_PAGE."""
    return max(1, min(limit, MAX_PAGE))


@dataclass(frozen=True)
class Keyset:
    """The order of one listing: cursor kind, and key columns with the type of each."""

    kind: str
    columns: tuple[InstrumentedAttribute[Any], ...]
    types: tuple[PositionType, ...]

    def after(self, position: Sequence[Any]) -> ColumnElement[bool]:
        """Rows strictly after `position` in descending order: `(a, b) < (va, vb)`
        spelled out, as every database understands it."""
        terms = []
        for i, column in enumerate(self.columns):
            equal = [c == v for c, v in zip(self.columns[:i], position[:i], strict=True)]
            terms.append(and_(*equal, column < position[i]))
        return or_(*terms)

    def position_of(self, row: Any) -> list[datetime | str | int]:
        return [getattr(row, column.key) for column in self.columns]


def keyset_page(
    s: Session,
    query: Select[R],
    keyset: Keyset,
    *,
    cursor: str | None,
    limit: int,
    keep: Callable[[R], bool] | None = None,
    overfetch: int = 1,
) -> tuple[list[R], str | None]:
    """One page of `query`'s rows, newest first by `keyset`, and the cursor of the next
    page (None on the last one). Raises InvalidCursorError (a ValueError) for a cursor
    this listing did not produce.

    `keep` filters rows in Python for conditions SQL cannot express portably; then
    `overfetch` times a page is read, so a page still fills up in most cases."""
    size = page_size(limit)
    if cursor is not None:
        query = query.where(keyset.after(decode_position(keyset.kind, cursor, keyset.types)))
    query = query.order_by(*(column.desc() for column in keyset.columns))
    rows = [r for r in s.scalars(query.limit((size + 1) * overfetch)) if keep is None or keep(r)]
    if len(rows) <= size:
        return rows, None
    rows = rows[:size]
    return rows, encode_position(keyset.kind, keyset.position_of(rows[-1]))
