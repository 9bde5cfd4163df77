"""The upstream rule: may a release move on from the environments it must pass first?

`after: [qa]` (mode `all`) needs every listed environment, `after: {any: [...]}` at least
one. An environment counts once the release is verified there for every app being
promoted: a release train was tested as a whole, so half of it verified is not enough.

One implementation for both readers: the `upstream` gate (which explains a wait) and
the auto-promoter (which decides whether to create a promotion at all). Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

UpstreamMode = Literal["all", "any"]

VerifiedApps = Mapping[str, Mapping[str, datetime | None]]
"""environment -> app -> when the release was verified there (absent or None: not yet)."""


@dataclass(frozen=True, slots=True)
class UpstreamStatus:
    satisfied: bool
    done: tuple[str, ...]
    """Upstream environments that verified every app, in the order they were listed."""
    missing: Mapping[str, tuple[str, ...]]
    """Upstream environment -> apps it has not verified yet (only environments with some)."""


def unverified_apps(verified: VerifiedApps, environment: str, apps: Sequence[str]) -> list[str]:
    """Apps of `apps` not (yet) verified in `environment`."""
    per_app = verified.get(environment, {})
    return [app for app in apps if per_app.get(app) is None]


def upstream_status(
    mode: UpstreamMode,
    environments: Sequence[str],
    apps: Sequence[str],
    verified: VerifiedApps,
) -> UpstreamStatus:
    """Where `apps` (of one release) stand in the upstream `environments`.

    No upstream environments: satisfied (a root of the graph)."""
    left = {env: tuple(unverified_apps(verified, env, apps)) for env in environments}
    done = tuple(env for env, apps_left in left.items() if not apps_left)
    if not environments:
        satisfied = True
    elif mode == "any":
        satisfied = bool(done)
    else:
        satisfied = len(done) == len(environments)
    missing = {env: apps_left for env, apps_left in left.items() if apps_left}
    return UpstreamStatus(satisfied, done, missing)
