"""The engine's bookkeeping on a promotion, typed: the `data` JSON column of its row.

The stored JSON keeps its shape (keys are written only when set, unknown keys written by
another version survive a load and a save), so databases written before this model
existed still load, and the API's `data` object does not change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, field_serializer

from shiplane.store.promotions import PromotionRecord


class PromotionData(BaseModel):
    model_config = ConfigDict(extra="allow")

    request_reason: str | None = None
    """What the requester wrote when asking for the promotion."""
    waiting_since: datetime | None = None
    """When it became the active promotion and started waiting for its gates."""
    gates: list[dict[str, Any]] | None = None
    """The last evaluation of every gate (`GateResult.to_record()`), for `explain`."""
    verify: dict[str, Any] | None = None
    """The verifier's resumable state (health, each check's progress)."""
    verify_reason: str | None = None
    """The last verification round's summary, for `explain`."""
    strategy: dict[str, Any] | None = None
    """A progressive strategy's resumable state while Deploying (engine/promotions/
    strategy.py): `phase` (steps, complete, done, aborted), `commit`, `summary`, and per
    app its `kind`, `state` and `summary`."""

    pull_request: dict[str, Any] | None = None
    """Pull-request mode's wait while Deploying (engine/promotions/pull_request.py):
    `phase` (open, merged), `branch`, `number`, `url`, `base`, `sha`, `merge_commit`,
    `approved_by`."""

    @classmethod
    def of(cls, record: PromotionRecord) -> PromotionData:
        return cls.model_validate(record.data)

    @field_serializer("waiting_since")
    def _iso(self, value: datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    def verify_state(self) -> dict[str, Any]:
        """A copy of the verifier's state (empty before the first round)."""
        return dict(self.verify or {})

    def but(self, **changes: Any) -> PromotionData:
        """A copy with `changes` (validated like a load)."""
        return PromotionData.model_validate({**self.to_json(), **changes})


@dataclass(frozen=True)
class Actor:
    """Who asks for a change: a user (with their groups) or `shiplane` itself."""

    name: str
    groups: tuple[str, ...] = ()


SHIPLANE = Actor("shiplane")
"""The engine acting on its own (auto-promotions, automatic rollbacks)."""
