"""What the benchmarks share: git, a local cluster that is always stopped, kubectl, and
the printing of figures. Imported by the bench scripts (run from the repository root)."""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

GIT = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True, text=True)
    return done.stdout.strip()


@contextlib.contextmanager
def local_cluster(home: Path, nodes: int, name: str) -> Iterator[Any]:
    """A local cluster under a private SHIPLANE_HOME, stopped (by PID) whatever happens."""
    os.environ["SHIPLANE_HOME"] = str(home)
    from shiplane.localcluster import cluster as lc

    def terminate(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)  # unwinds through the `finally` below

    previous = signal.signal(signal.SIGTERM, terminate)
    quiet = lambda _line: None  # noqa: E731
    try:
        started = time.perf_counter()
        state = lc.up(name, nodes=nodes, progress=quiet)
        say(f"cluster up with {nodes} fake nodes in {time.perf_counter() - started:.1f}s")
        yield state
    finally:
        lc.down(name, progress=quiet)
        signal.signal(signal.SIGTERM, previous)
        say("cluster stopped")


def kubectl_path() -> str:
    from shiplane.localcluster.build import binary_path

    return str(binary_path("kubernetes", "kubectl"))


@dataclass
class Kubectl:
    kubeconfig: Path
    cache_dir: Path

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [
                kubectl_path(),
                f"--kubeconfig={self.kubeconfig}",
                f"--cache-dir={self.cache_dir}",
                *args,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout

    def apply(self, path: Path) -> None:
        self.run("apply", "--server-side", "-f", str(path))


def three_object_app(name: str, tag: str = "0.0.0") -> str:
    """A Deployment, a headless Service and a ConfigMap: the app every benchmark deploys."""
    # Headless Service: the local cluster's service range is a /24.
    return f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, labels: {{app: {name}}}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
      - name: app
        image: registry.example/bench/{name}:{tag}
        ports: [{{containerPort: 8080}}]
        envFrom: [{{configMapRef: {{name: {name}}}}}]
---
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  clusterIP: None
  selector: {{app: {name}}}
  ports: [{{port: 80, targetPort: 8080}}]
---
apiVersion: v1
kind: ConfigMap
metadata: {{name: {name}}}
data: {{greeting: hello, LOG_LEVEL: info}}
"""


# --- figures ------------------------------------------------------------------------------


@dataclass
class Report:
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)

    def add(self, case: str, figure: str, baseline: str = "", goal: str = "") -> None:
        self.rows.append((case, figure, baseline, goal))
        say(f"{case}: {figure}" + (f"  [{baseline}]" if baseline else ""))

    def print(self) -> None:
        header = ("case", "figure", "vs baseline", "goal")
        widths = [max(len(r[i]) for r in [header, *self.rows]) for i in range(4)]
        print()
        for row in [header, *self.rows]:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))


def say(line: str) -> None:
    print(f"  {line}", flush=True)


def quantile(samples: list[float], q: int) -> float:
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[q - 1]


def p50_p95(samples: list[float]) -> str:
    return f"p50 {quantile(samples, 50):.0f} ms, p95 {quantile(samples, 95):.0f} ms"
