"""`shiplane localcluster`: real local control planes built from upstream Go modules."""

from __future__ import annotations

import subprocess
import sys
import time

import typer

from shiplane.cli.groups import command_group
from shiplane.cli.output import OutputFormat, render
from shiplane.localcluster import addons
from shiplane.localcluster import cluster as lc
from shiplane.localcluster.build import BuildError, build_all, component_dir
from shiplane.localcluster.components import COMPONENTS, component, optional_components

localcluster = command_group(
    "localcluster",
    "Local Kubernetes control planes (etcd, kube-apiserver, controller-manager, "
    "scheduler, kwok fake nodes) on 127.0.0.1, no Docker needed.",
)


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


@localcluster.command("build")
def build_cmd(
    with_: list[str] = typer.Option(
        [],
        "--with",
        metavar="COMPONENT",
        help="Also build an optional component: `gitea` (a forge and OpenID Connect "
        "provider the test suite runs), `flux` (Flux's source-controller and "
        "kustomize-controller, with their CRDs, for the tests of the `flux` deploy target) "
        "or `argocd` (Argo CD's repo server and application controller, with its CRDs, for "
        "the tests of the `argocd` deploy target); `make test` asks for all three. Repeatable.",
    ),
) -> None:
    """Build kube-apiserver, controller-manager, scheduler, kubectl, etcd, kwok, helm and
    kustomize (and with `--with gitea`, Gitea; with `--with flux`, Flux's source-controller
    and kustomize-controller; with `--with argocd`, Argo CD), and take the Gateway API
    CRDs, from Go modules into the binary cache (skips what is cached)."""
    started = time.monotonic()
    try:
        extra = tuple(dict.fromkeys(c for name in with_ for c in optional_components(name)))
    except KeyError as exc:
        raise _fail(str(exc.args[0])) from None
    try:
        results = build_all((*COMPONENTS, *extra), progress=_progress)
    except BuildError as exc:
        raise _fail(str(exc)) from None
    built = [r.component.key for r in results if not r.cached]
    summary = f"built {', '.join(built)}" if built else "everything cached"
    _progress(f"done in {time.monotonic() - started:.1f}s: {summary}")
    for r in results:
        print(r.directory)


@localcluster.command("up")
def up_cmd(
    name: str = typer.Argument(..., help="Cluster name, e.g. dev."),
    nodes: int = typer.Option(3, "--nodes", help="Number of fake (kwok) nodes."),
    apiserver_port: int = typer.Option(
        0, "--apiserver-port", help="Port for kube-apiserver on 127.0.0.1 (default: a free one)."
    ),
    timeout: float = typer.Option(90.0, "--timeout", help="Seconds to wait for readiness."),
    with_addons: list[str] = typer.Option(
        [],
        "--with",
        metavar="ADDON",
        help=f"Install an add-on once the cluster is up (repeatable): {', '.join(addons.ADDONS)}.",
    ),
) -> None:
    """Start a cluster and wait until its nodes are Ready (and its add-ons are served).

    On a running cluster, only installs the add-ons asked for."""
    try:
        wanted = addons.resolve(with_addons)  # an unknown name fails before anything starts
        state = lc.up(
            name,
            nodes=nodes,
            apiserver_port=apiserver_port or None,
            timeout=timeout,
            progress=_progress,
        )
        addons.install(state, wanted, timeout=timeout, progress=_progress)
    except lc.ClusterError as exc:
        raise _fail(str(exc)) from None
    print(f"kubeconfig: {state.kubeconfig}")
    print(f'use it:     eval "$(shiplane localcluster env {name})"; kubectl get nodes')
    print(f"stop it:    shiplane localcluster down {name}")


@localcluster.command("down")
def down_cmd(name: str = typer.Argument(..., help="Cluster name.")) -> None:
    """Stop a cluster's processes and remove its data."""
    try:
        lc.down(name, progress=_progress)
    except lc.ClusterError as exc:
        raise _fail(str(exc)) from None


@localcluster.command("list")
def list_cmd(
    output: OutputFormat = typer.Option(OutputFormat.table, "-o", "--output"),
) -> None:
    """List local clusters with their status and API server."""
    try:
        states = lc.list_clusters()
    except lc.ClusterError as exc:
        raise _fail(str(exc)) from None
    rows = [s.to_json() for s in states]
    columns = [
        ("name", "NAME"),
        ("status", "STATUS"),
        ("nodes", "NODES"),
        ("server", "SERVER"),
        ("kubeconfig", "KUBECONFIG"),
    ]
    render(rows, columns, output)


@localcluster.command("kubeconfig")
def kubeconfig_cmd(name: str = typer.Argument(..., help="Cluster name.")) -> None:
    """Print the path of a cluster's kubeconfig (admin credential)."""
    state = lc.load_state(name)
    if state is None:
        raise _fail(
            f"no local cluster named {name!r}; start it with `shiplane localcluster up {name}`"
        )
    print(state.kubeconfig)


@localcluster.command("env")
def env_cmd(name: str = typer.Argument(..., help="Cluster name.")) -> None:
    """Print shell exports (KUBECONFIG and a PATH with the cached kubectl)."""
    try:
        print(lc.env_exports(name), end="")
    except lc.ClusterError as exc:
        raise _fail(str(exc)) from None


@localcluster.command(
    "kubectl", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}
)
def kubectl_cmd(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="Cluster name."),
) -> None:
    """Run the cached kubectl against a cluster: `shiplane localcluster kubectl dev get pods`."""
    state = lc.load_state(name)
    if state is None:
        raise _fail(f"no local cluster named {name!r}")
    kubectl = component_dir(component("kubernetes")) / "kubectl"
    proc = subprocess.run(
        [str(kubectl), f"--kubeconfig={state.kubeconfig}", *ctx.args], check=False
    )
    raise typer.Exit(proc.returncode)
