"""`shiplane import flux`: propose the environments and apps of `shiplane.yaml` from the
Kustomizations and GitRepositories of a cluster. Pure: the objects in, a document out;
nothing is applied (the command prints it for review).

One environment per environment name found in a Kustomization's `spec.path`
(`envs/<env>/...`, `clusters/<env>/...`, `environments/<env>/...`, `.../overlays/<env>`),
else its target namespace; one app per Kustomization (the last path segment, else its
name). Each environment's `deploy.flux` names the GitRepository and, per app, the
Kustomization that applies it today; the app's `manifests.path` is that path, to be
checked by a person (images are left for them to fill in).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from shiplane.targets.import_paths import place_path


@dataclass(frozen=True)
class FoundApp:
    environment: str
    app: str
    namespace: str
    kustomization: str
    git_repository: str
    path: str


def _ref(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def place(kustomization: Mapping[str, Any]) -> FoundApp | None:
    """Where one Kustomization belongs (None: it does not read a GitRepository)."""
    meta = kustomization.get("metadata") or {}
    spec = kustomization.get("spec") or {}
    source = spec.get("sourceRef") or {}
    if source.get("kind") != "GitRepository":
        return None
    namespace = str(meta.get("namespace", ""))
    git_repository = f"{source.get('namespace') or namespace}/{source.get('name', '')}"
    target_ns = str(spec.get("targetNamespace") or "")
    where = place_path(
        str(spec.get("path") or "./"),
        fallback_environment=target_ns or namespace,
        name=str(meta.get("name", "")),
    )
    return FoundApp(
        environment=where.environment,
        app=where.app,
        namespace=target_ns or where.environment,
        kustomization=_ref(kustomization),
        git_repository=git_repository,
        path=where.path,
    )


def propose(
    kustomizations: Sequence[Mapping[str, Any]],
    git_repositories: Sequence[Mapping[str, Any]],
    *,
    cluster: str,
    kubeconfig: str,
    context: str | None,
) -> str:
    """The proposed `shiplane.yaml` sections, as YAML text with a review header."""
    found = [f for k in kustomizations if (f := place(k)) is not None]
    sources = {_ref(r): (r.get("spec") or {}) for r in git_repositories}
    environments: dict[str, Any] = {}
    apps: dict[str, Any] = {}
    for env in sorted({f.environment for f in found}):
        mine = sorted((f for f in found if f.environment == env), key=lambda f: f.app)
        repository = mine[0].git_repository
        flux: dict[str, Any] = {"gitRepository": repository}
        owners: dict[str, Any] = {}
        for f in mine:
            owner: dict[str, Any] = {"kustomization": f.kustomization}
            if f.git_repository != repository:
                owner["gitRepository"] = f.git_repository
            owners[f.app] = owner
        flux["apps"] = owners
        environments[env] = {
            "cluster": cluster,
            "namespace": mine[0].namespace,
            "deploy": {"via": "flux", "flux": flux},
        }
        for f in mine:
            apps.setdefault(
                f.app, {"images": [], "manifests": {"path": f.path, "render": "kustomize"}}
            )
    connection: dict[str, Any] = {"kubeconfig": kubeconfig}
    if context:
        connection["context"] = context
    lines = [
        "# Proposed by `shiplane import flux`: review before use; nothing was applied.",
        "# Add each app's images, the order of environments (`after`), and point every",
        "# Kustomization at ./rendered/<env>/<app> (docs/handoff.md) once Shiplane promotes.",
    ]
    for ref, spec in sorted(sources.items()):
        branch = (spec.get("ref") or {}).get("branch", "")
        lines.append(f"# GitRepository {ref}: {spec.get('url', '')} {branch}".rstrip())
    if not found:
        lines.append("# No Kustomization that reads a GitRepository was found.")
    doc = {"clusters": {cluster: connection}, "environments": environments, "apps": apps}
    body = yaml.safe_dump(doc, sort_keys=False, default_flow_style=False, width=1000)
    return "\n".join(lines) + "\n" + body
