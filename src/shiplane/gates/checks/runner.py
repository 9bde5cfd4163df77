"""Running checks step by step from persisted state.

The state returned by `step` is a JSON-able dict (the "envelope"): the check's name and
kind, every measurement so far, the plugin's own state, and once decided the final result.
Persist it after every step; give it back to `step` after a restart. Stepping a decided
check returns the stored result again and touches nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from shiplane.config.models import CheckConfig
from shiplane.domain.clock import sleep_until
from shiplane.domain.errors import InvalidError
from shiplane.domain.registry import PluginConfigError
from shiplane.gates.checks.base import (
    CHECKS,
    CheckContext,
    CheckResult,
    CheckStateError,
    Measurement,
    Outcome,
    Progress,
    Resolution,
    to_iso,
    utc,
)

STATE_VERSION = 1
_DEFAULT_RETRY = timedelta(seconds=1)


@dataclass(frozen=True)
class CheckSpec:
    """A named, validated check: the kind of plugin and its parsed configuration."""

    name: str
    kind: str
    config: BaseModel

    @classmethod
    def parse(cls, name: str, kind: str, config: Mapping[str, Any] | None) -> CheckSpec:
        """Validate `config` against the plugin's schema.

        Raises `UnknownPluginError` (unknown kind, with the nearest name) or
        `PluginConfigError` (every schema problem, by field)."""
        return cls(name, kind, CHECKS.parse_config(kind, dict(config or {})))

    @classmethod
    def from_mapping(cls, name: str, definition: Mapping[str, Any]) -> CheckSpec:
        """From the `shiplane.yaml` shape: `{http: {...}}`, exactly one kind per check."""
        if not isinstance(definition, Mapping) or len(definition) != 1:
            kinds = ", ".join(CHECKS.names())
            got = (
                ", ".join(map(str, definition)) or "none"
                if isinstance(definition, Mapping)
                else repr(definition)
            )
            raise PluginConfigError(f"check {name!r} needs exactly one kind ({kinds}), got {got}")
        ((kind, config),) = definition.items()
        return cls.parse(name, str(kind), config)

    @classmethod
    def from_project(cls, name: str, check: CheckConfig) -> CheckSpec:
        """From a check of a loaded `shiplane.yaml`: its section is already the plugin's
        parsed config (the config models are the plugins' schemas)."""
        return cls(name, check.kind, check.spec)


def new_state(spec: CheckSpec, ctx: CheckContext) -> dict[str, Any]:
    return {
        "version": STATE_VERSION,
        "check": spec.name,
        "kind": spec.kind,
        "runId": ctx.run_id,
        "startedAt": to_iso(ctx.clock.now()),
        "steps": 0,
        "plugin": {},
        "measurements": [],
        "pending": None,
        "final": None,
    }


def _checked(spec: CheckSpec, state: Mapping[str, Any] | None, ctx: CheckContext) -> dict[str, Any]:
    if not state:
        return new_state(spec, ctx)
    if state.get("version") != STATE_VERSION:
        raise CheckStateError(f"state version {state.get('version')!r} is not {STATE_VERSION}")
    if state.get("check") != spec.name or state.get("kind") != spec.kind:
        raise CheckStateError(
            f"state of {state.get('kind')} check {state.get('check')!r} given to "
            f"{spec.kind} check {spec.name!r}"
        )
    return copy.deepcopy(dict(state))


def result_of(state: Mapping[str, Any]) -> CheckResult | None:
    """The decided (or awaiting-a-person) result stored in a state, if any."""
    stored = state.get("final") or state.get("pending")
    return CheckResult.from_json(stored) if stored else None


async def step(
    ctx: CheckContext, spec: CheckSpec, state: Mapping[str, Any] | None = None
) -> tuple[CheckResult, dict[str, Any]]:
    """Advance a check by one step. Returns the result so far and the state to persist.

    `running`: call again at `result.next_check_at` (earlier is harmless: a check does
    not measure before its time). `inconclusive`: waits until `resolve_inconclusive`.
    `passed`/`failed`: decided; stepping again returns the same result.
    """
    current = _checked(spec, state, ctx)
    stored = result_of(current)
    if stored is not None:
        return stored, current

    plugin = CHECKS.get(spec.kind).plugin
    try:
        progress = await plugin.step(ctx, spec.name, spec.config, dict(current["plugin"]))
    except InvalidError as exc:
        # Something in the check's configuration is wrong (an expression, a template):
        # no later step can pass, so it fails now, saying what to fix.
        progress = Progress("failed", f"invalid configuration: {exc}", dict(current["plugin"]))
    current["plugin"] = progress.state
    current["steps"] = int(current["steps"]) + 1
    for measurement in progress.measurements:
        current["measurements"].append(measurement.to_json())
        ctx.sink.measurement(spec.name, measurement)

    next_at = progress.next_check_at
    if progress.outcome == "running" and next_at is None:
        next_at = ctx.clock.now() + _DEFAULT_RETRY
    result = CheckResult(
        check=spec.name,
        kind=spec.kind,
        outcome=progress.outcome,
        reason=progress.reason,
        measurements=[Measurement.from_json(m) for m in current["measurements"]],
        logs=progress.logs,
        next_check_at=utc(next_at) if progress.outcome == "running" and next_at else None,
    )
    ctx.sink.progress(spec.name, f"{result.outcome}: {result.reason}")
    if result.outcome == "inconclusive":
        current["pending"] = result.to_json()
    elif result.done:
        current["final"] = result.to_json()
    return result, current


async def run_to_completion(
    ctx: CheckContext,
    spec: CheckSpec,
    state: Mapping[str, Any] | None = None,
    *,
    max_steps: int | None = None,
) -> tuple[CheckResult, dict[str, Any]]:
    """Step until the check is passed, failed or inconclusive, waiting with `ctx.clock`
    (a ManualClock jumps instead of sleeping). `max_steps` bounds the loop."""
    taken = 0
    while True:
        result, state = await step(ctx, spec, state)
        taken += 1
        if result.outcome != "running" or (max_steps is not None and taken >= max_steps):
            return result, state
        await sleep_until(ctx.clock, result.next_check_at or ctx.clock.now())


def resolve_inconclusive(
    state: Mapping[str, Any],
    passed: bool,
    by: str,
    *,
    comment: str = "",
    at: datetime | None = None,
) -> dict[str, Any]:
    """A person decides an inconclusive check. Returns the new state, whose result
    (`result_of(state)`, or the next `step`) is passed or failed, naming who decided.

    Raises CheckStateError when the check is not waiting for a decision."""
    if not by.strip():
        raise CheckStateError("say who decides: 'by' is empty")
    if state.get("final"):
        outcome = state["final"].get("outcome")
        raise CheckStateError(f"check {state.get('check')!r} is already decided ({outcome})")
    if not state.get("pending"):
        raise CheckStateError(f"check {state.get('check')!r} is not inconclusive")
    new = copy.deepcopy(dict(state))
    pending = CheckResult.from_json(new["pending"])
    when = utc(at) if at is not None else datetime.now(UTC)
    resolution = Resolution(passed=passed, by=by, at=when, comment=comment)
    verdict: Outcome = "passed" if passed else "failed"
    reason = f"marked {verdict} by {by} (was inconclusive: {pending.reason})"
    if comment:
        reason += f": {comment}"
    final = replace(
        pending, outcome=verdict, reason=reason, next_check_at=None, resolution=resolution
    )
    new["pending"] = None
    new["final"] = final.to_json()
    return new
