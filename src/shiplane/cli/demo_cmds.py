"""`shiplane demo`: Shiplane's main job on its embedded defaults.

For now it brings up the three local clusters the demo project promotes through
(dev, staging, prod) and shows how to reach them.
"""

from __future__ import annotations

import subprocess
import sys

import typer

from shiplane.localcluster import cluster as lc
from shiplane.localcluster.build import BuildError, build_all

DEMO_CLUSTERS = ("dev", "staging", "prod")


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def demo() -> None:
    """Build what is missing, start local clusters dev, staging and prod, show them."""
    try:
        build_all(progress=_progress)
        states = [lc.up(name, nodes=3, progress=_progress) for name in DEMO_CLUSTERS]
    except (BuildError, lc.ClusterError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    kubectl = lc.kubectl_dir() / "kubectl"
    for state in states:
        print(f"\n== cluster {state.name}: {state.server}")
        print(f"kubeconfig: {state.kubeconfig}")
        print(f"$ kubectl --kubeconfig {state.kubeconfig} get nodes")
        out = subprocess.run(
            [str(kubectl), f"--kubeconfig={state.kubeconfig}", "get", "nodes"],
            capture_output=True,
            text=True,
            check=False,
        )
        print(out.stdout + out.stderr, end="")
    print('\nreach a cluster:  eval "$(shiplane localcluster env dev)"; kubectl get nodes')
    print("list clusters:    shiplane localcluster list")
    print(
        "stop them:        " + "; ".join(f"shiplane localcluster down {n}" for n in DEMO_CLUSTERS)
    )


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
