"""What a deploy target is: the part that brings a pinned commit to an environment's
cluster (docs/handoff.md).

`shiplane` (the default) is Shiplane's own sync engine: the engine applies, prunes and
waits for health itself and the plugin only says so (`own_sync = True`). Every other
target hands the commit off to a GitOps agent that already runs in the cluster (Flux,
Argo CD). For those, after the pin commit is pushed, the engine calls

    request(ctx, app, commit)    ask the agent to reconcile now (idempotent)
    observe(ctx, app, commit)    one look: has the agent applied `commit` (or a later
                                 commit that contains it), is it healthy, did it fail?

and repeats `observe` until it answers `ready` or `failed`, or the target's deadline
passes (targets/waiting.py). `check(ctx, app)` is what `shiplane validate` and the
engine's start run: do the objects the config names exist in the cluster?

A target knows nothing of promotions, gates or audit: it reads and annotates the agent's
objects, and the engine records what it answers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol

from pydantic import BaseModel

from shiplane.domain.clock import Clock
from shiplane.domain.errors import ExternalError, InvalidError, NotFoundError
from shiplane.domain.health import HealthStatus

if TYPE_CHECKING:
    from lightkube import AsyncClient

Phase = Literal["progressing", "ready", "failed"]
"""`progressing`: look again; `ready`: the commit is applied and healthy; `failed`: the
agent gave up on this commit (its reason and message say why)."""

SyncState = Literal["Synced", "OutOfSync", "Unknown"]

ContainsCommit = Callable[[str, str], Awaitable[bool]]
"""(commit, later) -> does `later` contain `commit` (equal, or a descendant in git)?
An agent may apply a newer commit of the branch than the promotion's (another
environment's promotion was pushed meanwhile); that commit still carries this pin."""


class TargetConfigError(InvalidError):
    """The target's configuration does not fit (a strategy it cannot run, an object name
    that is not `namespace/name`)."""


class TargetObjectMissingError(NotFoundError):
    """An object the target's configuration names does not exist in the cluster."""


class TargetUnavailableError(ExternalError):
    """The agent's objects could not be read or annotated (the cluster did not answer)."""


@dataclass(frozen=True)
class TargetObject:
    """One object of the agent (a Flux Kustomization, an Argo CD Application), by kind."""

    kind: str
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}"


@dataclass(frozen=True)
class InventoryEntry:
    """One object the agent applied for the app (Flux: status.inventory.entries)."""

    api_version: str
    kind: str
    namespace: str | None
    name: str


@dataclass(frozen=True)
class TargetStatus:
    """What the agent says about one app, at one look."""

    phase: Phase
    revision: str | None
    """The commit the agent last applied (a full sha), None: nothing applied yet."""
    reason: str = ""
    """The agent's own reason (`ReconciliationSucceeded`, `BuildFailed`,
    `HealthCheckFailed`, ...)."""
    message: str = ""
    """The agent's own message, as it wrote it."""
    health: HealthStatus = HealthStatus.UNKNOWN
    sync: SyncState = "Unknown"
    """Synced: the agent applied the branch's head for this app; OutOfSync: it has not
    (yet); Unknown: it cannot say."""
    owner: TargetObject | None = None
    """The object whose status this is."""
    inventory: tuple[InventoryEntry, ...] = ()

    @property
    def summary(self) -> str:
        """`Ready (ReconciliationSucceeded): Applied revision: main@sha1:...`."""
        words = {"ready": "Ready", "failed": "Failed", "progressing": "Progressing"}[self.phase]
        reason = f" ({self.reason})" if self.reason else ""
        message = f": {self.message}" if self.message else ""
        return f"{words}{reason}{message}"


@dataclass(frozen=True)
class TargetContext:
    """Where one environment's target works: its cluster and its parsed config."""

    environment: str
    namespace: str
    config: BaseModel
    """The target's section of `deploy` (its registered schema), e.g. FluxTargetConfig."""
    client: AsyncClient
    clock: Clock
    contains: ContainsCommit
    timeout: float = 300.0
    """How long `wait_ready` waits for `ready` (the target's config may say otherwise)."""
    interval: float = 1.0
    """How often `wait_ready` looks when nothing wakes it sooner."""


@dataclass(frozen=True)
class TargetResult:
    """How a hand-off ended: the last status and, unless ready, why it failed."""

    status: TargetStatus
    error: str | None = None
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class Hydration:
    """What the pin commit also writes for a hand-off target: the rendered objects of the
    app, at a path the agent reads (the agent cannot read a pin)."""

    path: str
    """Repository-relative file path, e.g. `rendered/staging/checkout/manifests.yaml`."""


class DeployTarget(Protocol):
    own_sync: bool
    """True only for `shiplane`: the engine applies, prunes and waits for health itself;
    the methods below are then never called."""

    strategies: frozenset[str]
    """The strategies (`rolling`, `canary`, `blueGreen`) an environment with this target
    may use; `shiplane validate` refuses the others."""

    def owners(self, config: BaseModel, app: str) -> tuple[TargetObject, ...]:
        """Pure: the agent's objects that own `app` in this environment (for messages,
        `check`, `request`)."""
        ...

    def hydration(self, environment: str, app: str) -> Hydration | None:
        """Pure: where the pin commit writes the app's rendered objects, None: nowhere."""
        ...

    async def check(self, ctx: TargetContext, app: str) -> list[str]:
        """What is wrong with the objects the config names for `app` in the cluster
        (each a sentence naming the object); empty: all exist and fit."""
        ...

    async def request(self, ctx: TargetContext, app: str, commit: str) -> None:
        """Ask the agent to reconcile `app` now (TargetUnavailableError when it cannot)."""
        ...

    async def observe(self, ctx: TargetContext, app: str, commit: str) -> TargetStatus:
        """One look at what the agent says about `app` against `commit` (the branch head
        the engine expects; `sync` is OutOfSync while the agent has not applied it)."""
        ...
