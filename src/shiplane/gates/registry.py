"""The gate registry: every gate plugin by name, with the pydantic schema of its config.

A gate plugin knows two things: how to derive its config from `shiplane.yaml` for one
environment (`configure`, None when the environment does not use it), and how to decide
(`evaluate`, pure). The registry is `shiplane.domain.registry.Registry`, the same one
checks and renderers use.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from shiplane.config.models import ProjectConfig
from shiplane.domain.registry import Registry
from shiplane.gates.context import GateContext
from shiplane.gates.results import GateResult

C = TypeVar("C", bound=BaseModel)


class Gate(ABC, Generic[C]):
    """A condition checked before deploying."""

    name: ClassVar[str]
    schema: ClassVar[type[BaseModel]]
    checks_rollbacks: ClassVar[bool] = False
    """Whether rollback promotions go through this gate. Most gates exist to stop new
    releases; a rollback returns to a release that already ran here, and must not wait for
    a soak or an approval while production is broken. Freezes decide for themselves."""

    @abstractmethod
    def configure(self, project: ProjectConfig, environment: str) -> C | None:
        """This gate's config for `environment`, or None when it does not apply there."""

    @abstractmethod
    def evaluate(self, ctx: GateContext, config: C) -> GateResult:
        """Pass, wait or reject. Pure: reads only `ctx` and `config`."""


GATES: Registry[Gate[Any]] = Registry("gate")
"""All gate plugins by name. Gate modules register themselves on import."""


def register(gate: Gate[C]) -> Gate[C]:
    """Add a gate instance to GATES under its `name` with its `schema`."""
    GATES.register(gate.name, schema=gate.schema, description=(type(gate).__doc__ or "").strip())(
        gate
    )
    return gate
