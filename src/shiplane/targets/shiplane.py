"""`shiplane`: Shiplane's own sync engine (render, dry-run, apply, prune, health), the
default target. The engine sees `own_sync = True` and deploys as it always has; nothing
here runs."""

from __future__ import annotations

from pydantic import BaseModel

from shiplane.config.models import ShiplaneTargetConfig
from shiplane.targets.base import (
    Hydration,
    TargetContext,
    TargetObject,
    TargetStatus,
)
from shiplane.targets.registry import TARGETS


class ShiplaneTarget:
    own_sync = True
    strategies = frozenset({"rolling", "canary", "blueGreen"})

    def owners(self, config: BaseModel, app: str) -> tuple[TargetObject, ...]:
        return ()

    def hydration(self, environment: str, app: str) -> Hydration | None:
        return None

    async def check(self, ctx: TargetContext, app: str) -> list[str]:
        return []

    async def request(self, ctx: TargetContext, app: str, commit: str) -> None:
        raise NotImplementedError("the engine syncs a `shiplane` environment itself")

    async def observe(self, ctx: TargetContext, app: str, commit: str) -> TargetStatus:
        raise NotImplementedError("the engine watches a `shiplane` environment itself")


TARGETS.register("shiplane", schema=ShiplaneTargetConfig, description="Shiplane's own sync engine")(
    ShiplaneTarget()
)
