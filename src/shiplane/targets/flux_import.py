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

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

_ENV_DIRS = ("envs", "environments", "clusters")
_NAME = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True)
class FoundApp:
    environment: str
    app: str
    namespace: str
    kustomization: str
    git_repository: str
    path: str


def _name(text: str) -> str:
    return _NAME.sub("-", text.lower()).strip("-")[:63] or "app"


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
    path = str(spec.get("path") or "./")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    environment = None
    app = None
    for i, part in enumerate(parts):
        if part in _ENV_DIRS and i + 1 < len(parts):
            environment = parts[i + 1]
            app = parts[i + 2] if i + 2 < len(parts) else None
            break
        if part == "overlays" and i + 1 < len(parts):
            environment = parts[i + 1]
            app = parts[i - 1] if i > 0 else None
            break
    target_ns = str(spec.get("targetNamespace") or "")
    environment = environment or target_ns or namespace
    name = str(meta.get("name", ""))
    if app is None:
        app = parts[-1] if parts and parts[-1] != environment else name
        for affix in (f"-{environment}", f"{environment}-"):
            app = app.removesuffix(affix) if affix.startswith("-") else app.removeprefix(affix)
    return FoundApp(
        environment=_name(environment),
        app=_name(app),
        namespace=target_ns or _name(environment),
        kustomization=_ref(kustomization),
        git_repository=git_repository,
        path="/".join(parts) or ".",
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
