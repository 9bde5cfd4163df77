"""Where a pin commit writes an app's rendered objects for a hand-off target. Pure.

An agent (Flux, Argo CD) cannot read a pin, so for an environment with `deploy.via: flux`
or `argocd` the pin commit also carries what Shiplane rendered and dry-ran for each app,
at `rendered/<env>/<app>/manifests.yaml`; the agent's object (a Kustomization, an
Application) applies that directory, or `rendered/<env>` for every app of the environment.
"""

from __future__ import annotations

RENDERED_ROOT = "rendered"
MANIFESTS_FILE = "manifests.yaml"


def rendered_dir(environment: str, app: str) -> str:
    """`rendered/<env>/<app>`: the directory an agent's object applies for one app."""
    return f"{RENDERED_ROOT}/{environment}/{app}"


def manifests_path(environment: str, app: str) -> str:
    """`rendered/<env>/<app>/manifests.yaml`: the file the pin commit writes."""
    return f"{rendered_dir(environment, app)}/{MANIFESTS_FILE}"


def allowed_dirs(environment: str, app: str) -> frozenset[str]:
    """The directories an agent's object may apply for `app`: its own or its environment's."""
    return frozenset({rendered_dir(environment, app), f"{RENDERED_ROOT}/{environment}"})


def normal_path(path: str) -> str:
    """`./rendered//staging/` -> `rendered/staging` (how agents' paths compare)."""
    return "/".join(p for p in path.split("/") if p not in ("", "."))
