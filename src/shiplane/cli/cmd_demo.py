"""`shiplane demo`: Shiplane's main job on its embedded defaults, end to end.

Three local clusters (dev, staging, prod), a GitOps repository made by `shiplane init`
whose images come from a local OCI registry (cli/demo_registry.py), `shiplane serve` on
embedded SQLite, then the story: CI pushes an image to the registry and makes no API
call; the registry's notification makes Shiplane's image source assemble a release, it
auto-promotes dev -> staging, waits for an approval for prod, is approved and promoted;
a second, broken release fails its smoke test in staging and is rolled back. The server
and the registry are left running; the demo prints how to continue and how to stop.
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
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import typer

from shiplane.cli import demo_registry
from shiplane.cli.client import ApiClient, CliFailure, Credentials
from shiplane.cli.cmd_status import matrix_table
from shiplane.cli.output import stdout_console
from shiplane.config import ScaffoldError, create_project
from shiplane.localcluster import cluster as lc
from shiplane.localcluster.build import BuildError, build_all
from shiplane.localcluster.paths import kubeconfig_in, shiplane_home
from shiplane.localcluster.registry import (
    REGISTRY_BIN,
    LocalRegistry,
    LocalRegistryError,
    registry_binary,
)

DEMO_CLUSTERS = ("dev", "staging", "prod")
FINISHED = {"Succeeded", "Failed", "Aborted", "Superseded", "RolledBack"}
STEP_TIMEOUT = 240.0
GOOD_TAG = "1.0.0"  # CI pushes it to the local registry
# Never pushed: created through the API, it stays a tag (`releases.digests: prefer` marks
# it unresolved), and on local clusters an image tag ending in -fail fails its smoke test.
BROKEN_TAG = "1.1.0-fail"


def _say(line: str) -> None:
    stamp = time.strftime("%H:%M:%S")
    print(f"[{stamp}] {line}", flush=True)


def demo_dir() -> Path:
    return shiplane_home() / "demo"


def _pid_file() -> Path:
    return demo_dir() / "server.pid"


def _registry_dir() -> Path:
    return demo_dir() / "registry"


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
    url: str = _wait(
        lambda: (m := re.search(r"listening on (http://\S+)", log.read_text())) and m.group(1),
        f"the server (log: {log})",
        60,
        alive=lambda: proc.poll() is None,
    )
    _wait(lambda: _ready(url), f"{url}/readyz", 120, alive=lambda: proc.poll() is None)
    return url


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/readyz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def _wait(
    check: Callable[[], Any],
    what: str,
    timeout: float = STEP_TIMEOUT,
    alive: Callable[[], bool] | None = None,
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if alive is not None and not alive():
            raise CliFailure(f"gave up waiting for {what}: the process exited")
        if time.monotonic() > deadline:
            raise CliFailure(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.5)


def _promotion(api: ApiClient, environment: str, release: str) -> dict[str, Any] | None:
    page = api.get("/promotions", {"environment": environment, "release": release})
    items: list[dict[str, Any]] = page["items"]
    normal = [p for p in items if p["kind"] == "normal"]
    return normal[0] if normal else None


def _until(api: ApiClient, environment: str, release: str, states: set[str]) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        found = _promotion(api, environment, release)
        if found and found["state"] not in states and found["state"] in FINISHED:
            raise CliFailure(
                f"the promotion into {environment} ended {found['state']}: {found['reason']}"
            )
        return found if found and found["state"] in states else None

    result: dict[str, Any] = _wait(check, f"{environment} to reach {'/'.join(sorted(states))}")
    return result


def _status(api: ApiClient, title: str) -> None:
    print(f"\n== shiplane status: {title}", flush=True)
    stdout_console().print(matrix_table(api.get("/matrix")))


def _assembled(api: ApiClient) -> dict[str, Any] | None:
    """The newest release the demo's image source assembled, if any."""
    items: list[dict[str, Any]] = api.get("/releases")["items"]
    creator = f"source/{demo_registry.SOURCE}"
    return next((r for r in items if r["creator"] == creator), None)


