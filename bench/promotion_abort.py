"""Benchmark part `abort` of bench/promotion.py (issue 15): how soon all traffic is on
the stable version again after a canary's analysis records a failed measurement.

A canary of steps [setWeight 25, analysis [fail]] where `fail` is an http check
against a local server (127.0.0.1) that answers 500: each promotion goes to its first
weight, its analysis fails at the first measurement, the canary aborts. Timed, from
the moment the server answers the failing measurement (the check records it as it
arrives) to the moment a watch on the objects (the benchmark's own client) sees all
traffic on stable:
  replicas     the canary Deployment `web-canary` deleted (its DELETED event);
  gatewayAPI   the HTTPRoute `gw` without weight on `gw-canary` (its rules written back).
Each failed promotion is rolled back (`rollback: {onFailure: auto}`, a rolling
promotion of the release the cluster runs anyway) before the next one starts, untimed.
p50 and p95 over --aborts (20) aborts per mode; goal (issue 15): <= 1 s p95.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from harness import Report, p50_p95, say, three_object_app

MODES = {
    # environment: (app, namespace, traffic mode)
    "abort": ("web", "bench-abort", "replicas"),
    "abortgw": ("gw", "bench-abort-gw", "gatewayAPI"),
}
ROUTE = """\
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {{name: {name}}}
spec:
  rules:
  - backendRefs: [{{name: {name}, port: 80}}]
"""


class FailingCheck:
    """A local HTTP server answering 500; when it answered, in perf_counter seconds."""

    def __init__(self) -> None:
        answered = self.answered = []  # type: list[float]

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(500)
                self.send_header("Content-Length", "0")
                self.end_headers()
                self.wfile.flush()
                answered.append(time.perf_counter())

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def project_yaml(kubeconfig: Path, check_url: str) -> str:
    lines = [
        "apiVersion: shiplane/v1alpha1",
        "project: bench-abort",
        "clusters:",
        f"  local: {{kubeconfig: {kubeconfig}}}",
        "environments:",
    ]
    for env, (_app, namespace, traffic) in MODES.items():
        lines += [
            f"  {env}:",
            "    cluster: local",
            f"    namespace: {namespace}",
            "    rollback: {onFailure: auto}",
            f"    strategy: {{canary: {{traffic: {traffic}, "
            "steps: [{setWeight: 25}, {analysis: [fail]}]}}",
        ]
    lines.append("apps:")
    for app, _ns, _traffic in MODES.values():
        lines += [
            f"  {app}:",
            f"    images: [registry.example/bench/{app}]",
            f"    manifests: {{path: apps/{app}, render: plain}}",
        ]
    lines += ["checks:", f"  fail: {{http: {{url: '{check_url}', attempts: 1, timeout: 5s}}}}"]
    return "\n".join(lines) + "\n"


def app_files(app: str) -> dict[str, str]:
    text = three_object_app(app).replace("replicas: 1", "replicas: 2")
    if app == "gw":
        text += ROUTE.format(name=app)
    return {f"apps/{app}/app.yaml": text}


class EventLog:
    """(perf_counter, event type, object as a dict) of every event of one kind in a
    namespace, recorded by the benchmark's own watch."""

    def __init__(self, client: Any, resource: Any, namespace: str) -> None:
        self.client, self.resource, self.namespace = client, resource, namespace
        self.events: list[tuple[float, str, dict[str, Any]]] = []
        self.changed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        while True:  # a watch can end on the server's side: start it again
            async for kind, obj in self.client.watch(self.resource, namespace=self.namespace):
                self.events.append((time.perf_counter(), kind, obj.to_dict()))
                self.changed.set()

    def start(self) -> None:
        self.task = asyncio.create_task(self.run(), name=f"watch {self.namespace}")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task

    async def first_after(self, since: float, matches: Any, timeout: float = 60) -> float:  # noqa: ASYNC109
        deadline = time.monotonic() + timeout
        while True:
            for at, kind, obj in self.events:
                if at >= since and matches(kind, obj):
                    return at
            if time.monotonic() > deadline:
                raise TimeoutError("all traffic on stable not seen")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), timeout=1)


def canary_gone(app: str) -> Any:
    def matches(kind: str, obj: dict[str, Any]) -> bool:
        return kind == "DELETED" and obj["metadata"]["name"] == f"{app}-canary"

    return matches


