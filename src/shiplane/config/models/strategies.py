"""`strategy`: how a cluster moves to the pinned release (docs/strategies.md).

One model per strategy; `strategies` registers each plugin with its model, so what
`shiplane.yaml` accepts and what a strategy runs with are one definition. An
environment's `strategy` is the default of its apps; `apps.<app>.strategies.<env>`
overrides it for one app in one environment. Check names in `analysis` steps are
resolved by `config/references.py` (with the rest of the document's references).
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import Field, StrictBool, StrictInt, model_validator

from shiplane.config.models.base import ConfigModel, Duration, Ref, Text
from shiplane.domain import canary
from shiplane.domain.suggest import describe


class RollingConfig(ConfigModel):
    """Today's behaviour: the Deployment's own rolling update, then verification."""


class PauseConfig(ConfigModel):
    """`pause: 5m` waits that long; `pause: {}` waits until `shiplane promotion resume`."""

    duration: Duration | None = None
    """How long to wait; none: until a person resumes."""

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: object) -> object:
        if isinstance(data, str):
            return {"duration": data}
        if data is None:
            return {}
        return data


class CanaryStepConfig(ConfigModel):
    """One step of a canary: exactly one of `setWeight`, `pause`, `analysis`."""

    set_weight: StrictInt | None = Field(default=None, ge=0, le=100)
    """Share of the new version, in percent (0-100, rising from step to step; below 100
    in `replicas` mode). The rising rule is checked with the document's references."""
    pause: PauseConfig | None = None
    """Wait a duration, or (`{}`) until `shiplane promotion resume`."""
    analysis: tuple[Ref, ...] | None = None
    """Names of `checks` that must all pass (http, prometheus, job, health, soak)."""

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [
            name
            for name, value in (
                ("setWeight", self.set_weight),
                ("pause", self.pause),
                ("analysis", self.analysis),
            )
            if value is not None
        ]
        if len(given) != 1:
            found = ", ".join(given) or "none"
            raise ValueError(
                f"a canary step is exactly one of setWeight, pause, analysis (found {found})"
            )
        if self.analysis is not None and not self.analysis:
            raise ValueError("analysis names at least one check")
        return self

    def domain(self) -> canary.CanaryStep:
        if self.set_weight is not None:
            return canary.SetWeight(self.set_weight)
        if self.pause is not None:
            return canary.Pause(self.pause.duration)
        return canary.Analysis(tuple(self.analysis or ()))


class CanaryConfig(ConfigModel):
    """A canary beside the stable version, widened step by step."""

    traffic: Literal["replicas", "gatewayAPI"] = "replicas"
    """`replicas`: a canary Deployment beside the stable one behind the same Service, the
    weight being its share of replicas. `gatewayAPI`: the weight written into the app's
    HTTPRoute backend weights, a canary Service beside each stable one (see
    docs/strategies.md)."""
    steps: tuple[CanaryStepConfig, ...] = Field(min_length=1)
    """The steps, in order; when the last one passes the stable version becomes the new."""
    http_route: Text | None = None
    """`gatewayAPI` mode: the app's HTTPRoute (default: the route named like the app)."""
    step_timeout: Duration = Field(default=600, ge=1, json_schema_extra={"default": "10m"})
    """How long the canary's replicas may take to become ready after a `setWeight`."""

    def plan(self) -> list[canary.CanaryStep]:
        return [s.domain() for s in self.steps]


class BlueGreenConfig(ConfigModel):
    """The new version beside the old behind a preview Service; the active Service's
    selector switches after the checks pass; the old version is kept for a while."""

    active_service: Text | None = None
    """The Service that carries production traffic (default: the one named like the app)."""
    preview_service: Text
    """The Service that selects the new version while it is checked."""
    analysis: tuple[Ref, ...] = ()
    """Checks run against the preview before the switch."""
    auto_promote: StrictBool = True
    """Switch as soon as the checks pass (false: wait for `shiplane promotion resume`)."""
    scale_down_delay: Duration = Field(default=30, json_schema_extra={"default": "30s"})
    """How long the old version is kept after the switch, for an instant switch back."""


StrategyKind = Literal["rolling", "canary", "blueGreen"]
STRATEGY_KINDS: tuple[StrategyKind, ...] = ("rolling", "canary", "blueGreen")

STRATEGY_SCHEMAS: dict[str, type[ConfigModel]] = {
    "rolling": RollingConfig,
    "canary": CanaryConfig,
    "blueGreen": BlueGreenConfig,
}
"""The schema of each strategy (what `strategies` registers each plugin with)."""


class StrategyConfig(ConfigModel):
    """How the cluster moves to the pinned release: exactly one of `rolling` (the
    default), `canary`, `blueGreen`; `strategy: rolling` is short for `{rolling: {}}`."""

    rolling: RollingConfig | None = None
    """The Deployment's own rolling update (today's behaviour)."""
    canary: CanaryConfig | None = None
    """Steps of weights, pauses and analyses."""
    blue_green: BlueGreenConfig | None = None
    """A preview beside the active version, then a switch."""

    @model_validator(mode="before")
    @classmethod
    def _short(cls, data: Any) -> Any:
        if isinstance(data, str):
            if data not in STRATEGY_KINDS:
                raise ValueError(f"unknown strategy {data!r} (known: {', '.join(STRATEGY_KINDS)})")
            return {data: {}}
        if not isinstance(data, dict):
            raise ValueError(f"expected a strategy name or mapping, got {describe(data)}")
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [k for k in STRATEGY_KINDS if self._section(k) is not None]
        if len(given) != 1:
            raise ValueError(
                "a strategy is exactly one of "
                + ", ".join(STRATEGY_KINDS)
                + f" (found {', '.join(given) or 'none'})"
            )
        return self

    def _section(self, kind: str) -> ConfigModel | None:
        value = {"rolling": self.rolling, "canary": self.canary, "blueGreen": self.blue_green}[kind]
        return value

    @property
    def kind(self) -> StrategyKind:
        return next(k for k in STRATEGY_KINDS if self._section(k) is not None)

    @property
    def spec(self) -> ConfigModel:
        section = self._section(self.kind)
        assert section is not None
        return section


ROLLING = StrategyConfig(rolling=RollingConfig())
"""The default strategy."""
