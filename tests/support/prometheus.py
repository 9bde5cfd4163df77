"""A real Prometheus server (Debian's `prometheus` package) for tests, on 127.0.0.1.

`prometheus` (session-scoped) starts `/usr/bin/prometheus` with a temporary config and
storage directory, scraping every second a small exporter that tests control
(`prometheus.exporter.set("shiplane_test_errors_ratio", 0.5, app="x")`). It waits for
readiness and for the first scrape, each with a deadline, and stops the process by PID at
the end. A fixture plugin of tests/conftest.py: every test may ask for `prometheus`.
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.wait import wait_for

__all__ = ["MetricsExporter", "PrometheusServer", "metrics_exporter", "prometheus"]

PROMETHEUS_BIN = os.environ.get("SHIPLANE_PROMETHEUS_BIN", "/usr/bin/prometheus")
SCRAPE_JOB = "shiplane-test"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


class MetricsExporter:
    """An HTTP server on 127.0.0.1 serving gauges that a test sets, in the text format."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._series: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self.scrapes = 0
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                body = exporter.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                with exporter._lock:
                    exporter.scrapes += 1

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def address(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def set(self, name: str, value: float, **labels: str) -> None:
        with self._lock:
            self._series[(name, tuple(sorted(labels.items())))] = value

    def remove(self, name: str, **labels: str) -> None:
        with self._lock:
            self._series.pop((name, tuple(sorted(labels.items()))), None)

    def render(self) -> str:
        with self._lock:
            items = sorted(self._series.items())
        lines = []
        names = sorted({name for (name, _), _ in items})
        for name in names:
            lines.append(f"# TYPE {name} gauge")
            for (series, labels), value in items:
                if series != name:
                    continue
                text = ",".join(f'{k}="{v}"' for k, v in labels)
                lines.append(
                    f"{name}{{{text}}} {_format_value(value)}"
                    if text
                    else f"{name} {_format_value(value)}"
                )
        return "\n".join(lines) + "\n"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@dataclass
class PrometheusServer:
    """A running Prometheus: `url` for queries, `exporter` to set what it scrapes."""

    url: str
    exporter: MetricsExporter
    process: subprocess.Popen[bytes]
    log_path: Path
    data: dict[str, Any] = field(default_factory=dict)

    def query(self, promql: str) -> list[dict[str, Any]]:
        """Instant vector result of `promql` (raises on an error answer)."""
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=5)
        payload = response.json()
        if payload.get("status") != "success":
            raise AssertionError(f"query {promql!r} failed: {payload}")
        result: list[dict[str, Any]] = payload["data"]["result"]
        return result

    def wait_for_value(
        self, promql: str, predicate: Callable[[float], bool], *, timeout: float = 30
    ) -> float:
        """Wait until `promql` has a first sample whose value satisfies `predicate`."""

        def probe() -> tuple[float] | None:
            result = self.query(promql)
            if result:
                value = float(result[0]["value"][1])
                if predicate(value):
                    return (value,)  # a tuple: truthy even for 0.0
            return None

        return wait_for(probe, timeout=timeout, interval=0.2, what=f"Prometheus to see {promql}")[0]

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def _config(exporter: MetricsExporter) -> str:
    return (
        "global:\n"
        "  scrape_interval: 1s\n"
        "  scrape_timeout: 1s\n"
        "  evaluation_interval: 1s\n"
        "scrape_configs:\n"
        f"  - job_name: {SCRAPE_JOB}\n"
        "    static_configs:\n"
        f"      - targets: ['{exporter.address}']\n"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()  # SIGTERM to this PID only
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def metrics_exporter() -> Iterator[MetricsExporter]:
    exporter = MetricsExporter()
    yield exporter
    exporter.close()


@pytest.fixture(scope="session")
def prometheus(
    metrics_exporter: MetricsExporter, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PrometheusServer]:
    """A real Prometheus on 127.0.0.1, scraping `metrics_exporter` every second."""
    binary = shutil.which(PROMETHEUS_BIN) or (
        PROMETHEUS_BIN if Path(PROMETHEUS_BIN).is_file() else None
    )
    if binary is None:
        pytest.fail(
            f"Prometheus not found at {PROMETHEUS_BIN}: install Debian's package with "
            "`apt-get install prometheus` (scripts/ensure-system-deps.sh does it as root), "
            "or point SHIPLANE_PROMETHEUS_BIN at a prometheus binary"
        )
    root = tmp_path_factory.mktemp("prometheus")
    config = root / "prometheus.yml"
    config.write_text(_config(metrics_exporter))
    (root / "data").mkdir()
    port = free_port()
    log_path = root / "prometheus.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={config}",
                f"--storage.tsdb.path={root / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=1h",
                "--log.level=warn",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=root,
        )
    server = PrometheusServer(f"http://127.0.0.1:{port}", metrics_exporter, process, log_path)
    try:

        def ready() -> bool:
            if process.poll() is not None:
                raise AssertionError(
                    f"prometheus exited with {process.returncode}:\n{server.log_tail()}"
                )
            return httpx.get(f"{server.url}/-/ready", timeout=2).status_code == 200

        try:
            wait_for(ready, timeout=60, interval=0.2, what=f"Prometheus ready on {server.url}")
            server.wait_for_value(f'up{{job="{SCRAPE_JOB}"}}', lambda v: v == 1, timeout=60)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\nprometheus log:\n{server.log_tail()}") from None
        yield server
    finally:
        _stop(process)
