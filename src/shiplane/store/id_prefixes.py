"""Finding a record by a unique prefix of its id, as git finds a commit by a short hash.

Tables show the shortest prefix that is unique among their rows; every command accepts
it. A prefix that matches several records is refused with the candidates, never guessed.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from shiplane.domain.promotion_ids import promotion_id_prefix
from shiplane.store.models import PromotionRow


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
