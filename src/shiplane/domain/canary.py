"""The canary strategy's rules (docs/strategies.md). Pure, no I/O.

A canary is a list of steps: `setWeight: N` (the share of the new version), `pause`
(for a while, or until a person resumes), `analysis` (named checks that must pass). In
`replicas` traffic mode the stable Deployment is never touched: the canary Deployment
runs beside it behind the same Service, and its replica count is chosen so that its
share of all replicas is the weight. An abort then only deletes the canary, and all
traffic is on the stable version as soon as its endpoints are gone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal


@dataclass(frozen=True, slots=True)
class SetWeight:
    weight: int


@dataclass(frozen=True, slots=True)
class Pause:
    seconds: int | None
    """None: until a person resumes (`shiplane promotion resume`)."""


@dataclass(frozen=True, slots=True)
class Analysis:
    checks: tuple[str, ...]


CanaryStep = SetWeight | Pause | Analysis


def describe_step(step: CanaryStep) -> str:
    """The step as written in shiplane.yaml, for people."""
    if isinstance(step, SetWeight):
        return f"setWeight {step.weight}"
    if isinstance(step, Pause):
        return "pause until resumed" if step.seconds is None else f"pause {step.seconds}s"
    return f"analysis {', '.join(step.checks)}"


def weight_problems(weights: Sequence[tuple[int, int]]) -> list[tuple[int, str]]:
    """(step index, message) for each weight out of 0-100 or not above the one before;
    `weights` is (step index, weight) in step order."""
    problems: list[tuple[int, str]] = []
    previous: int | None = None
    for index, weight in weights:
        if not 0 <= weight <= 100:
            problems.append((index, f"setWeight {weight} is out of 0-100"))
            continue
        if previous is not None and weight <= previous:
            problems.append(
                (index, f"setWeight {weight} does not rise (the step before set {previous})")
            )
        previous = weight
    return problems


def canary_replicas(stable: int, weight: int) -> int:
    """Replicas of the canary beside `stable` untouched replicas so that the canary's
    share of all replicas is nearest to `weight` percent: at least one for any weight
    above 0, none at 0. Weight 100 cannot be reached beside a running stable version
    (replicas mode refuses it in shiplane.yaml; the last step's success does it)."""
    if not 0 <= weight < 100:
        raise ValueError(f"a canary beside the stable version has a weight in 0-99, not {weight}")
    if weight == 0:
        return 0
    exact = max(stable, 1) * weight / (100 - weight)
    return max(1, int(exact + 0.5))


def routed_canary_replicas(stable: int, weight: int) -> int:
    """Replicas of the canary in `gatewayAPI` mode, where the route's weights split the
    traffic: `weight` percent of the stable replicas, rounded up (at least one for any
    weight above 0, as many as the stable version at 100)."""
    if not 0 <= weight <= 100:
        raise ValueError(f"a weight is in 0-100, not {weight}")
    if weight == 0:
        return 0
    return max(1, -(-max(stable, 1) * weight // 100))


def share(canary: int, stable: int) -> int:
    """The canary's share of all replicas, in whole percent (what is actually running)."""
    total = canary + stable
    return 0 if total == 0 else round(100 * canary / total)


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a canary stands: its position and the requests people made."""

    step: int = 0
    """Index of the step being taken (== the number of steps once done)."""
    weight: int = 0
    """The last weight set."""
    step_started_at: datetime | None = None
    resume: int | None = None
    """A person resumed the pause at this step."""
    skip: int | None = None
    """A person skipped this step."""

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "weight": self.weight,
            "stepStartedAt": None
            if self.step_started_at is None
            else self.step_started_at.isoformat(),
            "resume": self.resume,
            "skip": self.skip,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Progress:
        started = data.get("stepStartedAt")
        return cls(
            step=int(data.get("step") or 0),
            weight=int(data.get("weight") or 0),
            step_started_at=None if not started else datetime.fromisoformat(str(started)),
            resume=data.get("resume"),
            skip=data.get("skip"),
        )

    def next(self, *, weight: int | None = None) -> Progress:
        """On to the following step (the requests made for this one are spent)."""
        return Progress(
            step=self.step + 1, weight=self.weight if weight is None else weight, resume=None
        )

    def started(self, at: datetime) -> Progress:
        if self.step_started_at is not None:
            return self
        return Progress(self.step, self.weight, at, self.resume, self.skip)


PauseVerdict = Literal["done", "wait"]


def pause_verdict(
    step: Pause, progress: Progress, now: datetime
) -> tuple[PauseVerdict, datetime | None]:
    """Whether a pause is over: ("done", None), or ("wait", until) where `until` is None
    for a pause that waits for a person."""
    if progress.resume == progress.step:
        return "done", None
    if step.seconds is None:
        return "wait", None
    started = progress.step_started_at or now
    until = started + timedelta(seconds=step.seconds)
    return ("done", None) if now >= until else ("wait", until)


def is_done(steps: Sequence[CanaryStep], progress: Progress) -> bool:
    return progress.step >= len(steps)


def current_step(steps: Sequence[CanaryStep], progress: Progress) -> CanaryStep | None:
    return steps[progress.step] if progress.step < len(steps) else None


RequestRefusal = str


def resume_refusal(steps: Sequence[CanaryStep], progress: Progress) -> RequestRefusal | None:
    """Why a resume is not possible now (None: it is)."""
    step = current_step(steps, progress)
    if not isinstance(step, Pause):
        where = "it has finished its steps" if step is None else describe_step(step)
        return f"the canary is not paused (step {progress.step + 1}: {where})"
    return None


def skip_refusal(steps: Sequence[CanaryStep], progress: Progress) -> RequestRefusal | None:
    if current_step(steps, progress) is None:
        return "the canary has no step left to skip"
    return None


def summary(steps: Sequence[CanaryStep], progress: Progress) -> str:
    """One line for status and explain: `canary 25% (step 3/5: pause until resumed)`."""
    step = current_step(steps, progress)
    if step is None:
        return f"canary {progress.weight}% (all {len(steps)} steps passed)"
    return (
        f"canary {progress.weight}% (step {progress.step + 1}/{len(steps)}: {describe_step(step)})"
    )
