"""Prune: delete what the previous sync applied and the current render no longer has.

Safety first (see docs/sync-apply.md):
- only objects that still carry Shiplane's ownership for this (environment, app) are
  deleted; something another owner took over is left alone;
- `shiplane.dev/prune: "false"` keeps an object;
- a prune that would delete more than `max_fraction` of the previous inventory, or all of
  it (unless max_fraction >= 1.0), is refused and deletes nothing;
- the DELETE carries uid and resourceVersion preconditions, so an object changed (or
  re-created by someone else) between the check and the delete is checked again, not
  deleted blindly;
- deletion goes in reverse apply order (custom resources and workloads before Services,
  ConfigMaps, then CRDs and Namespaces); a 404 counts as done.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from lightkube import AsyncClient

from shiplane.kube import ordering
from shiplane.kube.apply_objects import owned_by, prune_opted_out
from shiplane.kube.apply_rest import KubeApiError, request
from shiplane.kube.discovery import Discovery, ResourceInfo
from shiplane.kube.refs import ObjRef

DELETE_ATTEMPTS = 3
PropagationPolicy = Literal["Background", "Foreground", "Orphan"]
A = TypeVar("A")
T = TypeVar("T")


@dataclass
class PruneResult:
    # Gone from the cluster: deleted now, already being deleted, or already absent (a 404).
    deleted: list[ObjRef] = field(default_factory=list)
    skipped_opt_out: list[ObjRef] = field(default_factory=list)  # `shiplane.dev/prune: "false"`
    refused: bool = False
    reason: str = ""
    # No longer carries this (environment, app)'s ownership: another owner took it over.
    skipped_not_owned: list[ObjRef] = field(default_factory=list)
    # The DELETE failed (e.g. forbidden, rejected by a webhook): still in the cluster.
    failed: list[tuple[ObjRef, str]] = field(default_factory=list)
    # Stale objects that are still Shiplane's: everything stale when refused, else `failed`.
    # The caller's next inventory is `current + keep`.
    keep: list[ObjRef] = field(default_factory=list)


def stale_refs(previous: Sequence[ObjRef], current: Sequence[ObjRef]) -> list[ObjRef]:
    """Previous minus current by identity (group/kind/namespace/name), without duplicates.
    An object whose apiVersion changed between renders is not stale."""
    now = {ordering.identity(r) for r in current}
    seen: set[tuple[str, str, str, str]] = set()
    out = []
    for ref in previous:
        key = ordering.identity(ref)
        if key in now or key in seen:
            continue
        seen.add(key)
        out.append(ref)
    return out


def refusal(
    stale_count: int, deleting: Sequence[ObjRef], inventory_size: int, max_fraction: float
) -> str:
    """Why a prune must not happen, or "" when it may. Pure."""
    if inventory_size == 0 or not deleting:
        return ""
    if stale_count >= inventory_size and max_fraction < 1.0:
        return (
            f"refusing to prune: every object of the last sync ({inventory_size}) is gone from "
            "the render (an empty or broken render?); nothing was deleted. Allow it with a "
            "prune limit of 100% if that is intended."
        )
    fraction = len(deleting) / inventory_size
    if fraction > max_fraction:
        names = ", ".join(str(r) for r in deleting[:5]) + (", ..." if len(deleting) > 5 else "")
        return (
            f"refusing to prune {len(deleting)} of {inventory_size} objects ({fraction:.0%}), "
            f"above the limit of {max_fraction:.0%}; nothing was deleted. Would delete: {names}"
        )
    return ""


async def _map(fn: Callable[[A], Awaitable[T]], items: Sequence[A], concurrency: int) -> list[T]:
    sem = asyncio.Semaphore(concurrency)

    async def run(item: A) -> T:
        async with sem:
            return await fn(item)

    return list(await asyncio.gather(*(run(i) for i in items)))


async def _get(client: AsyncClient, path: str) -> dict[str, Any] | None:
    try:
        live = await request(client, "GET", path)
    except KubeApiError as err:
        if err.not_found:
            return None
        raise
    return live if isinstance(live, dict) else None


async def prune(
    client: AsyncClient,
    discovery: Discovery,
    previous: Sequence[ObjRef],
    current: Sequence[ObjRef],
    *,
    max_fraction: float = 0.5,
    environment: str,
    app: str,
    concurrency: int = 8,
    propagation_policy: PropagationPolicy = "Background",
) -> PruneResult:
    """Delete objects of `previous` (the last inventory) that are not in `current`."""
    if max_fraction < 0:
        raise ValueError("max_fraction must be >= 0")
    result = PruneResult()
    inventory = stale_refs(previous, [])  # de-duplicated
    stale = stale_refs(previous, current)
    if not stale:
        return result

    infos = await discovery.resolve_many((r.api_version, r.kind) for r in stale)

    async def inspect(ref: ObjRef) -> tuple[str, dict[str, Any] | None]:
        info = infos[(ref.api_version, ref.kind)]
        if info is None:
            return "gone", None  # the kind is no longer served (its CRD was deleted)
        live = await _get(client, info.path(ref.name, ref.namespace))
        return _classify(live, environment, app), live

    inspected = await _map(inspect, stale, concurrency)
    deleting: list[tuple[ObjRef, ResourceInfo, dict[str, Any]]] = []
    for ref, (verdict, live) in zip(stale, inspected, strict=True):
        if verdict == "gone" or verdict == "terminating":
            result.deleted.append(ref)
        elif verdict == "opt-out":
            result.skipped_opt_out.append(ref)
        elif verdict == "not-owned":
            result.skipped_not_owned.append(ref)
        else:
            info = infos[(ref.api_version, ref.kind)]
            assert info is not None and live is not None
            deleting.append((ref, info, live))

    reason = refusal(len(stale), [d[0] for d in deleting], len(inventory), max_fraction)
    if reason:
        return PruneResult(
            refused=True,
            reason=reason,
            keep=list(stale),
        )

    async def delete(item: tuple[ObjRef, ResourceInfo, dict[str, Any]]) -> str:
        ref, info, live = item
        return await _delete_checked(
            client, info.path(ref.name, ref.namespace), live, environment, app, propagation_policy
        )

    deleting.sort(key=lambda d: ordering.apply_key(d[0]), reverse=True)
    for run in ordering.runs(deleting, key=lambda d: ordering.phase_key(d[0])):
        outcomes = await _map(delete, run, concurrency)
        for (ref, _info, _live), outcome in zip(run, outcomes, strict=True):
            if outcome == "deleted":
                result.deleted.append(ref)
            elif outcome == "opt-out":
                result.skipped_opt_out.append(ref)
            elif outcome == "not-owned":
                result.skipped_not_owned.append(ref)
            else:
                result.failed.append((ref, outcome))
                result.keep.append(ref)
    return result


def _classify(live: dict[str, Any] | None, environment: str, app: str) -> str:
    if live is None:
        return "gone"
    if not owned_by(live, environment, app):
        return "not-owned"
    if prune_opted_out(live):
        return "opt-out"
    if (live.get("metadata") or {}).get("deletionTimestamp"):
        return "terminating"  # never re-issue DELETE on a terminating object
    return "delete"


async def _delete_checked(
    client: AsyncClient,
    path: str,
    live: dict[str, Any],
    environment: str,
    app: str,
    policy: PropagationPolicy,
) -> str:
    """DELETE with uid + resourceVersion preconditions; on a conflict (the object changed
    since it was checked) check it again and retry. An object whose controller keeps
    writing its status may never hold still: the last attempt keeps the uid precondition
    only, right after a fresh ownership check.
    Returns "deleted", "opt-out", "not-owned" or an error message."""
    for attempt in range(DELETE_ATTEMPTS):
        meta = live.get("metadata") or {}
        preconditions = {"uid": meta.get("uid")}
        if attempt < DELETE_ATTEMPTS - 1:
            preconditions["resourceVersion"] = meta.get("resourceVersion")
        body = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "propagationPolicy": policy,
            "preconditions": preconditions,
        }
        try:
            await request(client, "DELETE", path, body=body)
            return "deleted"
        except KubeApiError as err:
            if err.not_found:
                return "deleted"
            if not err.conflict or attempt == DELETE_ATTEMPTS - 1:
                return f"delete failed: {err}"
        fresh = await _get(client, path)
        verdict = _classify(fresh, environment, app)
        if verdict in ("gone", "terminating"):
            return "deleted"
        if verdict != "delete":
            return verdict
        assert fresh is not None
        live = fresh  # changed (or even re-created) but still ours: check it anew
    return "delete failed: the object kept changing"
