"""Benchmark: laying out and drawing the environment graph at pipeline scale.

Lays out (domain/graph_layout.py) and draws (web/graph_svg.py) a generated graph of N
environments (default 200: 4 regions x 50 environments, each region a chain with
fan-outs and a few cross-region `after` edges), `--repeat` times, and prints p50/p95
of each beside a baseline in the same run: the longest-path layering alone (the floor:
one pass over the graph). Goal (issue 13): the pipeline page stays well under 100 ms,
so the layout should take a few tens of milliseconds at 200 environments.

    .venv/bin/python bench/graph_layout.py [--environments N] [--repeat R]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from shiplane.domain.graph_layout import layout_graph, longest_path_layers  # noqa: E402
from shiplane.web.graph_svg import NodeLine, render_svg  # noqa: E402


def generate(count: int, regions: int = 4) -> dict[str, list[str]]:
    """`count` environments: a shared dev, then per region a chain where every third
    environment fans out from the one three back, plus a cross-region edge now and then."""
    upstreams: dict[str, list[str]] = {"dev": []}
    per_region = max(-(-(count - 1) // regions), 1)
    for r in range(regions):
        for i in range(per_region):
            if len(upstreams) >= count:
                break
            name = f"r{r}-e{i}"
            ups = ["dev"] if i == 0 else [f"r{r}-e{i - 1}"]
            if i >= 3 and i % 3 == 0:
                ups = [f"r{r}-e{i - 3}"]
            if i >= 5 and i % 7 == 0 and r > 0:
                ups.append(f"r{r - 1}-e{i - 2}")
            upstreams[name] = ups
    return upstreams


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    fn()  # warm-up
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1] if len(samples) > 1 else samples[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--environments", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    upstreams = generate(args.environments)
    layout = layout_graph(upstreams)
    lines = {e: [NodeLine("checkout 1.4.2", "health-healthy"), NodeLine("payments 2.0.1")]
             for e in upstreams}  # fmt: skip
    rows = {
        "layering only (floor)": timed(lambda: longest_path_layers(upstreams), args.repeat),
        "layout": timed(lambda: layout_graph(upstreams), args.repeat),
        "svg": timed(lambda: render_svg(layout, title="t", lines=lines), args.repeat),
    }
    print(
        f"{len(upstreams)} environments, {len(layout.edges)} edges, "
        f"{len(layout.layers)} layers, {layout.crossings} crossings after ordering"
    )
    floor = statistics.median(rows["layering only (floor)"])
    for name, samples in rows.items():
        p50 = statistics.median(samples)
        print(f"{name:24} p50 {p50:8.2f} ms  p95 {p95(samples):8.2f} ms  x{p50 / floor:6.1f}")
    svg = render_svg(layout, title="t", lines=lines)
    print(f"svg size: {len(svg.encode()) / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