def _push_and_arrive(admin: ApiClient, registry: LocalRegistry) -> dict[str, Any]:
    """CI pushes; the registry notifies Shiplane; the release arrives in dev. The demo
    only watches (as admin): CI makes no Shiplane API call."""
    repository = demo_registry.REPOSITORY
    _say(
        f"CI pushes {registry.host}/{repository}:{GOOD_TAG} to the local registry "
        "(blobs and manifest, the registry's HTTP API) and makes no Shiplane API call"
    )
    started = time.monotonic()
    digest = registry.push_image(repository, GOOD_TAG)
    pushed_at = time.monotonic()
    _say(f"pushed in {pushed_at - started:.1f}s: {digest}")
    release: dict[str, Any] = _wait(lambda: _assembled(admin), "the release of the pushed image")
    took = time.monotonic() - pushed_at
    hooks = admin.get("/audit", {"action": "hook.received"})["items"]
    matched = next((e["details"]["matched"] for e in hooks if e["details"].get("matched")), "?")
    _say(
        f"the registry notified Shiplane (POST /api/v1/hooks/{demo_registry.RECEIVER}, "
        f"matched sources {matched}); source {demo_registry.SOURCE} "
        f"found {GOOD_TAG} and assembled release {release['alias']} "
        f"within {took:.1f}s of the push"
    )
    for artifact in release["artifacts"]:
        print(f"    {artifact['app']} = {artifact['ref']}", flush=True)
    _say("it auto-promotes to dev ...")
    _until(admin, "dev", release["id"], {"Succeeded"})
    arrived = time.monotonic() - pushed_at
    _say(f"... release {release['alias']} arrived in dev {arrived:.1f}s after the push")
    return release


def _run_story(url: str, admin_token: str, registry: LocalRegistry) -> dict[str, str]:
    admin = ApiClient(Credentials(url, admin_token))
    tokens = {}
    # alice and bob are both release managers; alice requests, so only bob may approve.
    for name, role, groups in (
        ("ci", "promoter", []),
        ("alice", "approver", ["release-managers"]),
        ("bob", "approver", ["release-managers"]),
    ):
        created = admin.request(
            "POST", "/tokens", json={"role": role, "name": name, "groups": groups}
        )
        tokens[name] = created["token"]
    ci = ApiClient(Credentials(url, tokens["ci"]), timeout=60)
    alice = ApiClient(Credentials(url, tokens["alice"]), timeout=60)
    bob = ApiClient(Credentials(url, tokens["bob"]), timeout=60)

    good = _push_and_arrive(admin, registry)
    _say("verified in dev, it auto-promotes to staging, where its smoke test Job runs")
    _until(admin, "staging", good["id"], {"Succeeded"})
    _status(admin, f"{good['alias']} ({GOOD_TAG}) in dev and staging")

    _say(
        f"alice asks for prod with {good['alias']}: "
        "it waits for 20s of soak in staging and an approval"
    )
    prod = alice.request(
        "POST",
        "/promotions",
        json={"release": good["id"], "environment": "prod", "reason": "weekly release"},
    )
    _wait(
        lambda: admin.get(f"/promotions/{prod['id']}")["promotion"]["state"] == "Waiting",
        "the prod promotion to wait for its gates",
    )
    explain = admin.get(f"/promotions/{prod['id']}/explain")["text"]
    print(f"\n$ shiplane promotion explain {prod['id']}\n{explain}\n", flush=True)
    try:
        alice.request("POST", f"/promotions/{prod['id']}/approve")
    except CliFailure as refused:
        _say(f"alice tries to approve her own request: refused ({refused})")
    _say("bob (release-managers) approves")
    bob.request("POST", f"/promotions/{prod['id']}/approve", json={"comment": "looks good"})
    waiting = admin.get(f"/promotions/{prod['id']}")["promotion"]
    if waiting["state"] == "Waiting":  # the soak is not over yet: prod waits it out
        _say(f"approved; prod still waits: {waiting['reason']}")
    _until(admin, "prod", good["id"], {"Succeeded"})
    _status(admin, f"{good['alias']} ({GOOD_TAG}) everywhere")

    broken = f"{registry.host}/{demo_registry.REPOSITORY}:{BROKEN_TAG}"
    _say(
        f"CI creates release 1.1.0 the old way, through the API, with {broken}: a tag it "
        "never pushed, so it is recorded unresolved (no digest; releases.digests: prefer); "
        "its smoke test will fail"
    )
    bad = ci.request(
        "POST",
        "/releases",
        json={
            "artifacts": {"web": broken, "api": broken},
            "alias": "1.1.0",
            "labels": {"branch": "main"},
        },
    )
    if any(a.get("unresolved") for a in bad["artifacts"]):
        _say("1.1.0's artifacts are marked unresolved (the release page and the CLI say so)")
    _until(admin, "dev", bad["id"], {"Succeeded"})
    _say("1.1.0 is healthy in dev; in staging its smoke test fails ...")
    failed = _until(admin, "staging", bad["id"], {"RolledBack", "Failed"})
    _say(f"... staging promotion {failed['id']}: {failed['state']} ({failed['reason']})")
    _status(admin, "1.1.0 rolled back in staging (held there until someone lifts the hold)")
    source = admin.get(f"/sources/{demo_registry.SOURCE}")
    print(
        f"\n$ shiplane source show {demo_registry.SOURCE}\n"
        f"{source['kind']} {source['watches']}: {'healthy' if source['healthy'] else 'unhealthy'}, "
        f"found {source['version']} {source['digest']}, next poll {source['next_poll_at']}, "
        f"last release {source['last_release']}\n",
        flush=True,
    )
    return tokens


