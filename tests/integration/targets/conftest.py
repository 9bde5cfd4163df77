"""Flux objects for the `flux` deploy target's tests: a GitRepository that clones the
GitOps repository over smart HTTP from the loopback git server, and Kustomizations that
apply Shiplane's rendered directories. Flux itself is the session's (tests.support.flux)."""

from __future__ import annotations

from typing import Any

from lightkube import Client

# Flux never reconciles on its own during a test: only Shiplane's request can explain a
# new revision being applied.
INTERVAL = "10m"


def create_flux_objects(
    kube: Client,
    namespace: str,
    url: str,
    path: str,
    *,
    name: str = "shop",
    health_checks: list[dict[str, Any]] | None = None,
    timeout: str = "60s",
) -> None:
    """A GitRepository `namespace/gitops` of `url` (branch main) and a Kustomization
    `namespace/name` applying `path` of it, waiting for what it applies to be healthy."""
    from tests.support.flux import GitRepository, Kustomization  # only where Flux runs

    kube.create(
        GitRepository(
            metadata={"name": "gitops", "namespace": namespace},
            spec={"url": url, "ref": {"branch": "main"}, "interval": INTERVAL, "timeout": "30s"},
        )
    )
    spec: dict[str, Any] = {
        "sourceRef": {"kind": "GitRepository", "name": "gitops"},
        "path": path,
        "prune": True,
        "wait": health_checks is None,  # Ready only once what it applied is healthy
        "interval": INTERVAL,
        "timeout": timeout,
    }
    if health_checks is not None:
        spec["healthChecks"] = health_checks
    kube.create(Kustomization(metadata={"name": name, "namespace": namespace}, spec=spec))
