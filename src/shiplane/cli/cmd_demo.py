"""`shiplane demo`: Shiplane's main job on its embedded defaults, end to end.

Three local clusters (dev, staging, prod), a GitOps repository made by `shiplane init`
whose images come from a local OCI registry (cli/demo_registry.py), `shiplane serve` on
embedded SQLite, then the story: CI pushes an image to the registry and makes no API
call; the registry's notification makes Shiplane's image source assemble a release, it
auto-promotes dev -> staging, waits for an approval for prod, is approved and promoted;
CI pushes 1.0.1, which reaches staging by a canary whose analysis step waits for a
metric in a local Prometheus (cli/demo_prometheus.py); a second, broken release fails its
smoke test in staging and is rolled back. The server, the registry and Prometheus are
left running; the demo prints how to continue and how to stop.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from functools import partial
from pathlib import Path

import httpx
import typer

from shiplane.cli import demo_prometheus, demo_registry
from shiplane.cli.client import CliFailure
from shiplane.cli.demo_story import run_story, say, wait
from shiplane.config import ScaffoldError, create_project
from shiplane.localcluster import cluster as lc
from shiplane.localcluster.build import BuildError, build_all
from shiplane.localcluster.paths import kubeconfig_in, shiplane_home
from shiplane.localcluster.registry import (
    REGISTRY_BIN,
    LocalRegistryError,
    registry_binary,
)

DEMO_CLUSTERS = ("dev", "staging", "prod")


def demo_dir() -> Path:
    return shiplane_home() / "demo"


def _pid_file() -> Path:
    return demo_dir() / "server.pid"


def _registry_dir() -> Path:
    return demo_dir() / "registry"


def _prometheus_dir() -> Path:
    return demo_dir() / "prometheus"


def stop_server() -> bool:
    """Stop a demo server left running by an earlier `shiplane demo` (by its PID)."""
    try:
        pid = int(_pid_file().read_text().strip())
    except (OSError, ValueError):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    if b"serve" not in cmdline or str(demo_dir()).encode() not in cmdline:
        return False  # the PID was reused by something else: leave it alone
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists():
        time.sleep(0.1)
    return True


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def _start_server(root: Path, token: str, hook_secret: str) -> str:
    log = root / "server.log"
    shiplane = str(Path(sys.executable).parent / "shiplane")
    env = {
        **os.environ,
        "SHIPLANE_BOOTSTRAP_TOKEN": token,
        demo_registry.HOOK_ENV: hook_secret,  # the registry receiver's secret
    }
    env.pop("SHIPLANE_DATABASE_URL", None)
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [
                shiplane,
                "serve",
                "--repo",
                str(root / "gitops.git"),
                "--data-dir",
                str(root / "data"),
                "--listen",
                "127.0.0.1:0",
                "--health-timeout",
                "120",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    _pid_file().write_text(f"{proc.pid}\n")
    url: str = wait(
        lambda: (m := re.search(r"listening on (http://\S+)", log.read_text())) and m.group(1),
        f"the server (log: {log})",
        60,
        alive=lambda: proc.poll() is None,
    )
    wait(lambda: _ready(url), f"{url}/readyz", 120, alive=lambda: proc.poll() is None)
    return url


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def demo(
    stop: bool = typer.Option(False, "--stop", help="Stop the demo server and its clusters."),
) -> None:
    """Run the whole story on local clusters; leaves the server and registry running."""
    if stop:
        stopped = stop_server()
        registry_stopped = demo_registry.stop(_registry_dir())
        prometheus_stopped = demo_prometheus.stop(_prometheus_dir())
        for name in DEMO_CLUSTERS:
            lc.down(name, progress=say)
        say("demo server stopped" if stopped else "no demo server was running")
        say("demo registry stopped" if registry_stopped else "no demo registry was running")
        say("demo Prometheus stopped" if prometheus_stopped else "no demo Prometheus was running")
        return
    if registry_binary() is None:  # before anything starts: CI's push needs it
        typer.echo(
            f"error: the OCI registry is not installed ({REGISTRY_BIN}): run "
            "`make system-deps-demo` (Debian's docker-registry) or set SHIPLANE_REGISTRY_BIN",
            err=True,
        )
        raise typer.Exit(1)
    if demo_prometheus.prometheus_binary() is None:  # the canary's analysis queries it
        typer.echo(
            "error: Prometheus is not installed (/usr/bin/prometheus): run "
            "`make system-deps-demo` (Debian's prometheus) or set SHIPLANE_PROMETHEUS_BIN",
            err=True,
        )
        raise typer.Exit(1)
    try:
        build_all(progress=say)
        for name in DEMO_CLUSTERS:
            lc.up(name, nodes=2, progress=say)
    except (BuildError, lc.ClusterError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    root = demo_dir()
    if stop_server():
        say("stopped the server of an earlier demo")
    if demo_registry.stop(_registry_dir()):
        say("stopped the registry of an earlier demo")
    if demo_prometheus.stop(_prometheus_dir()):
        say("stopped the Prometheus of an earlier demo")
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    try:
        create_project(root / "shop", partial(kubeconfig_in, str(shiplane_home())))
        prometheus = demo_prometheus.plan_prometheus(_prometheus_dir())
        demo_prometheus.point_project_at(root / "shop", prometheus)
        planned = demo_registry.plan_registry(_registry_dir())
        demo_registry.point_project_at(root / "shop", planned)
    except (ScaffoldError, subprocess.CalledProcessError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    say(f"GitOps repository made by `shiplane init`: {root / 'shop'}")
    say(
        f"its apps' images come from the local registry {planned.image}, watched by image "
        f"source {demo_registry.SOURCE} (shiplane.yaml `sources:` and `receivers:`)"
    )
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(root / "shop"), str(root / "gitops.git")], check=True
    )
    admin_token = "shp_demo_" + secrets.token_urlsafe(24)
    try:
        url = _start_server(root, admin_token, planned.hook_secret)
        say(f"shiplane serve is up at {url} (embedded SQLite in {root / 'data'})")
        registry = demo_registry.start(planned, url)
        say(
            f"OCI registry (docker-registry, TLS + htpasswd) at {registry.url}, PID "
            f"{registry.pid}; its notifications call {url}/api/v1/hooks/{demo_registry.RECEIVER}"
        )
        prometheus_pid = demo_prometheus.start(prometheus, url)
        say(
            f"Prometheus at {prometheus.url}, PID {prometheus_pid}, scrapes {url}/metrics "
            f"every second; staging's canary asks it (check {demo_prometheus.CHECK})"
        )
        tokens, canary_id = run_story(url, admin_token, registry)
    except (
        CliFailure,
        LocalRegistryError,
        demo_prometheus.DemoPrometheusError,
        httpx.HTTPError,
    ) as exc:
        typer.echo(
            f"error: {exc}\nserver log: {root / 'server.log'}\n"
            f"registry log: {_registry_dir() / 'registry.log'}\n"
            f"Prometheus log: {prometheus.log_path}",
            err=True,
        )
        raise typer.Exit(1) from None
    print(
        f"""
The server keeps running (log: {root / "server.log"}), and so do the registry
({registry.url}, log: {registry.log_path}) and Prometheus ({prometheus.url}).
Web UI: {url}/ui/ (sign in with an API token, e.g. alice's below)
Continue with:
  export SHIPLANE_SERVER={url} SHIPLANE_TOKEN={tokens["alice"]}
  shiplane status
  shiplane source list
  shiplane promotion list
  shiplane history staging
  shiplane promotion show {canary_id}     (the canary's steps)
  shiplane diff --envs staging prod
  eval "$(shiplane localcluster env prod)"; kubectl get deploy -A
  (as bob, the approver: SHIPLANE_TOKEN={tokens["bob"]})
Admin token: {admin_token}
Stop everything (server, registry, Prometheus, clusters): shiplane demo --stop
""",
        flush=True,
    )
