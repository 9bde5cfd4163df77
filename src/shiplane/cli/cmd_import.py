"""`shiplane import flux|argocd`: propose shiplane.yaml's environments and apps from the
GitOps agent already running in a cluster (printed for review, never applied)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Annotated, Any

import typer

from shiplane.cli.groups import command_group
from shiplane.kube.connection import connect
from shiplane.targets import argocd_import, argocd_objects, flux_objects
from shiplane.targets.base import TargetUnavailableError
from shiplane.targets.flux_import import propose

import_app = command_group(
    "import", "Propose shiplane.yaml from an existing Flux or Argo CD (printed, never applied)."
)

KubeconfigOption = Annotated[
    Path,
    typer.Option("--kubeconfig", metavar="FILE", help="The cluster's kubeconfig file."),
]
ContextOption = Annotated[
    str | None,
    typer.Option(
        "--kube-context", metavar="NAME", help="Context in the kubeconfig (default: current)."
    ),
]
ClusterOption = Annotated[
    str,
    typer.Option("--cluster", metavar="NAME", help="The cluster's name in the proposal."),
]


@import_app.command("flux")
def flux(
    kubeconfig: KubeconfigOption = Path("~/.kube/config"),
    context: ContextOption = None,
    cluster: ClusterOption = "default",
) -> None:
    """Read the cluster's Flux Kustomizations and GitRepositories; print a proposal."""
    _print_proposal(_flux(kubeconfig, context, cluster))


async def _flux(kubeconfig: Path, context: str | None, cluster: str) -> str:
    client = connect(kubeconfig, context)
    try:
        kustomizations = await flux_objects.list_all(client, flux_objects.KUSTOMIZATION)
        repositories = await flux_objects.list_all(client, flux_objects.GIT_REPOSITORY)
    finally:
        await client.close()
    return propose(
        kustomizations, repositories, cluster=cluster, kubeconfig=str(kubeconfig), context=context
    )


@import_app.command("argocd")
def argocd(
    kubeconfig: KubeconfigOption = Path("~/.kube/config"),
    context: ContextOption = None,
    cluster: ClusterOption = "default",
) -> None:
    """Read the cluster's Argo CD Applications; print a proposal."""
    _print_proposal(_argocd(kubeconfig, context, cluster))


def _print_proposal(reading: Coroutine[Any, Any, str]) -> None:
    """Print what `reading` proposes; a cluster that cannot be read is exit code 1."""
    try:
        text = asyncio.run(reading)
    except (ValueError, OSError, TargetUnavailableError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(text, nl=False)


async def _argocd(kubeconfig: Path, context: str | None, cluster: str) -> str:
    client = connect(kubeconfig, context)
    try:
        applications = await argocd_objects.list_all(client)
    finally:
        await client.close()
    return argocd_import.propose(
        applications, cluster=cluster, kubeconfig=str(kubeconfig), context=context
    )