def demo(
    stop: bool = typer.Option(False, "--stop", help="Stop the demo server and its clusters."),
) -> None:
    """Run the whole story on local clusters; leaves the server and registry running."""
    if stop:
        stopped = stop_server()
        registry_stopped = demo_registry.stop(_registry_dir())
        for name in DEMO_CLUSTERS:
            lc.down(name, progress=_say)
        _say("demo server stopped" if stopped else "no demo server was running")
        _say("demo registry stopped" if registry_stopped else "no demo registry was running")
        return
    if registry_binary() is None:  # before anything starts: CI's push needs it
        typer.echo(
            f"error: the OCI registry is not installed ({REGISTRY_BIN}): run "
            "`make system-deps-demo` (Debian's docker-registry) or set SHIPLANE_REGISTRY_BIN",
            err=True,
        )
        raise typer.Exit(1)
    try:
        build_all(progress=_say)
        for name in DEMO_CLUSTERS:
            lc.up(name, nodes=2, progress=_say)
    except (BuildError, lc.ClusterError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    root = demo_dir()
    if stop_server():
        _say("stopped the server of an earlier demo")
    if demo_registry.stop(_registry_dir()):
        _say("stopped the registry of an earlier demo")
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    try:
        create_project(root / "shop", partial(kubeconfig_in, str(shiplane_home())))
        planned = demo_registry.plan_registry(_registry_dir())
        demo_registry.point_project_at(root / "shop", planned)
    except (ScaffoldError, subprocess.CalledProcessError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    _say(f"GitOps repository made by `shiplane init`: {root / 'shop'}")
    _say(
        f"its apps' images come from the local registry {planned.image}, watched by image "
        f"source {demo_registry.SOURCE} (shiplane.yaml `sources:` and `receivers:`)"
    )
    subprocess.run(
        ["git", "clone", "-q", "--bare", str(root / "shop"), str(root / "gitops.git")], check=True
    )
    admin_token = "shp_demo_" + secrets.token_urlsafe(24)
    try:
        url = _start_server(root, admin_token, planned.hook_secret)
        _say(f"shiplane serve is up at {url} (embedded SQLite in {root / 'data'})")
        registry = demo_registry.start(planned, url)
        _say(
            f"OCI registry (docker-registry, TLS + htpasswd) at {registry.url}, PID "
            f"{registry.pid}; its notifications call {url}/api/v1/hooks/{demo_registry.RECEIVER}"
        )
        tokens = _run_story(url, admin_token, registry)
    except (CliFailure, LocalRegistryError, httpx.HTTPError) as exc:
        typer.echo(
            f"error: {exc}\nserver log: {root / 'server.log'}\n"
            f"registry log: {_registry_dir() / 'registry.log'}",
            err=True,
        )
        raise typer.Exit(1) from None
    print(
        f"""
The server keeps running (log: {root / "server.log"}), and so does the registry
({registry.url}, log: {registry.log_path}).
Web UI: {url}/ui/ (sign in with an API token, e.g. alice's below)
Continue with:
  export SHIPLANE_SERVER={url} SHIPLANE_TOKEN={tokens["alice"]}
  shiplane status
  shiplane source list
  shiplane promotion list
  shiplane history staging
  shiplane diff --envs staging prod
  eval "$(shiplane localcluster env prod)"; kubectl get deploy -A
  (as bob, the approver: SHIPLANE_TOKEN={tokens["bob"]})
Admin token: {admin_token}
Stop everything (server, registry, clusters): shiplane demo --stop
""",
        flush=True,
    )
