"""Everything a gate may look at, gathered by the engine before evaluating.

Gates are pure: they read only this context (and their own config), so an evaluation can
be repeated, recorded and explained, and tests build contexts by hand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from shiplane.config.models import EnvironmentConfig
from shiplane.domain.clock import Clock, FixedClock
from shiplane.domain.promotion import Promotion
from shiplane.domain.promotion_controls import Approval, Freeze, Hold
from shiplane.domain.releases import ReleaseInfo as ReleaseInfo


@dataclass(frozen=True, slots=True)
class TargetEnvironment:
    """The environment promoted into, with its policy from shiplane.yaml."""

    name: str
    policy: EnvironmentConfig
    labels: Mapping[str, str] = field(default_factory=dict)
    """Free-form labels offered to conditions as `environment.labels`."""


UpstreamVerified = Mapping[str, Mapping[str, datetime | None]]
"""Upstream environment -> app -> when this release was verified there (None: not yet)."""


@dataclass(frozen=True, slots=True)
class GateContext:
    promotion: Promotion
    release: ReleaseInfo
    environment: TargetEnvironment
    clock: Clock
    upstream_verified: UpstreamVerified = field(default_factory=dict)
    approvals: Sequence[Approval] = ()
    """Decisions recorded so far; gates pick the ones that bind to this promotion."""
    freezes: Sequence[Freeze] = ()
    """Freezes currently in force (any scope; gates pick the ones that apply)."""
    holds: Sequence[Hold] = ()

    def now(self) -> datetime:
        return self.clock.now()

    def pinned(self) -> GateContext:
        """This context with time stopped, so every gate of one evaluation sees one 'now'."""
        return replace(self, clock=FixedClock(self.clock.now()))
