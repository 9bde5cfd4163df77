"""Do the objects each hand-off environment names exist in its cluster? What
`shiplane validate` and `shiplane serve` ask before anything is promoted (a missing
Kustomization should be a located error now, not a promotion that times out later)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lightkube import AsyncClient

from shiplane.config.models import ProjectConfig
from shiplane.domain.clock import SystemClock
from shiplane.kube.connection import connect
from shiplane.targets.base import TargetContext, TargetUnavailableError
from shiplane.targets.registry import TARGETS


@dataclass(frozen=True)
class TargetProblem:
    """A problem with an environment's `deploy` section, at its path in shiplane.yaml."""

    path: tuple[str | int, ...]
    message: str


Connect = Callable[[str], AsyncClient]
"""cluster name -> a client of it."""


def project_clients(project: ProjectConfig, base_dir: Path) -> Connect:
    """Clients of the project's clusters, as `clusters` defines them."""

    def one(name: str) -> AsyncClient:
        config = project.clusters[name]
        return connect(
            config.kubeconfig_path(base_dir), config.context, in_cluster=config.in_cluster
        )

    return one


async def _never_contained(commit: str, later: str) -> bool:
    return commit == later


async def check_targets(
    project: ProjectConfig, clients: Connect, *, close: bool = True
) -> list[TargetProblem]:
    """Every problem of every hand-off environment's objects, for every app. `close`: the
    clients are this call's own (False: a pool's, which stay open)."""
    problems: list[TargetProblem] = []
    opened: dict[str, AsyncClient] = {}
    try:
        for env_name, env in project.environments.items():
            if not env.deploy.hands_off:
                continue
            via = env.deploy.via
            path: tuple[str | int, ...] = ("environments", env_name, "deploy", via)
            target = TARGETS.get(via).plugin
            try:
                client = opened.get(env.cluster) or clients(env.cluster)
            except (ValueError, OSError) as exc:
                problems.append(TargetProblem(path, f"cannot connect to {env.cluster!r}: {exc}"))
                continue
            opened[env.cluster] = client
            ctx = TargetContext(
                environment=env_name,
                namespace=env.namespace,
                config=env.deploy.spec,
                client=client,
                clock=SystemClock(),
                contains=_never_contained,
            )
            seen: set[str] = set()
            for app in project.apps:
                try:
                    found = await target.check(ctx, app)
                except TargetUnavailableError as exc:
                    found = [str(exc)]
                for message in found:
                    if message not in seen:  # one object shared by apps: said once
                        seen.add(message)
                        problems.append(TargetProblem(path, message))
    finally:
        for client in opened.values() if close else ():
            await client.close()
    return problems
