"""`shiplane import argocd`: propose the environments and apps of `shiplane.yaml` from the
Applications of a cluster. Pure: the Applications in, a document out; nothing is applied
(the command prints it for review).

One environment per environment name found in an Application's `spec.source.path`
(targets/import_paths.py), else its destination namespace; one app per Application (the
path's last segment, else the Application's name). Each environment's `deploy.argocd`
names, per app, the Application that syncs it today; the app's `manifests` are its path
and the renderer its source says (`helm` with Helm parameters, `kustomize` with Kustomize
ones, else `plain`: the folder's files are not read), to be checked by a person (images
are left for them to fill in). Applications with several
sources, or of a Helm repository chart, are listed in the header, not proposed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from shiplane.targets.import_paths import place_path


@dataclass(frozen=True)
class FoundApplication:
    environment: str
    app: str
    namespace: str
    application: str
    """`namespace/name` of the Application."""
    path: str
    render: str
    repo_url: str
    revision: str


def _ref(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def _render(source: Mapping[str, Any]) -> str:
    if source.get("helm") is not None:
        return "helm"
    if source.get("kustomize") is not None:
        return "kustomize"
    # Argo CD detects the tool from the folder's files (kustomization.yaml, Chart.yaml),
    # which are not read here: `plain` until a person says otherwise.
    return "plain"


def place(application: Mapping[str, Any]) -> FoundApplication | None:
    """Where one Application belongs; None for one Shiplane cannot hand off to as it is
    (several sources, or a chart from a Helm repository: no path in git)."""
    spec = application.get("spec") or {}
    source = spec.get("source")
    if spec.get("sources") or not isinstance(source, Mapping) or source.get("chart"):
        return None
    meta = application.get("metadata") or {}
    destination_ns = str((spec.get("destination") or {}).get("namespace") or "")
    where = place_path(
        str(source.get("path") or "./"),
        fallback_environment=destination_ns or str(meta.get("name", "")),
        name=str(meta.get("name", "")),
    )
    return FoundApplication(
        environment=where.environment,
        app=where.app,
        namespace=destination_ns or where.environment,
        application=_ref(application),
        path=where.path,
        render=_render(source),
        repo_url=str(source.get("repoURL") or ""),
        revision=str(source.get("targetRevision") or "HEAD"),
    )


def propose(
    applications: Sequence[Mapping[str, Any]],
    *,
    cluster: str,
    kubeconfig: str,
    context: str | None,
) -> str:
    """The proposed `shiplane.yaml` sections, as YAML text with a review header."""
    found = [f for a in applications if (f := place(a)) is not None]
    skipped = sorted(_ref(a) for a in applications if place(a) is None)
    environments: dict[str, Any] = {}
    apps: dict[str, Any] = {}
    for env in sorted({f.environment for f in found}):
        mine = sorted((f for f in found if f.environment == env), key=lambda f: f.app)
        owners = {f.app: {"application": f.application} for f in mine}
        environments[env] = {
            "cluster": cluster,
            "namespace": mine[0].namespace,
            "deploy": {"via": "argocd", "argocd": {"apps": owners}},
        }
        for f in mine:
            apps.setdefault(
                f.app, {"images": [], "manifests": {"path": f.path, "render": f.render}}
            )
    connection: dict[str, Any] = {"kubeconfig": kubeconfig}
    if context:
        connection["context"] = context
    lines = [
        "# Proposed by `shiplane import argocd`: review before use; nothing was applied.",
        "# Add each app's images, the order of environments (`after`), and point every",
        "# Application at rendered/<env>/<app> (docs/handoff.md) once Shiplane promotes.",
    ]
    for f in sorted(found, key=lambda f: f.application):
        lines.append(f"# Application {f.application}: {f.repo_url} {f.revision} {f.path}")
    for ref in skipped:
        lines.append(f"# Application {ref}: not proposed (several sources, or a Helm repo chart)")
    if not applications:
        lines.append("# No Application was found.")
    doc = {"clusters": {cluster: connection}, "environments": environments, "apps": apps}
    body = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=1000)
    return "\n".join(lines) + "\n" + body