def route_on_stable(app: str) -> Any:
    from shiplane.strategies.canary_routes import route_weights

    def matches(_kind: str, obj: dict[str, Any]) -> bool:
        weights = route_weights(obj)
        return obj["metadata"]["name"] == app and weights.get(f"{app}-canary", 0) == 0

    return matches


async def final(engine: Any, promotion_id: str, timeout: float = 180) -> Any:  # noqa: ASYNC109
    from shiplane.store import promotions as store

    deadline = time.monotonic() + timeout
    while True:

        def get() -> Any:
            with engine.db.session(readonly=True) as s:
                return store.get_promotion(s, promotion_id)

        record = await asyncio.to_thread(get)
        if record.state in ("Succeeded", "Failed", "Aborted", "RolledBack", "Superseded"):
            return record
        if time.monotonic() > deadline:
            raise TimeoutError(f"{promotion_id} still {record.state} ({record.reason})")
        await asyncio.sleep(0.1)


async def measure(
    engine: Any, env: str, log: EventLog, check: FailingCheck, aborts: int, report: Report
) -> None:
    import promotion as bench

    app, _namespace, traffic = MODES[env]
    first = bench.create_release(engine.db, {app: f"registry.example/bench/{app}:1.0.0"})
    pid, _, _ = await bench.promote(engine, first, env)
    record = await final(engine, pid)
    assert record.state == "Succeeded", record.reason
    matches = route_on_stable(app) if traffic == "gatewayAPI" else canary_gone(app)
    samples: list[float] = []
    for n in range(aborts):
        release = bench.create_release(engine.db, {app: f"registry.example/bench/{app}:2.{n}.0"})
        answered = len(check.answered)
        pid, _, _ = await bench.promote(engine, release, env)
        deadline = time.monotonic() + 120
        while len(check.answered) == answered:  # the canary reaches its analysis
            if time.monotonic() > deadline:
                raise TimeoutError(f"{pid}: no measurement")
            await asyncio.sleep(0.01)
        failed_at = check.answered[answered]
        on_stable = await log.first_after(failed_at, matches)
        samples.append((on_stable - failed_at) * 1000)
        record = await final(engine, pid)
        if record.state == "Failed":  # the rollback promotion follows: wait for it
            deadline = time.monotonic() + 120
            while record.state != "RolledBack" and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                record = await final(engine, pid)
        assert record.state == "RolledBack", f"{pid}: {record.state} ({record.reason})"
    report.add(
        f"abort: failed measurement -> all traffic on stable, {traffic} ({aborts} aborts)",
        p50_p95(samples),
        goal="<= 1000 ms p95",
    )
    say(f"  {traffic}: max {max(samples):.0f} ms")


async def abort_phase(root: Path, state: Any, aborts: int, report: Report) -> None:
    from lightkube import AsyncClient, KubeConfig
    from lightkube.generic_resource import create_namespaced_resource
    from lightkube.resources.apps_v1 import Deployment

    import promotion as bench
    from shiplane.api.logging import configure_logging
    from shiplane.localcluster import addons

    configure_logging(logging.WARNING)
    addons.install(state, addons.resolve(["gateway-api"]), progress=lambda _line: None)
    http_route = create_namespaced_resource(
        "gateway.networking.k8s.io", "v1", "HTTPRoute", "httproutes"
    )
    check = FailingCheck()
    files = {"shiplane.yaml": project_yaml(state.kubeconfig, check.url)}
    for app, _ns, _traffic in MODES.values():
        files.update(app_files(app))
    bare, checkout = bench.new_repo(root, "gitops-abort", files)
    engine = bench.make_engine(root / "abort", bare, checkout)
    kube = AsyncClient(KubeConfig.from_file(str(state.kubeconfig)))
    logs = {
        "abort": EventLog(kube, Deployment, MODES["abort"][1]),
        "abortgw": EventLog(kube, http_route, MODES["abortgw"][1]),
    }
    for log in logs.values():
        log.start()
    engine.controller.start()
    try:
        for env, log in logs.items():
            await measure(engine, env, log, check, aborts, report)
    finally:
        await engine.controller.stop()
        await engine.drift.stop()
        await engine.deployer.clusters.close()
        for log in logs.values():
            await log.stop()
        await kube.close()
        engine.db.close()
        check.close()
