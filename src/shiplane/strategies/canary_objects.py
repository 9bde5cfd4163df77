"""The objects of a canary in `replicas` mode, built from the app's rendered objects.
Pure: no I/O.

The canary Deployment is the stable Deployment's new spec under another name
(`<name>-canary`), with one more label (`shiplane.dev/track: canary`) in its selector
and pod template: the Service, which selects the stable's labels, selects the canary's
pods too, while each Deployment keeps only its own pods. It carries Shiplane's
ownership labels, but it is never in an app's inventory, so prune never deletes it and
drift never compares it; the strategy itself removes it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from shiplane.kube.apply_objects import clean, mark_owned

TRACK_LABEL = "shiplane.dev/track"
CANARY_TRACK = "canary"
CANARY_OF_ANNOTATION = "shiplane.dev/canary-of"
"""On a canary: the name of the stable Deployment it runs beside."""
SUFFIX = "-canary"


def canary_name(stable: str) -> str:
    return f"{stable}{SUFFIX}"


def deployments(objects: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The apps/v1 Deployments among rendered objects (the canary's templates)."""
    return [
        clean(o)
        for o in objects
        if o.get("kind") == "Deployment" and str(o.get("apiVersion", "")) == "apps/v1"
    ]


def http_routes(objects: Sequence[Mapping[str, Any]]) -> list[str]:
    """Names of the Gateway API HTTPRoutes among rendered objects."""
    return [
        str((o.get("metadata") or {}).get("name"))
        for o in objects
        if o.get("kind") == "HTTPRoute"
        and str(o.get("apiVersion", "")).startswith("gateway.networking.k8s.io/")
    ]


def canary_object(
    template: Mapping[str, Any], replicas: int, *, environment: str, app: str
) -> dict[str, Any]:
    """The canary Deployment for a stable Deployment's new spec, at `replicas`."""
    return track_object(template, replicas, environment=environment, app=app, track=CANARY_TRACK)


def track_object(
    template: Mapping[str, Any], replicas: int, *, environment: str, app: str, track: str
) -> dict[str, Any]:
    """A Deployment of a stable Deployment's new spec on its own `track` (`canary`, or
    blue-green's `preview`): named `<name>-<track>`, its selector and pods labelled
    `shiplane.dev/track: <track>`, at `replicas`."""
    obj = mark_owned(clean(copy.deepcopy(dict(template))), environment, app)
    meta = obj.setdefault("metadata", {})
    stable = str(meta["name"])
    meta["name"] = f"{stable}-{track}"
    meta.setdefault("labels", {})[TRACK_LABEL] = track
    meta.setdefault("annotations", {})[f"shiplane.dev/{track}-of"] = stable
    spec = obj.setdefault("spec", {})
    spec["replicas"] = replicas
    selector = spec.setdefault("selector", {})
    selector.setdefault("matchLabels", {})[TRACK_LABEL] = track
    pod_meta = spec.setdefault("template", {}).setdefault("metadata", {})
    pod_meta.setdefault("labels", {})[TRACK_LABEL] = track
    return obj


def services(objects: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The v1 Services among rendered objects, by name."""
    return {
        str((o.get("metadata") or {}).get("name")): clean(o)
        for o in objects
        if o.get("kind") == "Service" and str(o.get("apiVersion", "")) == "v1"
    }


def rollout_done(live: Mapping[str, Any], replicas: int | None = None) -> bool:
    """A Deployment's current spec is rolled out and ready (at `replicas`, or its own)."""
    meta = live.get("metadata") or {}
    spec = live.get("spec") or {}
    status = live.get("status") or {}
    want = int(spec.get("replicas", 1) if replicas is None else replicas)
    if int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0):
        return False
    if want == 0:
        return True
    return (
        int(status.get("updatedReplicas") or 0) >= want
        and int(status.get("readyReplicas") or 0) >= want
        and int(status.get("replicas") or 0) <= want
    )
