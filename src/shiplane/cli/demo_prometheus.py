"""The demo's Prometheus and its canary: an analysis step that waits for a metric.

Debian's `prometheus` on 127.0.0.1 (storage under `$SHIPLANE_HOME/demo/prometheus/`)
scrapes the demo server's own `/metrics` every second. Staging moves `web` by a canary
(`setWeight 25 -> analysis -> setWeight 50 -> pause`) whose analysis is a `prometheus`
check: it asks for the app's `shiplane_strategy_weight_percent` at 25% or more, and waits
(no data is inconclusive, tolerated) until Prometheus has scraped the canary's weight.
Traffic on local clusters is not real (pods are simulated), so the metric is Shiplane's
own: the check is real, the query stands in for an error rate. Prometheus is started
after the server (its scrape target is the server's address) and stopped by its PID with
the rest (`shiplane demo --stop`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx

from shiplane.localcluster import procs

PROMETHEUS_ENV = "SHIPLANE_PROMETHEUS_BIN"
DEFAULT_BIN = "/usr/bin/prometheus"
CONFIG_FILE = "prometheus.yml"
PID_FILE = "prometheus.pid"
JOB = "shiplane"
CHECK = "canary-weight"
CANARY_ENV = "staging"
CANARY_APP = "web"
READY_TIMEOUT = 60.0


class DemoPrometheusError(Exception):
    """Prometheus could not be started; the message says why."""


def prometheus_binary() -> str | None:
    """The prometheus binary to run (SHIPLANE_PROMETHEUS_BIN or Debian's), if present."""
    wanted = os.environ.get(PROMETHEUS_ENV, DEFAULT_BIN)
    found = shutil.which(wanted)
    if found:
        return found
    return wanted if Path(wanted).is_file() else None


@dataclass(frozen=True)
class DemoPrometheus:
    """Where Prometheus will listen, chosen before the server starts (the check in
    shiplane.yaml names it)."""

    root: Path
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.root / "prometheus.log"


def plan_prometheus(root: Path) -> DemoPrometheus:
    root.mkdir(parents=True, exist_ok=True)
    return DemoPrometheus(root, procs.free_port())


def scrape_config(server_url: str) -> str:
    """Prometheus's configuration: Shiplane's /metrics every second."""
    target = server_url.removeprefix("http://").removeprefix("https://").rstrip("/")
    return (
        "global:\n"
        "  scrape_interval: 1s\n"
        "  scrape_timeout: 1s\n"
        "  evaluation_interval: 1s\n"
        "scrape_configs:\n"
        f"  - job_name: {JOB}\n"
        "    metrics_path: /metrics\n"
        "    static_configs:\n"
        f"      - targets: ['{target}']\n"
    )


def canary_check(prometheus: DemoPrometheus) -> str:
    """The analysis check, as lines under shiplane.yaml's `checks:`."""
    return f"""\
  # Added by `shiplane demo`: the canary's analysis. A real Prometheus scrapes Shiplane's
  # own /metrics every second; each measurement (a second apart) asks it for the canary's
  # weight at 25% or more. Until its scrape has seen that, the answer is empty: "no data"
  # is inconclusive, tolerated four times; five measurements decide.
  {CHECK}:
    prometheus:
      address: {prometheus.url}
      query: >-
        shiplane_strategy_weight_percent{{environment="{{{{environment}}}}",app="{{{{app}}}}"}}
        >= 25
      success: "result[0] >= 25"
      interval: 1s
      count: 5
      inconclusiveLimit: 4
"""


CANARY_STRATEGY = f"""\
    # Added by `shiplane demo`: a new release reaches staging's {CANARY_APP} by a canary
    # (docs/strategies.md); api keeps rolling (its `strategies:` below).
    strategy:
      canary:
        steps:
          - setWeight: 25
          - analysis: [{CHECK}]
          - setWeight: 50
          - pause: 5s
"""


def add_canary(config: str, prometheus: DemoPrometheus) -> str:
    """shiplane.yaml (the scaffold's) with staging's canary, the api app's override and
    the analysis check. Raises ValueError when the scaffold's text is not where expected."""
    anchors = {
        "    tier: staging\n": "    tier: staging\n" + CANARY_STRATEGY,
        "    dependsOn: [web]\n": (
            "    dependsOn: [web]\n"
            f"    strategies: {{{CANARY_ENV}: rolling}}   # only web takes the canary's steps\n"
        ),
        "\nchecks:\n": "\nchecks:\n" + canary_check(prometheus),
    }
    for anchor, replacement in anchors.items():
        if config.count(anchor) != 1:
            raise ValueError(f"shiplane.yaml: expected {anchor.strip()!r} once")
        config = config.replace(anchor, replacement)
    return config


def point_project_at(project: Path, prometheus: DemoPrometheus) -> None:
    """Add the canary and its check to the project's shiplane.yaml, give web three
    replicas (so that 25% is one canary replica beside three), and commit."""
    config = project / "shiplane.yaml"
    config.write_text(add_canary(config.read_text(), prometheus))
    deployment = project / "apps" / CANARY_APP / "deployment.yaml"
    text = deployment.read_text()
    if "  replicas: 1\n" not in text:
        raise ValueError(f"{deployment}: expected 'replicas: 1'")
    deployment.write_text(text.replace("  replicas: 1\n", "  replicas: 3\n"))
    for args in (["add", "-A"], ["commit", "-q", "-m", "A canary in staging"]):
        subprocess.run(["git", "-C", str(project), *args], check=True, capture_output=True)


def start(prometheus: DemoPrometheus, server_url: str) -> int:
    """Start Prometheus scraping the server; wait until it has scraped it once; its PID."""
    binary = prometheus_binary()
    if binary is None:
        raise DemoPrometheusError(
            f"Prometheus not found at {os.environ.get(PROMETHEUS_ENV, DEFAULT_BIN)}: run "
            "`make system-deps-demo` (Debian's prometheus) or set SHIPLANE_PROMETHEUS_BIN"
        )
    root = prometheus.root
    config = root / CONFIG_FILE
    config.write_text(scrape_config(server_url))
    (root / "data").mkdir(exist_ok=True)
    pid = procs.start_process(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={root / 'data'}",
            f"--web.listen-address=127.0.0.1:{prometheus.port}",
            "--storage.tsdb.retention.time=1d",
            "--log.level=warn",
        ],
        prometheus.log_path,
    )
    (root / PID_FILE).write_text(f"{pid}\n")
    waited = procs.wait_ready(
        pid, lambda: _scraped(prometheus), timeout=READY_TIMEOUT, interval=0.2
    )
    if waited == "exited":
        raise DemoPrometheusError(f"prometheus exited:\n{procs.log_tail(prometheus.log_path)}")
    if waited == "timed out":
        stop(root)
        raise DemoPrometheusError(
            f"prometheus on {prometheus.url} did not scrape {server_url} within "
            f"{READY_TIMEOUT:.0f}s:\n{procs.log_tail(prometheus.log_path)}"
        )
    return pid


def _scraped(prometheus: DemoPrometheus) -> bool:
    """Prometheus answers and its scrape of the server is up."""
    try:
        answer = httpx.get(
            f"{prometheus.url}/api/v1/query", params={"query": f'up{{job="{JOB}"}}'}, timeout=2
        )
        result = answer.json()["data"]["result"]
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return False
    return bool(result) and result[0]["value"][1] == "1"


def stop(root: Path) -> bool:
    """Stop the Prometheus started under `root` by the PID it recorded; False when none
    runs there (no PID file, or the PID now runs something else)."""
    return procs.stop_recorded(root / PID_FILE, must_contain=str(root / CONFIG_FILE))


__all__ = [
    "CANARY_APP",
    "CANARY_ENV",
    "CHECK",
    "DemoPrometheus",
    "DemoPrometheusError",
    "add_canary",
    "plan_prometheus",
    "point_project_at",
    "prometheus_binary",
    "scrape_config",
    "start",
    "stop",
]
