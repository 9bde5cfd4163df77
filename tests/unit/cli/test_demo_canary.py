"""The demo's canary: what it adds to the scaffold is a valid project (staging's canary
for web, api rolling, a Prometheus analysis check), and how the demo follows it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shiplane.cli import demo_prometheus
from shiplane.cli.client import CliFailure
from shiplane.cli.demo_canary import follow, is_strategy_step, step_line
from shiplane.config import load_project_text
from shiplane.config.scaffold import scaffold_files
from shiplane.domain import canary

PROMETHEUS = demo_prometheus.DemoPrometheus(Path("/tmp/demo/prometheus"), 9099)


def demo_config() -> str:
    files = scaffold_files("shop", lambda cluster: f"/kube/{cluster}.yaml")
    return demo_prometheus.add_canary(files["shiplane.yaml"], PROMETHEUS)


def test_the_demo_project_moves_web_by_a_canary_in_staging() -> None:
    config = load_project_text(demo_config(), "shiplane.yaml")
    staging = config.environments["staging"].strategy.canary
    assert staging is not None
    assert staging.plan() == [
        canary.SetWeight(25),
        canary.Analysis((demo_prometheus.CHECK,)),
        canary.SetWeight(50),
        canary.Pause(5),
    ]
    assert config.environments["prod"].strategy.canary is None  # prod keeps rolling
    api = config.apps["api"].strategies["staging"]
    assert api.canary is None and api.rolling is not None


def test_the_analysis_asks_the_demo_prometheus_for_the_canary_weight() -> None:
    config = load_project_text(demo_config(), "shiplane.yaml")
    check = config.checks[demo_prometheus.CHECK].prometheus
    assert check is not None
    assert str(check.address).rstrip("/") == "http://127.0.0.1:9099"
    assert check.query.strip() == (
        'shiplane_strategy_weight_percent{environment="{{environment}}",app="{{app}}"} >= 25'
    )
    # Empty answers (not scraped yet) are waited for; five measurements decide.
    assert (check.count, check.inconclusive_limit, check.interval) == (5, 4, 1)
    assert "smoke" in config.checks  # the scaffold's checks stay


def test_add_canary_refuses_a_config_it_does_not_know() -> None:
    with pytest.raises(ValueError, match="tier: staging"):
        demo_prometheus.add_canary("apiVersion: shiplane/v1alpha1\n", PROMETHEUS)


def test_scrape_config_targets_the_server() -> None:
    text = demo_prometheus.scrape_config("http://127.0.0.1:4321/")
    assert "targets: ['127.0.0.1:4321']" in text and "scrape_interval: 1s" in text


class FakeApi:
    """Answers GET /promotions/ID with one snapshot after another (a test double)."""

    def __init__(self, snapshots: list[dict[str, Any]]) -> None:
        self.snapshots = snapshots
        self.calls = 0

    def get(self, path: str, params: Any = None) -> dict[str, Any]:
        assert path == "/promotions/prm-1"
        snapshot = self.snapshots[min(self.calls, len(self.snapshots) - 1)]
        self.calls += 1
        return snapshot


def snapshot(state: str, reason: str, steps: list[dict[str, Any]]) -> dict[str, Any]:
    promotion = {"id": "prm-1", "environment": "staging", "state": state, "reason": reason}
    return {"promotion": promotion, "steps": steps}


def step(n: int, name: str, ended: bool = True) -> dict[str, Any]:
    return {
        "id": n,
        "name": name,
        "outcome": "succeeded" if ended else "running",
        "detail": f"detail {n}",
        "ended_at": "2026-12-06T09:00:00Z" if ended else None,
    }


def test_follow_prints_each_step_once_and_each_new_wait() -> None:
    first = step(2, "canary step 1/2: setWeight 25")
    api = FakeApi([
        snapshot("Deploying", "at 25%", [step(1, "gates")]),
        snapshot("Deploying", "at 25%", [step(1, "gates"), first]),
        snapshot("Deploying", "analysing", [step(1, "gates"), first]),
        snapshot("Succeeded", "done", [step(1, "gates"), first, step(3, "verify")]),
    ])  # fmt: skip
    lines: list[str] = []
    called: list[int] = []
    ended = follow(
        api,  # type: ignore[arg-type]
        "prm-1",
        lines.append,
        interval=0,
        after_first_step=lambda: called.append(1),
    )
    assert ended["state"] == "Succeeded"
    assert lines == [
        "  staging: Deploying",
        "    waiting: at 25%",
        "  canary step 1/2: setWeight 25 -> succeeded: detail 2",
        "    waiting: analysing",
        "  staging: Succeeded",
    ]
    assert called == [1]


def test_follow_gives_up_at_its_deadline() -> None:
    api = FakeApi([snapshot("Deploying", "paused", [step(1, "canary step 1/2: pause", False)])])
    with pytest.raises(CliFailure, match="timed out"):
        follow(api, "prm-1", lambda _line: None, timeout=0, interval=0)  # type: ignore[arg-type]


def test_step_lines() -> None:
    assert is_strategy_step({"name": "strategy web completed"})
    assert not is_strategy_step({"name": "verify"})
    assert step_line({"name": "x", "outcome": "failed", "detail": ""}) == "x -> failed"
