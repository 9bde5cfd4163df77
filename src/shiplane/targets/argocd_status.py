"""Reading an Argo CD Application: sync, health, its last operation, its resources. Pure.

An Application says what it compared and what it did in its status:

    status.sync            {status: Synced|OutOfSync|Unknown, revision: <sha>}
                           the commit the controller last compared (the head of
                           spec.source.targetRevision) and whether the live objects match it
    status.health          {status: Healthy|Progressing|Degraded|Suspended|Missing|Unknown}
    status.operationState  the last sync operation: {phase: Running|Terminating|Succeeded|
                           Failed|Error, message, operation: {sync: {revision}},
                           syncResult: {revision, resources: [{kind, name, status, message}]}}
    status.resources       every object of the app: {group, version, kind, namespace, name,
                           status, health: {status, message}}; since Argo CD 3.0 `health`
                           only with the controller's --persist-resource-health
                           (`status.resourceHealthSource: appTree` says it is in the
                           resource tree, kept in Argo CD's Redis, instead)
    status.conditions      {type: ComparisonError|InvalidSpecError|SyncError|..., message}

and `operation` (top level) is a sync asked for that the controller has not finished yet
(it clears the field when the operation ends).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from shiplane.domain.health import HealthStatus
from shiplane.targets.base import InventoryEntry, SyncState, TargetObject, TargetStatus

REFRESH_ANNOTATION = "argocd.argoproj.io/refresh"
"""The annotation that makes the controller compare again now (`normal`: re-resolve the
branch head and regenerate manifests when it moved; what `argocd app get --refresh` sets)."""

INITIATED_BY = "shiplane"

RUNNING_PHASES = frozenset({"Running", "Terminating"})
FAILED_PHASES = frozenset({"Failed", "Error"})
# Per-resource sync results that say the object was not applied as asked.
FAILED_RESULTS = frozenset({"SyncFailed"})
MAX_DETAILS = 5


def _status(app: Mapping[str, Any]) -> Mapping[str, Any]:
    return app.get("status") or {}


def _section(app: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = _status(app).get(key)
    return value if isinstance(value, Mapping) else {}


def synced_revision(app: Mapping[str, Any]) -> str | None:
    """status.sync.revision: the commit the controller last compared, None before any."""
    return _section(app, "sync").get("revision") or None


def operation_revision(app: Mapping[str, Any]) -> str | None:
    """The commit of the last sync operation: the one it was asked for, else the one it
    resolved; None when there was none."""
    state = _section(app, "operationState")
    asked = ((state.get("operation") or {}).get("sync") or {}).get("revision")
    done = (state.get("syncResult") or {}).get("revision")
    return asked or done or None


def operation_running(app: Mapping[str, Any]) -> bool:
    """A sync is asked for (`operation` is set) or still running."""
    return bool(app.get("operation")) or (
        _section(app, "operationState").get("phase") in RUNNING_PHASES
    )


def auto_syncs(app: Mapping[str, Any]) -> bool:
    """spec.syncPolicy.automated is on: after a refresh the controller syncs by itself."""
    policy = (app.get("spec") or {}).get("syncPolicy") or {}
    automated = policy.get("automated")
    return isinstance(automated, Mapping) and automated.get("enabled", True) is not False


def sync_request(app: Mapping[str, Any], commit: str) -> dict[str, Any]:
    """The merge patch that asks for `commit`: always a refresh; and, unless the
    Application syncs by itself or a sync is under way, a sync operation at `commit`
    (what `argocd app sync --revision COMMIT --prune` asks). Prune: what Shiplane's own
    engine does, so an object dropped from the app leaves the cluster with it."""
    patch: dict[str, Any] = {"metadata": {"annotations": {REFRESH_ANNOTATION: "normal"}}}
    if not auto_syncs(app) and not operation_running(app):
        patch["operation"] = {
            "initiatedBy": {"username": INITIATED_BY},
            "info": [{"name": "reason", "value": f"Shiplane promotion of {commit[:12]}"}],
            "sync": {"revision": commit, "prune": True},
        }
    return patch


def _health(value: object) -> HealthStatus:
    try:
        return HealthStatus(str(value))
    except ValueError:
        return HealthStatus.UNKNOWN


def _sync_state(value: object) -> SyncState:
    if value == "Synced":
        return "Synced"
    return "OutOfSync" if value == "OutOfSync" else "Unknown"


def _where(resource: Mapping[str, Any]) -> str:
    namespace = resource.get("namespace")
    name = f"{namespace}/{resource.get('name')}" if namespace else str(resource.get("name"))
    return f"{resource.get('kind')} {name}"


def inventory(app: Mapping[str, Any]) -> tuple[InventoryEntry, ...]:
    """status.resources as inventory entries."""
    entries = []
    for resource in _status(app).get("resources") or []:
        group, version = resource.get("group") or "", resource.get("version") or ""
        api_version = f"{group}/{version}" if group else version
        entries.append(
            InventoryEntry(
                api_version, str(resource.get("kind")), resource.get("namespace") or None,
                str(resource.get("name")),
            )
        )  # fmt: skip
    return tuple(entries)


def error_conditions(app: Mapping[str, Any]) -> list[str]:
    """`ComparisonError: <message>` for each error condition (the controller's words)."""
    found = []
    for cond in _status(app).get("conditions") or []:
        kind = str(cond.get("type", ""))
        if kind.endswith("Error"):
            found.append(f"{kind}: {cond.get('message', '')}".rstrip(": "))
    return found


def failed_resources(app: Mapping[str, Any]) -> list[str]:
    """What the last operation could not apply: `Deployment shop/web: <message>`."""
    result = _section(app, "operationState").get("syncResult") or {}
    return [
        f"{_where(r)}: {r.get('message', '')}".rstrip(": ")
        for r in result.get("resources") or []
        if r.get("status") in FAILED_RESULTS or r.get("hookPhase") in FAILED_PHASES
    ]


def unhealthy_resources(app: Mapping[str, Any], worst: HealthStatus) -> list[str]:
    """Resources whose health is `worst`, with the health check's message."""
    found = []
    for resource in _status(app).get("resources") or []:
        health = resource.get("health") or {}
        if _health(health.get("status")) is worst:
            message = health.get("message") or worst.value
            found.append(f"{_where(resource)}: {message}")
    return found


def _join(parts: Sequence[str]) -> str:
    shown = [p for p in parts if p][:MAX_DETAILS]
    more = len([p for p in parts if p]) - len(shown)
    return "; ".join(shown) + (f"; and {more} more" if more > 0 else "")


def application_status(
    app: Mapping[str, Any],
    *,
    synced_has_commit: bool,
    operation_has_commit: bool,
    owner: TargetObject | None = None,
    live_degraded: Sequence[str] = (),
) -> TargetStatus:
    """What an Application says about a commit. `synced_has_commit`: status.sync.revision
    contains the commit (the same commit, or a later one of the branch);
    `operation_has_commit`: the last operation's revision does; `live_degraded`: the
    degraded resources as Shiplane's health rules read them live, for an Application that
    keeps its resources' health in the resource tree only (`degraded_without_details`).

    ready: no sync under way, Synced at the commit, Healthy. failed: the operation for
    the commit ended Failed or Error (its message and the resources it could not apply),
    or Synced at the commit and Degraded (the degraded resources' health messages).
    Anything else is progressing, with what the Application says so far."""
    sync = _sync_state(_section(app, "sync").get("status"))
    health_section = _section(app, "health")
    health = _health(health_section.get("status"))
    state = _section(app, "operationState")
    phase = str(state.get("phase") or "")
    running = operation_running(app)
    conditions = error_conditions(app)

    def make(phase_: str, reason: str, message: str) -> TargetStatus:
        return TargetStatus(
            phase=phase_,  # type: ignore[arg-type]  # one of the three literals below
            revision=synced_revision(app),
            reason=reason,
            message=message,
            health=health,
            sync=sync if synced_has_commit else "OutOfSync",
            owner=owner,
            inventory=inventory(app),
        )

    if operation_has_commit and phase in FAILED_PHASES and not running:
        message = _join([str(state.get("message") or ""), *failed_resources(app), *conditions])
        return make("failed", f"Sync{phase}", message)
    if synced_has_commit and sync == "Synced" and not running:
        if health is HealthStatus.HEALTHY:
            return make("ready", "Healthy", str(state.get("message") or ""))
        if health is HealthStatus.DEGRADED:
            details = unhealthy_resources(app, HealthStatus.DEGRADED) or list(live_degraded)
            own = str(health_section.get("message") or "")
            return make("failed", "Degraded", _join([own, *details]) or "Degraded")
    said = [f"sync {sync}", f"health {health.value}"]
    if running:
        said.append(f"operation {phase or 'requested'}")
    elif phase:
        said.append(f"last operation {phase}")
    reason = "Syncing" if running else ("OutOfSync" if not synced_has_commit else health.value)
    return make("progressing", reason, _join([", ".join(said), *conditions]))


def degraded_without_details(status: TargetStatus, app: Mapping[str, Any]) -> bool:
    """A Degraded verdict whose Application names no degraded resource (their health is
    in the resource tree, not in status.resources): worth a live look for the reason."""
    return (
        status.phase == "failed"
        and status.reason == "Degraded"
        and not unhealthy_resources(app, HealthStatus.DEGRADED)
    )
