"""Types shared by every check: results, measurements, the context and sinks.

The clock is `shiplane.domain.clock`'s and the release `shiplane.domain.releases`'
`ReleaseInfo` (both re-exported by `shiplane.gates.checks`).

A check is a verification run after a deploy (DESIGN.md, "Check"). Checks are resumable:
`Check.step` takes the check's previous persisted state (a JSON-able dict) and returns
the new one, so a wait (an interval, a soak, a running Job) is a persisted state with a
next-check time rather than a coroutine held in memory.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, Protocol, TypeVar, cast

from pydantic import BaseModel

from shiplane.domain.clock import Clock, SystemClock
from shiplane.domain.registry import Registry
from shiplane.domain.releases import ReleaseInfo as ReleaseInfo

if TYPE_CHECKING:
    from lightkube import AsyncClient

Outcome = Literal["passed", "failed", "inconclusive", "running"]
"""`running`: call `step` again at `next_check_at`; `inconclusive`: waits for a person."""

MeasurementOutcome = Literal["passed", "failed", "inconclusive", "error"]
"""`error`: the measurement could not be taken (query failed, expression error)."""

FINAL_OUTCOMES: frozenset[str] = frozenset({"passed", "failed"})


class CheckSetupError(RuntimeError):
    """The context lacks something the check needs (a cluster client, a health probe)."""


class CheckStateError(ValueError):
    """A persisted state does not belong to this check, or an operation does not apply to it."""


# --- time ---------------------------------------------------------------------------------


def utc(value: datetime) -> datetime:
    """`value` as an aware UTC datetime (naive values are taken as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def to_iso(value: datetime) -> str:
    return utc(value).isoformat()


def from_iso(value: str) -> datetime:
    return utc(datetime.fromisoformat(value))


# --- results ------------------------------------------------------------------------------


def json_value(value: Any) -> Any:
    """`value` with non-finite floats as strings ("NaN", "+Inf"), so it stays valid JSON
    (PostgreSQL's jsonb rejects NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")
    if isinstance(value, list | tuple):
        return [json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Measurement:
    """One observation of a check: when, what was seen, and how it was judged."""

    time: datetime
    value: Any
    outcome: MeasurementOutcome
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "time": to_iso(self.time),
            "value": json_value(self.value),
            "outcome": self.outcome,
            "detail": self.detail,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Measurement:
        return cls(
            time=from_iso(data["time"]),
            value=data.get("value"),
            outcome=cast(MeasurementOutcome, data["outcome"]),
            detail=str(data.get("detail", "")),
        )


@dataclass(frozen=True)
class Resolution:
    """A person's decision on an inconclusive check."""

    passed: bool
    by: str
    at: datetime
    comment: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "by": self.by,
            "at": to_iso(self.at),
            "comment": self.comment,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Resolution:
        return cls(
            passed=bool(data["passed"]),
            by=str(data["by"]),
            at=from_iso(data["at"]),
            comment=str(data.get("comment", "")),
        )


@dataclass(frozen=True)
class CheckResult:
    """Where a check stands after a step. `measurements` holds every measurement so far."""

    check: str
    outcome: Outcome
    reason: str
    measurements: list[Measurement] = field(default_factory=list)
    logs: str | None = None
    next_check_at: datetime | None = None
    kind: str = ""
    resolution: Resolution | None = None

    @property
    def done(self) -> bool:
        """Passed or failed: stepping again changes nothing."""
        return self.outcome in FINAL_OUTCOMES

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "kind": self.kind,
            "outcome": self.outcome,
            "reason": self.reason,
            "measurements": [m.to_json() for m in self.measurements],
            "logs": self.logs,
            "nextCheckAt": to_iso(self.next_check_at) if self.next_check_at else None,
            "resolution": self.resolution.to_json() if self.resolution else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CheckResult:
        next_at = data.get("nextCheckAt")
        resolution = data.get("resolution")
        return cls(
            check=str(data["check"]),
            kind=str(data.get("kind", "")),
            outcome=cast(Outcome, data["outcome"]),
            reason=str(data.get("reason", "")),
            measurements=[Measurement.from_json(m) for m in data.get("measurements", [])],
            logs=data.get("logs"),
            next_check_at=from_iso(next_at) if next_at else None,
            resolution=Resolution.from_json(resolution) if resolution else None,
        )


# --- the context --------------------------------------------------------------------------


class HealthLike(Protocol):
    """What a health probe returns; `shiplane.domain.health.Health` fits (its status is a
    StrEnum: "Healthy", "Progressing", "Degraded", ...)."""

    @property
    def status(self) -> str: ...

    @property
    def message(self) -> str: ...


@dataclass(frozen=True)
class HealthReport:
    """A plain HealthLike, for probes that do not use the domain type."""

    status: str
    message: str = ""


HealthProbe = Callable[[], Awaitable[HealthLike]]
"""The deploy engine's health of the environment's apps, asked afresh on each call."""


class CheckSink(Protocol):
    """Receives measurements as they are taken and progress messages (e.g. to stream them)."""

    def measurement(self, check: str, measurement: Measurement) -> None: ...

    def progress(self, check: str, message: str) -> None: ...


class NullSink:
    def measurement(self, check: str, measurement: Measurement) -> None:
        pass

    def progress(self, check: str, message: str) -> None:
        pass


@dataclass
class RecordingSink:
    """Keeps everything it receives (tests, debugging)."""

    measurements: list[tuple[str, Measurement]] = field(default_factory=list)
    messages: list[tuple[str, str]] = field(default_factory=list)

    def measurement(self, check: str, measurement: Measurement) -> None:
        self.measurements.append((check, measurement))

    def progress(self, check: str, message: str) -> None:
        self.messages.append((check, message))


@dataclass(frozen=True)
class CheckContext:
    """Everything a check may use. `run_id` identifies this verification run: objects a
    check creates are named from (check name, run id), so a restarted run finds them."""

    environment: str
    namespace: str
    release: ReleaseInfo
    apps: tuple[str, ...]
    run_id: str
    kube: Callable[[], AsyncClient] | None = None
    """Returns the environment's cluster client; the caller owns (and closes) it."""
    health: HealthProbe | None = None
    clock: Clock = field(default_factory=SystemClock)
    """Where checks read the time; `run_to_completion` waits by it (`sleep_until`)."""
    sink: CheckSink = field(default_factory=NullSink)

    def client(self) -> AsyncClient:
        if self.kube is None:
            raise CheckSetupError("this check needs a cluster client, and the context has none")
        return self.kube()

    @property
    def app(self) -> str:
        """The app being verified; several apps (a release train) are joined with `|`,
        which suits PromQL's `=~` matcher."""
        return "|".join(self.apps)

    def expression_values(self) -> dict[str, Any]:
        """Variables every check expression sees besides its own (`response`, `result`).
        (`namespace` is a reserved word in CEL, hence `environment.namespace`.)"""
        return {
            "environment": {"name": self.environment, "namespace": self.namespace},
            "app": self.app,
            "apps": list(self.apps),
            "release": {
                "id": self.release.id,
                "alias": self.release.alias or "",
                "labels": dict(self.release.labels),
                "artifacts": dict(self.release.artifacts),
            },
        }

    def template_values(self) -> dict[str, str]:
        return {
            "environment": self.environment,
            "namespace": self.namespace,
            "app": self.app,
            "release": self.release.id,
            "release_alias": self.release.alias or self.release.id,
            # The release's image of the (first) app: a Job check can run the release's
            # own smoke tests, `image: "{{image}}"`.
            "image": next(
                (self.release.artifacts[a] for a in self.apps if a in self.release.artifacts),
                "",
            ),
        }


# --- plugins ------------------------------------------------------------------------------


@dataclass
class Progress:
    """What one plugin step returns: the outcome so far, measurements taken in this step
    only, and the plugin's new state (JSON-able)."""

    outcome: Outcome
    reason: str
    state: dict[str, Any]
    measurements: list[Measurement] = field(default_factory=list)
    logs: str | None = None
    next_check_at: datetime | None = None


def not_before(ctx: CheckContext, state: dict[str, Any]) -> datetime | None:
    """The time stored under `notBefore` while it is still ahead: a check woken early
    (or stepped again after a restart) must not measure before its interval is over."""
    raw = state.get("notBefore")
    if raw:
        when = from_iso(raw)
        if ctx.clock.now() < when:
            return when
    return None


C = TypeVar("C", bound=BaseModel)


class Check(ABC, Generic[C]):
    """A check plugin. `step` must be idempotent with respect to the world: called twice
    with the same state, it must not create anything twice."""

    kind: ClassVar[str]

    @abstractmethod
    async def step(
        self, ctx: CheckContext, name: str, config: C, state: dict[str, Any]
    ) -> Progress:
        """Advance the check by one step from `state` (empty on the first call)."""


CHECKS: Registry[Check[Any]] = Registry("check")
"""Every check plugin, by kind name (health, job, http, prometheus, soak)."""
