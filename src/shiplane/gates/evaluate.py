"""Evaluate an environment's gates for a promotion, in a fixed order.

Every configured gate is evaluated every time (no short cut on the first wait), so the
recorded results and `explain` show everything that stands in the way at once: it is
better to learn about the missing approval and the closed window together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from shiplane.config.models import ProjectConfig
from shiplane.gates.context import GateContext
from shiplane.gates.registry import GATES
from shiplane.gates.results import GateResult, Outcome

GATE_ORDER = ("freeze", "hold", "condition", "upstream", "soak", "approval", "window")
"""Cheap, hard stops first; the window last, as it is the one most often just waited out."""


@dataclass(frozen=True, slots=True)
class ConfiguredGate:
    """A gate name with its validated config (see `configured` and `gates_for`)."""

    name: str
    config: BaseModel


def configured(name: str, config: BaseModel | Mapping[str, Any]) -> ConfiguredGate:
    """A gate with its config validated against the gate's schema (PluginConfigError)."""
    entry = GATES.get(name)
    if not isinstance(config, entry.schema):
        raw = config.model_dump(by_alias=True) if isinstance(config, BaseModel) else config
        config = GATES.parse_config(name, raw)
    return ConfiguredGate(name, config)


def gates_for(project: ProjectConfig, environment: str) -> list[ConfiguredGate]:
    """The gates `environment` uses according to shiplane.yaml, in evaluation order."""
    project.require_environment(environment)
    gates = []
    for name in GATE_ORDER:
        config = GATES.get(name).plugin.configure(project, environment)
        if config is not None:
            gates.append(ConfiguredGate(name, config))
    return gates


def _order(gate: ConfiguredGate) -> tuple[int, str]:
    known = gate.name in GATE_ORDER
    return (GATE_ORDER.index(gate.name) if known else len(GATE_ORDER), gate.name)


def evaluate_all(ctx: GateContext, gates: Sequence[ConfiguredGate]) -> list[GateResult]:
    """One result per gate, in GATE_ORDER (unknown extra gates after, by name).

    Time is read once, so all gates judge the same instant. Rollback promotions skip the
    gates that do not check rollbacks (recorded as a pass saying so).
    """
    pinned = ctx.pinned()
    results = []
    for gate in sorted(gates, key=_order):
        plugin = GATES.get(gate.name).plugin
        if pinned.promotion.kind == "rollback" and not plugin.checks_rollbacks:
            results.append(
                GateResult(
                    gate.name, Outcome.PASS, "not checked for rollbacks", {"kind": "rollback"}
                )
            )
            continue
        results.append(plugin.evaluate(pinned, gate.config))
    return results
