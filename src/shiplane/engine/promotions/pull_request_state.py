"""Pull-request mode's bookkeeping (engine/promotions/pull_request.py): reading and
writing `data.pull_request` of a Deploying promotion, the persisted wait, and the forge's
driver for one step. Shared by the steps (pull_request_open.py, pull_request_merge.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from shiplane.domain.promotion import Promotion, PromotionState
from shiplane.engine.leases import Fence
from shiplane.engine.promotions.model import PromotionData
from shiplane.engine.promotions.runtime import Runtime
from shiplane.engine.promotions.transitions import get, save
from shiplane.forge import ForgeDriver
from shiplane.store.promotions import PromotionRecord

S = PromotionState


@contextlib.asynccontextmanager
async def driver(rt: Runtime) -> AsyncIterator[ForgeDriver]:
    forge = rt.forge(rt.project)
    try:
        yield forge
    finally:
        await forge.aclose()


def phase(record: PromotionRecord) -> str | None:
    """The wait's phase (domain/pull_request.py) of a Deploying promotion."""
    if record.state != S.DEPLOYING.value:
        return None
    return (PromotionData.of(record).pull_request or {}).get("phase")


def pr_state(record: PromotionRecord) -> dict[str, Any]:
    """A copy of `data.pull_request`."""
    return dict(PromotionData.of(record).pull_request or {})


def interval(rt: Runtime, p: Promotion) -> timedelta:
    env = rt.project.environments.get(p.environment)
    return timedelta(seconds=env.gitops.poll_interval if env is not None else 30)


async def later(
    rt: Runtime, record: PromotionRecord, fence: Fence | None, reason: str
) -> PromotionRecord:
    """Look again after the poll interval, saying `reason`."""
    p = record.domain()

    def write(s: Session) -> PromotionRecord:
        current = get(s, p.id)
        if current.state != S.DEPLOYING.value:
            return current
        return save(
            rt, s, current.domain(), reason=reason, next_check_at=rt.now() + interval(rt, p)
        )

    return await rt.fenced(fence, write)


def record_state(
    rt: Runtime,
    s: Session,
    promotion_id: str,
    state: dict[str, Any],
    reason: str,
    *,
    next_check_at: datetime | None = None,
) -> PromotionRecord:
    """Save `state` as `data.pull_request` with `reason` (unless it left Deploying)."""
    current = get(s, promotion_id)
    if current.state != S.DEPLOYING.value:
        return current  # aborted meanwhile
    data = PromotionData.of(current).but(pull_request=state)
    return save(rt, s, current.domain(), reason=reason, data=data, next_check_at=next_check_at)
