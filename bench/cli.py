"""CLI start-up: `shiplane --help` and a call to a local server, beside `kubectl get ns`
against a local cluster in the same run (issue 12, item 11).

    .venv/bin/python bench/cli.py                    # 20 runs of each
    .venv/bin/python bench/cli.py --runs 3           # a quick smoke run

Each figure is the wall time of a fresh process (`subprocess.run`), as a person or a
script sees it. Baselines measured in the same run: `python -c pass` (the interpreter's
floor) and `kubectl get ns` against a local control plane (what kubectl users compare
with). Goals: `--help` p50 ≤ 150 ms, `shiplane release list` against a local server
(SQLite, 127.0.0.1) p50 ≤ 300 ms.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness import Kubectl, Report, local_cluster, quantile, say

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.support.serverproc: the server the tests start

from tests.support.serverproc import SHIPLANE, running_server  # noqa: E402

GOAL_HELP_MS = 150.0
GOAL_CALL_MS = 300.0


def timed(argv: list[str], runs: int, env: dict[str, str] | None = None) -> list[float]:
    """Wall times in ms of `runs` fresh processes (after one warm-up run: page cache)."""
    samples = []
    for index in range(runs + 1):
        started = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, env=env, check=False)
        elapsed = (time.perf_counter() - started) * 1000
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} failed: {done.stderr.decode()[-500:]}")
        if index:
            samples.append(elapsed)
    return samples


def figure(samples: list[float]) -> str:
    return f"p50 {quantile(samples, 50):.0f} ms, p95 {quantile(samples, 95):.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs of each command")
    args = parser.parse_args()
    report = Report()
    with tempfile.TemporaryDirectory(prefix="shiplane-bench-cli-") as tmp:
        workdir = Path(tmp)
        floor = timed([sys.executable, "-c", "pass"], args.runs)
        report.add("python -c pass", figure(floor))

        help_ms = timed([SHIPLANE, "--help"], args.runs)
        p50_help = quantile(help_ms, 50)
        report.add(
            "shiplane --help", figure(help_ms), f"{p50_help / quantile(floor, 50):.1f}x python",
            f"p50 <= {GOAL_HELP_MS:.0f} ms",
        )  # fmt: skip

        with running_server(workdir / "server", f"sqlite:///{workdir / 'cli.db'}") as server:
            env = {**os.environ, "SHIPLANE_SERVER": server.url,
                   "SHIPLANE_TOKEN": server.admin_token,
                   "SHIPLANE_CONFIG": str(workdir / "none.yaml")}  # fmt: skip
            call_ms = timed([SHIPLANE, "release", "list"], args.runs, env)

        with local_cluster(workdir / "home", nodes=1, name="bench-cli") as state:
            kubectl = Kubectl(Path(state.kubeconfig), workdir / "kube-cache")
            kubectl.run("get", "ns")  # discovery cache filled, as in daily use
            from harness import kubectl_path

            argv = [kubectl_path(), f"--kubeconfig={state.kubeconfig}",
                    f"--cache-dir={workdir / 'kube-cache'}", "get", "ns"]  # fmt: skip
            kubectl_ms = timed(argv, args.runs)
        p50_call, p50_kubectl = quantile(call_ms, 50), quantile(kubectl_ms, 50)
        report.add("kubectl get ns (local cluster)", figure(kubectl_ms))
        report.add(
            "shiplane release list (local server)", figure(call_ms),
            f"{p50_call / p50_kubectl:.2f}x kubectl", f"p50 <= {GOAL_CALL_MS:.0f} ms",
        )  # fmt: skip
        report.add("shiplane --help vs kubectl get ns", f"{p50_help / p50_kubectl:.2f}x", "", "")
    report.print()
    ok = p50_help <= GOAL_HELP_MS and p50_call <= GOAL_CALL_MS
    say("goals met" if ok else "goals NOT met (is the machine busy? see the python floor)")


if __name__ == "__main__":
    main()
