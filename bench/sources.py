"""Benchmark: from a push to dev, and the cost of a scan (issue 14).

A real OCI registry (Debian's `docker-registry`, TLS with a throwaway CA, htpasswd auth,
127.0.0.1, as tests/support/oci_registry.py starts it), real `shiplane serve` processes
(SQLite) and a local cluster, all started here and stopped by PID at the end, also on
failure:

  push -> dev   --pushes images pushed one at a time (a new tag each) into a project
                whose dev environment auto-promotes; each timed from the moment the
                manifest PUT returns to (a) the release existing (GET /api/v1/releases,
                polled every 50 ms) and (b) the Deployment in dev carrying the new digest
                (read from the cluster every 50 ms). Each push is awaited until its
                promotion Succeeded before the next one.
                  notification: the registry's `notifications` endpoint calls the
                    `distribution` receiver; the source's interval is 1h, so only the
                    hook brings the release (as the integration test
                    test_the_registry_notification_brings_the_release_within_seconds)
                  polling 10s:  the same flow, no receiver, interval 10s (measured)
                  Kargo's 5 min floor: computed, not waited for: half the interval on
                    average + the measured assembly-and-deploy time (release -> applied)
  scan          --repos repositories x --tags tags (small images sharing their blobs),
                one image source each (interval 1h, `assemble: changed`); the registry's
                access log counts the requests of a full refresh of every source through
                the API (POST /api/v1/sources/{name}/refresh, 8 at a time): first with
                nothing new, then after a new tag in --changed repositories. Wall time of
                each refresh. Goal: one tag-list page per repository plus one HEAD per
                changed selection.

    .venv/bin/python bench/sources.py [--pushes 10] [--repos 100] [--tags 50] [--changed 10]
    .venv/bin/python bench/sources.py --only push      # or --only scan

Goal (issue 14): push -> dev p50 <= 2 s with the notification.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import hashlib
import json
import os
import re
import sys
import tempfile
import textwrap
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.oci_registry import (  # noqa: E402
    OCI_MANIFEST,
    PASSWORD,
    USER,
    OciRegistry,
    free_port,
    make_ca,
    start_registry,
    stop_registry,
)
from tests.support.serverproc import ServerProcess, running_server  # noqa: E402

from harness import Report, git, local_cluster, quantile, say  # noqa: E402

CLUSTER = "bench-sources"
GOAL_S = 2.0
KARGO_FLOOR_S = 300.0
POLL_S = 10.0
TICK = 0.05
SECRET_ENV = "SHIPLANE_BENCH_HOOK_REGISTRY"
PARTS = ("push", "scan")


# --- the GitOps repository ----------------------------------------------------------------


def deployment(name: str, image: str) -> str:
    return textwrap.dedent(f"""\
        apiVersion: apps/v1
        kind: Deployment
        metadata: {{name: {name}}}
        spec:
          replicas: 1
          selector: {{matchLabels: {{app: {name}}}}}
          template:
            metadata: {{labels: {{app: {name}}}}}
            spec:
              containers:
              - {{name: main, image: {image}:0.0.0}}
        """)


def bare_repo(root: Path, files: dict[str, str]) -> Path:
    bare, work = root / "gitops.git", root / "checkout"
    git(root, "init", "-q", "--bare", "-b", "main", str(bare))
    git(root, "clone", "-q", str(bare), str(work))
    for rel, content in files.items():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        (work / rel).write_text(content)
    git(work, "checkout", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "bench: sources")
    git(work, "push", "-q", "origin", "main")
    return bare


def credentials(root: Path) -> Path:
    creds = root / "registry-auth"
    creds.write_text(f"{USER}:{PASSWORD}\n")
    return creds


def push_project(root: Path, host: str, ca: Path, kubeconfig: Path, namespace: str,
                 interval: str, receivers: str) -> Path:  # fmt: skip
    image = f"{host}/bench/web"
    yaml_text = textwrap.dedent(f"""\
        apiVersion: shiplane/v1alpha1
        project: bench-sources
        clusters: {{local: {{kubeconfig: {kubeconfig}}}}}
        environments: {{dev: {{cluster: local, namespace: {namespace}, autoPromote: true}}}}
        apps: {{web: {{images: [{image}], manifests: {{path: apps/web}}}}}}
        sources:
          web:
            image: {{repository: {image}, credentials: {{file: {credentials(root)}}},
                     caFile: {ca}}}
            apps: [web]
            interval: {interval}
        """)
    return bare_repo(root, {"shiplane.yaml": yaml_text + receivers,
                            "apps/web/app.yaml": deployment("web", image)})  # fmt: skip


# --- the registry -------------------------------------------------------------------------


@contextlib.contextmanager
def registry_at(root: Path, port: int, notifications: str = "") -> Iterator[OciRegistry]:
    # bcrypt cost 4 (the minimum) instead of crypt's default 12: the registry checks the
    # password on every request, ~250 ms at cost 12 on this machine, which a registry with
    # bearer tokens (checked once) would not pay; the flow is otherwise the tests'.
    root.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt

        salt = crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=16)
        (root / "htpasswd-cost4").write_text(f"{USER}:{crypt.crypt(PASSWORD, salt)}\n")
    auth = f"auth: {{htpasswd: {{realm: shiplane-bench, path: {root / 'htpasswd-cost4'}}}}}\n"
    registry = start_registry(root, port=port, auth=auth, notifications=notifications)
    say(f"registry on {registry.host} (PID {registry.pid})")
    try:
        yield registry
    finally:
        stop_registry(registry)  # by its PID


_ACCESS = re.compile(r'"(GET|HEAD|PUT|POST|DELETE|PATCH) (\S+) HTTP/[\d.]+" (\d{3}) ')


def access_log(registry: OciRegistry, since: int) -> list[tuple[str, str, int]]:
    """(method, path, status) of each request the registry logged after byte `since`."""
    text = registry.log_path.read_bytes()[since:].decode(errors="replace")
    return [(m, p, int(s)) for m, p, s in _ACCESS.findall(text)]


def kind_of(method: str, path: str) -> str:
    if "/tags/list" in path:
        return "tag list"
    if "/manifests/" in path:
        return f"{method} manifest"
    if "/blobs/" in path:
        return f"{method} blob"
    return f"{method} {path.split('?')[0]}"


class Pusher:
    """Pushes small images over one keep-alive client (basic auth sent up front): the
    config and layer blobs once per repository, then one manifest per tag (each
    manifest distinct through an annotation, so each tag has its own digest)."""

    def __init__(self, registry: OciRegistry) -> None:
        self.http = httpx.Client(
            base_url=registry.url, auth=(USER, PASSWORD), verify=str(registry.ca_file),
            timeout=30,
        )  # fmt: skip
        self.blobs: dict[str, dict[str, Any]] = {}

    def close(self) -> None:
        self.http.close()

    def _blob(self, repository: str, data: bytes) -> str:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        start = self.http.post(f"/v2/{repository}/blobs/uploads/")
        assert start.status_code == 202, start.text
        location = start.headers["location"]
        joiner = "&" if "?" in location else "?"
        done = self.http.put(f"{location}{joiner}digest={digest}", content=data,
                             headers={"Content-Type": "application/octet-stream"})  # fmt: skip
        assert done.status_code == 201, done.text
        return digest

    def push(self, repository: str, tag: str) -> str:
        if repository not in self.blobs:
            rootfs = {"type": "layers", "diff_ids": []}
            config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": rootfs}).encode()
            layer = b"the layer every bench image shares"
            self.blobs[repository] = {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": self._blob(repository, config), "size": len(config)},
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                            "digest": self._blob(repository, layer), "size": len(layer)}],
            }  # fmt: skip
        manifest = {**self.blobs[repository], "annotations": {"bench.tag": tag}}
        body = json.dumps(manifest, sort_keys=True).encode()
        answer = self.http.put(f"/v2/{repository}/manifests/{tag}", content=body,
                               headers={"Content-Type": OCI_MANIFEST})  # fmt: skip
        assert answer.status_code == 201, answer.text
        return "sha256:" + hashlib.sha256(body).hexdigest()


# --- 1. push -> dev -----------------------------------------------------------------------


@dataclass
class PushTiming:
    released: float  # s from the manifest PUT's return to the release existing
    applied: float  # ... to the Deployment in dev carrying the new digest


def wait_until(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not after {timeout:.0f}s")
        time.sleep(TICK)


def measure_pushes(
    server: ServerProcess, registry: OciRegistry, kube: Any, namespace: str, count: int,
    label: str, timeout: float,
) -> list[PushTiming]:  # fmt: skip
    from lightkube.resources.apps_v1 import Deployment

    pusher = Pusher(registry)
    timings: list[PushTiming] = []
    try:
        with server.admin() as api:
            for k in range(count):
                tag = f"1.0.{k}"
                digest = pusher.push("bench/web", tag)
                put_returned = time.perf_counter()  # the manifest PUT was the last call
                released = applied = None
                deadline = time.monotonic() + timeout
                while released is None or applied is None:
                    now = time.perf_counter()
                    if released is None:
                        items = api.get("/api/v1/releases", params={"limit": 1}).json()["items"]
                        if items and items[0]["artifacts"][0]["ref"].endswith(f"@{digest}"):
                            released = now - put_returned
                    if applied is None:
                        live = kube.get(Deployment, "web", namespace=namespace)
                        if live.spec.template.spec.containers[0].image.endswith(f"@{digest}"):
                            applied = now - put_returned
                    if time.monotonic() > deadline:
                        raise TimeoutError(f"{label}: push {tag} not in dev after {timeout}s")
                    time.sleep(TICK)

                def succeeded(digest: str = digest) -> bool:
                    items = api.get("/api/v1/promotions", params={"environment": "dev"})
                    latest = items.json()["items"][0]
                    return bool(latest["state"] == "Succeeded")

                wait_until(succeeded, 180, f"{label}: promotion of {tag}")  # untimed
                timings.append(PushTiming(released, applied))
                say(f"{label} {k + 1}/{count}: release {released * 1000:.0f} ms, "
                    f"applied in dev {applied * 1000:.0f} ms")  # fmt: skip
    finally:
        pusher.close()
    return timings


def push_flow(root: Path, kubeconfig: Path, kube: Any, count: int, hook: bool) -> list[PushTiming]:
    label = "notification" if hook else f"polling {POLL_S:.0f}s"
    (root / "registry").mkdir(parents=True)
    make_ca(root / "registry")
    host = f"127.0.0.1:{free_port()}"
    namespace = "bench-src-hook" if hook else "bench-src-poll"
    secret = "bench-hook-" + "s" * 24
    receivers = ""
    if hook:
        os.environ[SECRET_ENV] = secret  # the server inherits it
        receivers = f"receivers:\n  registry: {{type: distribution, secretEnv: {SECRET_ENV}}}\n"
    bare = push_project(root, host, root / "registry" / "ca.pem", kubeconfig, namespace,
                        "1h" if hook else f"{POLL_S:.0f}s", receivers)  # fmt: skip
    with running_server(
        root / "server", f"sqlite:///{root / 'shiplane.db'}",
        extra_args=["--repo", str(bare), "--health-timeout", "60"],
    ) as server:  # fmt: skip
        say(f"{label}: shiplane serve on {server.url} (PID {server.process.pid})")
        notifications = ""
        if hook:
            notifications = textwrap.dedent(f"""\
                notifications:
                  endpoints:
                    - name: shiplane
                      url: {server.url}/api/v1/hooks/registry
                      headers: {{Authorization: [Bearer {secret}]}}
                      timeout: 2s
                      threshold: 3
                      backoff: 1s
                """)
        with registry_at(root / "registry", int(host.rsplit(":", 1)[1]), notifications) as reg:
            # Warm-up, untimed: the first release creates the namespace and objects.
            warm = Pusher(reg)
            try:
                digest = warm.push("bench/web", "0.9.0")
            finally:
                warm.close()
            with server.admin() as api:
                if not hook:  # the startup poll may have run before the push
                    api.post("/api/v1/sources/web/refresh")

                def warmed() -> bool:
                    items = api.get("/api/v1/promotions", params={"environment": "dev"})
                    done = items.json()["items"]
                    return bool(done and done[0]["state"] == "Succeeded")

                if hook and not api.get("/api/v1/releases").json()["items"]:
                    api.post("/api/v1/sources/web/refresh")  # pushed before the first look
                wait_until(warmed, 240, f"{label}: the warm-up promotion ({digest[:19]})")
            say(f"{label}: warmed up")
            return measure_pushes(server, reg, kube, namespace, count, label,
                                  timeout=60 if hook else 120)  # fmt: skip


def push_part(root: Path, kubeconfig: Path, count: int, report: Report) -> None:
    from lightkube import Client, KubeConfig

    kube = Client(config=KubeConfig.from_file(str(kubeconfig)), field_manager="bench")
    hook = push_flow(root / "hook", kubeconfig, kube, count, hook=True)
    poll = push_flow(root / "poll", kubeconfig, kube, count, hook=False)

    def ms(samples: list[float], q: int) -> float:
        return quantile(samples, q) * 1000

    hook_rel = [t.released for t in hook]
    hook_app = [t.applied for t in hook]
    poll_rel = [t.released for t in poll]
    poll_app = [t.applied for t in poll]
    deploy = [t.applied - t.released for t in hook + poll]  # assembly done -> applied
    kargo_expected = KARGO_FLOOR_S / 2 + quantile(deploy, 50)
    met = "met" if quantile(hook_app, 50) <= GOAL_S else "NOT met"
    report.add(
        f"notification: push -> release ({count}x)",
        f"p50 {ms(hook_rel, 50):.0f} ms, p95 {ms(hook_rel, 95):.0f} ms",
    )
    report.add(
        f"notification: push -> applied in dev ({count}x)",
        f"p50 {ms(hook_app, 50):.0f} ms, p95 {ms(hook_app, 95):.0f} ms",
        f"{quantile(poll_app, 50) / quantile(hook_app, 50):.1f}x faster than polling 10s, "
        f"{kargo_expected / quantile(hook_app, 50):.0f}x than Kargo's floor",
        f"p50 <= {GOAL_S * 1000:.0f} ms: {met}",
    )
    report.add(
        f"polling 10s: push -> release ({count}x)",
        f"p50 {ms(poll_rel, 50):.0f} ms, p95 {ms(poll_rel, 95):.0f} ms",
    )
    report.add(
        f"polling 10s: push -> applied in dev ({count}x)",
        f"p50 {ms(poll_app, 50):.0f} ms, p95 {ms(poll_app, 95):.0f} ms",
        "measured",
    )
    report.add(
        "assembly and deploy: release -> applied",
        f"p50 {quantile(deploy, 50) * 1000:.0f} ms, p95 {quantile(deploy, 95) * 1000:.0f} ms",
    )
    report.add(
        "Kargo's 5 min floor: push -> applied (computed)",
        f"expected {kargo_expected:.1f} s, worst {KARGO_FLOOR_S + quantile(deploy, 95):.1f} s",
        "150 s (half the interval) + the measured release -> applied p50",
    )


# --- 2. scan ------------------------------------------------------------------------------


def scan_project(root: Path, host: str, ca: Path, kubeconfig: Path, repos: int) -> Path:
    creds = credentials(root)
    lines = [
        "apiVersion: shiplane/v1alpha1",
        "project: bench-scan",
        f"clusters: {{local: {{kubeconfig: {kubeconfig}}}}}",  # nothing auto-promotes
        "environments: {dev: {cluster: local, namespace: bench-scan}}",
        "releases: {assemble: changed}",
        "apps:",
    ]
    for n in range(repos):
        lines.append(f"  a{n:03d}: {{images: [{host}/scan/r{n:03d}], manifests: {{path: apps/a}}}}")
    lines.append("sources:")
    for n in range(repos):
        lines.append(
            f"  s{n:03d}: {{image: {{repository: {host}/scan/r{n:03d}, "
            f"credentials: {{file: {creds}}}, caFile: {ca}}}, apps: [a{n:03d}], interval: 1h}}"
        )
    files = {"shiplane.yaml": "\n".join(lines) + "\n",
             "apps/a/app.yaml": deployment("a", f"{host}/scan/r000")}  # fmt: skip
    return bare_repo(root, files)


def refresh_all(api_url: str, token: str, names: list[str]) -> float:
    """POST refresh for every source, 8 at a time; the wall time until all answered."""

    def one(name: str) -> None:
        with httpx.Client(base_url=api_url, timeout=120,
                          headers={"Authorization": f"Bearer {token}"}) as api:  # fmt: skip
            answer = api.post(f"/api/v1/sources/{name}/refresh")
            assert answer.status_code == 200, answer.text
            assert answer.json()["healthy"] is True, answer.json()

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(pool.map(one, names))
    return time.perf_counter() - started


def scan_part(
    root: Path, kubeconfig: Path, repos: int, tags: int, changed: int, report: Report
) -> None:
    root.mkdir(parents=True)
    with registry_at(root / "registry", free_port()) as registry:
        started = time.perf_counter()
        pusher = Pusher(registry)
        try:

            def fill(n: int) -> None:
                for t in range(tags):
                    pusher.push(f"scan/r{n:03d}", f"1.{t}.0")

            with concurrent.futures.ThreadPoolExecutor(4) as pool:
                list(pool.map(fill, range(repos)))
            say(f"pushed {repos} x {tags} images in {time.perf_counter() - started:.1f}s")
            bare = scan_project(root, registry.host, registry.ca_file, kubeconfig, repos)
            names = [f"s{n:03d}" for n in range(repos)]
            with running_server(
                root / "server", f"sqlite:///{root / 'shiplane.db'}",
                extra_args=["--repo", str(bare)],
            ) as server, server.admin() as api:  # fmt: skip
                say(f"scan: shiplane serve on {server.url} (PID {server.process.pid})")

                def all_looked() -> bool:
                    items = api.get("/api/v1/sources", params={"limit": 500}).json()
                    items = items.get("items", items) if isinstance(items, dict) else items
                    looked = [s for s in items if s.get("checked_at") and s.get("version")]
                    return len(looked) >= repos

                wait_until(all_looked, 300, "the first look at every source (startup poll)")
                say("the startup poll has looked at every source")

                def measured(title: str, expect_heads: int) -> None:
                    since = registry.log_path.stat().st_size
                    wall = refresh_all(server.url, server.admin_token, names)
                    time.sleep(0.5)  # the registry writes its access log after answering
                    logged = access_log(registry, since)
                    kinds = Counter(kind_of(m, p) for m, p, s in logged if s != 401)
                    challenges = sum(1 for _m, _p, s in logged if s == 401)
                    goal = repos + expect_heads
                    total = sum(kinds.values())
                    detail = ", ".join(f"{v} {k}" for k, v in sorted(kinds.items()))
                    report.add(
                        f"scan {repos}x{tags}, {title}: registry requests",
                        f"{total} ({detail}; + {challenges} 401 challenges)",
                        f"{total / goal:.2f}x the goal",
                        f"{repos} tag lists + {expect_heads} HEAD = {goal}: "
                        + ("met" if total <= goal else "NOT met"),
                    )
                    per_source = f"{wall * 1000 / repos:.1f} ms a source"
                    report.add(f"scan {repos}x{tags}, {title}: wall time",
                               f"{wall * 1000:.0f} ms ({per_source})")  # fmt: skip

                measured("nothing new", 0)
                for n in range(changed):
                    pusher.push(f"scan/r{n:03d}", f"2.0.{n}")
                measured(f"{changed} repositories with a new tag", changed)
        finally:
            pusher.close()


# --- main ---------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pushes", type=int, default=10)
    parser.add_argument("--repos", type=int, default=100)
    parser.add_argument("--tags", type=int, default=50)
    parser.add_argument("--changed", type=int, default=10)
    parser.add_argument("--only", choices=PARTS, action="append")
    args = parser.parse_args()
    parts = args.only or list(PARTS)
    report = Report()
    with tempfile.TemporaryDirectory(prefix="shiplane-bench-sources-") as tmp:
        root = Path(tmp)
        # The server is ready only when its cluster answers: one cluster for both parts.
        with local_cluster(root / "home", nodes=1, name=CLUSTER) as state:
            if "scan" in parts:
                scan_part(root / "scan", state.kubeconfig, args.repos, args.tags, args.changed,
                          report)  # fmt: skip
            if "push" in parts:
                push_part(root / "push", state.kubeconfig, args.pushes, report)
    report.print()


if __name__ == "__main__":
    main()
