"""Reading Flux's objects: revisions, conditions, inventory. Pure.

Flux writes a revision as `<branch>@sha1:<sha>` (v1 APIs; `sha256:` for SHA-256
repositories), older controllers as `<branch>/<sha>`, and a bare `sha1:<sha>` or `<sha>`
for a commit or tag reference. A Kustomization says what it did in its `Ready`
condition: True once the revision is applied (and, with `spec.wait` or `healthChecks`,
healthy); False with a reason of its own (`BuildFailed`, `HealthCheckFailed`,
`ReconciliationFailed`, ...) when it gave up on `status.lastAttemptedRevision`; Unknown
(reason `Progressing`) while it works.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from shiplane.domain.health import HealthStatus
from shiplane.targets.base import InventoryEntry, TargetObject, TargetStatus

_SHA = re.compile(r"^[0-9a-f]{40}$|^[0-9a-f]{64}$")

# Reasons of Ready=False that are not a verdict on the revision: the source or a
# dependency is not there yet, so the Kustomization will try again by itself.
WAITING_REASONS = frozenset({"ArtifactFailed", "DependencyNotReady", "Progressing"})

REQUESTED_AT = "reconcile.fluxcd.io/requestedAt"
"""The annotation that makes a Flux controller reconcile now (its value: any new text)."""


def revision_sha(revision: str | None) -> str | None:
    """The commit sha of a Flux revision, None when it names none.

    >>> revision_sha("main@sha1:0123456789abcdef0123456789abcdef01234567")
    '0123456789abcdef0123456789abcdef01234567'
    """
    if not revision:
        return None
    text = revision.strip().lower()
    if "@" in text:  # <ref>@sha1:<sha>
        text = text.rsplit("@", 1)[1]
    elif "/" in text:  # <branch>/<sha> (Flux before v1 APIs); branch may contain '/'
        text = text.rsplit("/", 1)[1]
    for algorithm in ("sha1:", "sha256:"):
        if text.startswith(algorithm):
            text = text[len(algorithm) :]
    return text if _SHA.match(text) else None


def condition(obj: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    """The status condition of type `kind`, None when absent."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(cond, Mapping) and cond.get("type") == kind:
            return cond
    return None


def is_current(obj: Mapping[str, Any]) -> bool:
    """Has the controller seen the object's latest spec (status.observedGeneration)?"""
    generation = (obj.get("metadata") or {}).get("generation")
    observed = (obj.get("status") or {}).get("observedGeneration")
    return generation is None or observed == generation


def inventory(obj: Mapping[str, Any]) -> tuple[InventoryEntry, ...]:
    """status.inventory.entries: `{id: <ns>_<name>_<group>_<kind>, v: <version>}`."""
    entries = []
    for entry in ((obj.get("status") or {}).get("inventory") or {}).get("entries") or []:
        parts = str(entry.get("id", "")).split("_")
        if len(parts) != 4:
            continue
        namespace, name, group, kind = parts
        version = str(entry.get("v", ""))
        api_version = f"{group}/{version}" if group else version
        entries.append(InventoryEntry(api_version, kind, namespace or None, name))
    return tuple(entries)


def kustomization_status(
    obj: Mapping[str, Any],
    *,
    applied_has_commit: bool,
    attempted_has_commit: bool,
    owner: TargetObject | None = None,
) -> TargetStatus:
    """What a Kustomization says about a commit: `applied_has_commit` says whether its
    status.lastAppliedRevision contains the commit (the same commit, or a later one of the
    branch), `attempted_has_commit` the same of status.lastAttemptedRevision.

    ready: Ready=True for the latest spec with the commit applied; failed: Ready=False
    with a reason of its own after attempting the commit (whatever observedGeneration
    says: Flux advances it only on success); else progressing."""
    status = obj.get("status") or {}
    applied = revision_sha(status.get("lastAppliedRevision"))
    ready = condition(obj, "Ready")
    state = str((ready or {}).get("status", "Unknown"))
    reason = str((ready or {}).get("reason", ""))
    message = str((ready or {}).get("message", ""))
    current = is_current(obj)
    reconciling = condition(obj, "Reconciling")
    busy = reconciling is not None and reconciling.get("status") == "True"
    entries = inventory(obj)

    def make(phase: str, health: HealthStatus) -> TargetStatus:
        return TargetStatus(
            phase=phase,  # type: ignore[arg-type]  # one of the three literals below
            revision=applied,
            reason=reason,
            message=message,
            health=health,
            sync="Synced" if applied_has_commit else "OutOfSync",
            owner=owner,
            inventory=entries,
        )

    if state == "True" and current and applied_has_commit and not busy:
        return make("ready", HealthStatus.HEALTHY)
    # No `current` here: Flux moves status.observedGeneration only when a reconcile
    # succeeds; a failure is known fresh by the revision it attempted.
    if state == "False" and attempted_has_commit and reason not in WAITING_REASONS:
        health = HealthStatus.DEGRADED
        return make("failed", health)
    if state == "False" and not attempted_has_commit and applied_has_commit:
        return make("progressing", HealthStatus.DEGRADED)
    return make("progressing", HealthStatus.PROGRESSING)


def live_health(obj: Mapping[str, Any]) -> HealthStatus:
    """The health of a Kustomization at whatever it applied (status and matrix)."""
    ready = condition(obj, "Ready")
    if ready is None:
        return HealthStatus.UNKNOWN
    if ready.get("status") == "True":
        return HealthStatus.HEALTHY
    if ready.get("status") == "False" and ready.get("reason") not in WAITING_REASONS:
        return HealthStatus.DEGRADED
    return HealthStatus.PROGRESSING


def source_problem(git_repository: Mapping[str, Any]) -> str | None:
    """Why a GitRepository has no artifact for the branch (Ready=False), None: it has."""
    ready = condition(git_repository, "Ready")
    if ready is not None and ready.get("status") == "False":
        return f"{ready.get('reason', '')}: {ready.get('message', '')}".strip(": ")
    return None


def source_revision(git_repository: Mapping[str, Any]) -> str | None:
    """The commit of the GitRepository's artifact (the branch head Flux fetched)."""
    artifact = (git_repository.get("status") or {}).get("artifact") or {}
    return revision_sha(artifact.get("revision"))
