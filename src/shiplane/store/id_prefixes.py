"""Finding a record by a unique prefix of its id, as git finds a commit by a short hash.

Tables show the shortest prefix that is unique among their rows; every command accepts
it. A prefix that matches several records is refused with the candidates, never guessed.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shiplane.domain.promotion_ids import promotion_id_prefix
from shiplane.store.models import ApiToken, NotificationDelivery, PromotionRow

MIN_HEX_PREFIX = 4


def promotion_ids_with_prefix(s: Session, text: str, *, limit: int = 5) -> list[str]:
    """Ids of promotions starting with `text` (`prm-01JX3K` or `01jx3k`), at most `limit`;
    empty when `text` cannot be a promotion id prefix."""
    prefix = promotion_id_prefix(text)
    if prefix is None:
        return []
    # The prefix is validated Crockford base32, so it holds no LIKE wildcards.
    query = (
        select(PromotionRow.id)
        .where(PromotionRow.id.like(prefix + "%"))
        .order_by(PromotionRow.id)
        .limit(limit)
    )
    return list(s.scalars(query).all())


def _hex_ids(s: Session, column: Any, type_prefix: str, text: str, limit: int) -> list[str]:
    body = text.strip().lower().removeprefix(type_prefix)
    if len(body) < MIN_HEX_PREFIX or re.fullmatch(r"[0-9a-f]+", body) is None:
        return []
    query = select(column).where(column.like(type_prefix + body + "%")).order_by(column)
    return list(s.scalars(query.limit(limit)).all())


def token_ids_with_prefix(s: Session, text: str, *, limit: int = 5) -> list[str]:
    """Ids of API tokens starting with `text` (`tok-3f9c` or `3f9c`)."""
    return _hex_ids(s, ApiToken.id, "tok-", text, limit)


def delivery_ids_with_prefix(s: Session, text: str, *, limit: int = 5) -> list[str]:
    """Ids of notification deliveries starting with `text` (`dlv-0193a1` or `0193a1`)."""
    return _hex_ids(s, NotificationDelivery.id, "dlv-", text, limit)


def unique_match(given: str, matches: list[str]) -> str | None:
    """The id `given` stands for: itself when it is an id (or matches nothing: the caller
    reports it unknown), the one match, or None when it is ambiguous."""
    if given in matches or not matches:
        return given
    return matches[0] if len(matches) == 1 else None
