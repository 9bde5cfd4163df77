"""Deploy targets: what brings an environment's pin commit to its cluster
(docs/handoff.md).

One plugin per target in one registry (`TARGETS`), each with its config model from
`config` as its schema: `shiplane` (Shiplane's own sync engine, the default), `flux`
(hand-off to Flux) and `argocd` (hand-off to Argo CD). The engine runs them
(engine/deploy/handoff.py); a new target is a new module here. This package is the way in.
"""

from shiplane.targets import argocd, flux, shiplane
from shiplane.targets.base import (
    ContainsCommit,
    DeployTarget,
    Hydration,
    InventoryEntry,
    Phase,
    SyncState,
    TargetConfigError,
    TargetContext,
    TargetObject,
    TargetObjectMissingError,
    TargetResult,
    TargetStatus,
    TargetUnavailableError,
)
from shiplane.targets.registry import TARGETS
from shiplane.targets.waiting import failure_text, wait_ready

__all__ = [
    "TARGETS",
    "ContainsCommit",
    "DeployTarget",
    "Hydration",
    "InventoryEntry",
    "Phase",
    "SyncState",
    "TargetConfigError",
    "TargetContext",
    "TargetObject",
    "TargetObjectMissingError",
    "TargetResult",
    "TargetStatus",
    "TargetUnavailableError",
    "argocd",
    "failure_text",
    "flux",
    "shiplane",
    "wait_ready",
]
