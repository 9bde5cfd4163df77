"""`rolling`: the Deployment's own rolling update, as Shiplane has always deployed. The
engine sees `progressive = False` and takes its usual path; nothing here runs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from shiplane.config.models import RollingConfig
from shiplane.strategies.base import (
    STRATEGIES,
    StrategyContext,
    StrategyRequestError,
    StrategyRound,
)


class Rolling:
    progressive = False

    def start(
        self, config: BaseModel, app: str, objects: Sequence[Mapping[str, Any]]
    ) -> dict[str, Any]:
        return {}

    async def advance(self, ctx: StrategyContext, state: dict[str, Any]) -> StrategyRound:
        return StrategyRound("done", "rolling update", state)

    async def complete(self, ctx: StrategyContext, state: dict[str, Any]) -> StrategyRound:
        return StrategyRound("done", "rolling update", state)

    async def abort(self, ctx: StrategyContext, state: dict[str, Any]) -> str:
        return "nothing to remove"

    def summary(self, config: BaseModel, state: Mapping[str, Any]) -> str:
        return "rolling"

    def resume(self, config: BaseModel, state: dict[str, Any]) -> dict[str, Any]:
        raise StrategyRequestError("a rolling update has no pause to resume")

    def skip(self, config: BaseModel, state: dict[str, Any]) -> dict[str, Any]:
        raise StrategyRequestError("a rolling update has no step to skip")

    async def leftovers(self, client: Any, namespace: str) -> dict[str, list[str]]:
        return {}

    async def remove(self, client: Any, namespace: str, names: Sequence[str]) -> None:
        return None


STRATEGIES.register("rolling", schema=RollingConfig, description="the rolling update")(Rolling())
