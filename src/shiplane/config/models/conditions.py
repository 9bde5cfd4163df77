"""`conditions`: expression gates over the release."""

from __future__ import annotations

from typing import Self

from pydantic import (
    model_validator,
)

from shiplane.config.models.base import ConfigModel, Expression, Ref


class ConditionConfig(ConfigModel):
    """An expression gate over the release (evaluated with CEL by the gates layer)."""

    environments: tuple[Ref, ...] = ()
    """Environments this condition applies to; all environments when empty."""
    eligible: Expression | None = None
    """The release may be promoted only when this expression is true."""
    reject: Expression | None = None
    """The release is rejected when this expression is true."""

    @model_validator(mode="after")
    def _has_expression(self) -> Self:
        if self.eligible is None and self.reject is None:
            raise ValueError("a condition needs 'eligible', 'reject' or both")
        return self
