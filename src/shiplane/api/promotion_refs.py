"""How a promotion route names its promotion: a whole id or a git-style prefix of one
(`promotion_ref`), read (`get_promotion`, 404 when there is none), and an action on
it checked against the token's environment scope (`acting_on`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends

from shiplane.api.auth import Principal, require_role
from shiplane.api.context import ApiContext, get_context
from shiplane.api.engine import require_engine
from shiplane.api.problems import ProblemError
from shiplane.domain.promotion_ids import is_promotion_id
from shiplane.domain.roles import Role
from shiplane.engine.promotions import Actor
from shiplane.engine.service import Engine
from shiplane.store import promotions as store
from shiplane.store.id_prefixes import promotion_ids_with_prefix
from shiplane.store.promotions import PromotionRecord


async def promotion_ref(promotion_id: str, context: ApiContext = Depends(get_context)) -> str:
    """The path's promotion id, or the one promotion whose id starts with it (git-style
    short ids, as `shiplane` tables show them). Unknown stays as given (-> 404 later)."""
    if is_promotion_id(promotion_id):
        return promotion_id  # a whole id: no lookup

    def read() -> list[str]:
        with context.database.session(readonly=True) as s:
            return promotion_ids_with_prefix(s, promotion_id)

    matches = await asyncio.to_thread(read)
    if promotion_id in matches or not matches:
        return promotion_id
    if len(matches) == 1:
        return matches[0]
    shown = ", ".join(matches[:4]) + (", ..." if len(matches) > 4 else "")
    raise ProblemError(
        404, f"promotion id prefix {promotion_id[:40]!r} is ambiguous: {shown}; give more of it"
    )


def get_promotion(engine: Engine, promotion_id: str) -> PromotionRecord:
    """The promotion (blocking: run in a thread); 404 when there is none."""
    with engine.db.session(readonly=True) as s:
        record = store.get_promotion(s, promotion_id)
    if record is None:
        raise ProblemError(404, f"no promotion {promotion_id!r}")
    return record


@dataclass(frozen=True)
class PromotionAction:
    """A request to act on promotion `promotion_id` by a caller holding `role`."""

    promotion_id: str
    principal: Principal
    engine: Engine
    role: Role

    async def actor(self) -> Actor:
        """The caller, once the promotion exists (else 404) and the token's scope covers
        its environment (else 403). Asked in the route, after its body is validated."""
        record = await asyncio.to_thread(get_promotion, self.engine, self.promotion_id)
        self.principal.require_environments([record.environment], self.role)
        return self.principal.caller().actor


def acting_on(role: Role) -> Callable[..., PromotionAction]:
    """A dependency: the path's promotion, the caller authenticated with at least
    `role`, the engine (resolved in that order, as each route once declared them)."""

    def dependency(
        promotion_id: str = Depends(promotion_ref),
        principal: Principal = Depends(require_role(role)),
        engine: Engine = Depends(require_engine),
    ) -> PromotionAction:
        return PromotionAction(promotion_id, principal, engine, role)

    return dependency
