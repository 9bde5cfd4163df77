"""`limit` + opaque `cursor` on every list, and the `{items, next_cursor}` envelope."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from shiplane.api.problems import ProblemError

DEFAULT_LIMIT = 50
MAX_LIMIT = 500

ItemT = TypeVar("ItemT")


class PageOut(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    next_cursor: str | None = None


@dataclass(frozen=True)
class PageParams:
    limit: int
    cursor: str | None


def page_params(
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page (1..500)."),
    cursor: str | None = Query(
        None,
        max_length=1024,
        description="The `next_cursor` of the previous page, passed back unchanged.",
    ),
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor or None)


def invalid_cursor(message: str) -> ProblemError:
    return ProblemError(422, f"query.cursor: {message}", title="Invalid request")
