"""Request and response bodies of the promotion routes (api/routes_promotions.py)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from shiplane.store.promotions import PromotionRecord, StepRecord


class PromoteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    release: str = Field(..., min_length=1, max_length=200, description="Id, prefix or alias.")
    environment: str = Field(..., min_length=1, max_length=63)
    reason: str = Field("", max_length=1000)


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str = Field("", max_length=2000)


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(..., min_length=1, max_length=2000)


class RollbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str | None = Field(None, description="Release to go back to (default: last verified).")
    reason: str = Field("", max_length=1000)


class Resolution(BaseModel):
    model_config = ConfigDict(extra="forbid")

    passed: bool
    comment: str = Field("", max_length=2000)


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=1000)


class ActionOut(BaseModel):
    """Whether the caller may take an action now, and if not, the engine's reason."""

    allowed: bool
    reason: str = ""
    choices: dict[str, str] = Field(
        default_factory=dict,
        description="resolve: the checks waiting for a person (with why); "
        "rollback: the release each app would go back to.",
    )


class PromotionDetail(BaseModel):
    promotion: PromotionRecord
    steps: list[StepRecord]
    actions: dict[str, ActionOut] | None = Field(
        None,
        description="approve, reject, abort, retry, resolve, rollback: allowed for the "
        "caller now, or why not (null when the server has no project).",
    )


class Explanation(BaseModel):
    id: str
    state: str
    text: str
