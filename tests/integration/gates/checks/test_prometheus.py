"""The prometheus check against a real Prometheus (Debian's package) on 127.0.0.1,
scraping an exporter the tests control. Intervals are 1 s, so each test takes seconds."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from shiplane.gates.checks import (
    CheckContext,
    CheckSpec,
    CheckStateError,
    RecordingSink,
    ReleaseInfo,
    SystemClock,
    resolve_inconclusive,
    result_of,
    run_to_completion,
    step,
)
from tests.support.prometheus import PrometheusServer, free_port

pytestmark = pytest.mark.anyio

METRIC = "shiplane_test_errors_ratio"


def context(app: str, sink: RecordingSink | None = None) -> CheckContext:
    return CheckContext(
        environment="staging",
        namespace="shop-stg",
        release=ReleaseInfo("rel-abc123", alias="1.4.2"),
        apps=(app,),
        run_id="prm-1",
        clock=SystemClock(),
        sink=sink or RecordingSink(),
    )


def error_rate(address: str, **config: Any) -> CheckSpec:
    defaults: dict[str, Any] = {
        "address": address,
        "query": METRIC + '{app="{{app}}", env="{{environment}}"}',
        "success": "result[0] < 0.01",
        "interval": "1s",
        "count": 3,
    }
    return CheckSpec.parse("error-rate", "prometheus", {**defaults, **config})


def exported(prometheus: PrometheusServer, value: float) -> str:
    """A fresh app whose error ratio Prometheus has scraped as `value`."""
    app = f"app-{uuid.uuid4().hex[:8]}"
    prometheus.exporter.set(METRIC, value, app=app, env="staging")
    prometheus.wait_for_value(f'{METRIC}{{app="{app}"}}', lambda v: v == value)
    return app


async def test_passing_metric(prometheus: PrometheusServer) -> None:
    app = exported(prometheus, 0.001)
    sink = RecordingSink()
    result, state = await run_to_completion(context(app, sink), error_rate(prometheus.url))
    assert result.outcome == "passed", result.reason
    assert [m.outcome for m in result.measurements] == ["passed"] * 3
    assert result.measurements[0].value == [0.001]
    assert "3 passed, 0 failed" in result.reason
    assert len(sink.measurements) == 3
    assert state["plugin"]["taken"] == 3
    json.dumps(state, allow_nan=False)  # persistable as is


async def test_failing_metric_exceeds_failure_limit(prometheus: PrometheusServer) -> None:
    app = exported(prometheus, 0.5)
    spec = error_rate(prometheus.url, count=5, failureLimit=1)
    result, _ = await run_to_completion(context(app), spec)
    assert result.outcome == "failed"
    assert [m.outcome for m in result.measurements] == ["failed", "failed"]
    assert "more than failureLimit 1" in result.reason
    assert "result [0.5]" in result.reason


async def test_failure_condition_and_inconclusive_band(prometheus: PrometheusServer) -> None:
    app = exported(prometheus, 0.05)  # neither < 0.01 (success) nor > 0.1 (failure)
    spec = error_rate(
        prometheus.url,
        failure="result[0] > 0.1",
        count=3,
        inconclusiveLimit=1,
    )
    result, state = await run_to_completion(context(app), spec)
    assert result.outcome == "inconclusive"
    assert [m.outcome for m in result.measurements] == ["inconclusive", "inconclusive"]
    assert "waiting for a person" in result.reason

    decided = resolve_inconclusive(state, passed=True, by="alice", comment="known noise")
    final = result_of(decided)
    assert final is not None
    assert final.outcome == "passed"
    assert final.resolution is not None
    assert final.resolution.by == "alice"
    assert "marked passed by alice" in final.reason


async def test_no_data_is_inconclusive_until_a_person_decides(
    prometheus: PrometheusServer,
) -> None:
    spec = error_rate(prometheus.url)
    ctx = context(f"missing-{uuid.uuid4().hex[:8]}")
    result, state = await run_to_completion(ctx, spec)
    assert result.outcome == "inconclusive"
    assert result.measurements[0].outcome == "inconclusive"
    assert "no data" in result.measurements[0].detail

    # Stepping again waits: no new measurement until someone decides.
    again, state = await step(ctx, spec, state)
    assert again.outcome == "inconclusive"
    assert len(again.measurements) == 1

    state = resolve_inconclusive(state, passed=False, by="bob")
    final, state = await step(ctx, spec, state)
    assert final.outcome == "failed"
    assert "marked failed by bob" in final.reason
    with pytest.raises(CheckStateError, match="already decided"):
        resolve_inconclusive(state, passed=True, by="carol")


async def test_resume_from_persisted_state(prometheus: PrometheusServer) -> None:
    app = exported(prometheus, 0.002)
    spec = error_rate(prometheus.url)
    first, state = await step(context(app), spec)
    assert first.outcome == "running"
    assert len(first.measurements) == 1

    # A new runner (as after a restart) continues from the state: two more measurements.
    sink = RecordingSink()
    result, state = await run_to_completion(context(app, sink), spec, state)
    assert result.outcome == "passed", result.reason
    assert len(result.measurements) == 3
    assert len(sink.measurements) == 2
    assert state["plugin"]["taken"] == 3


async def test_metric_turning_bad_mid_way_fails(prometheus: PrometheusServer) -> None:
    app = exported(prometheus, 0.001)
    spec = error_rate(prometheus.url, count=6, failureLimit=0)
    first, state = await step(context(app), spec)
    assert first.outcome == "running"
    prometheus.exporter.set(METRIC, 0.9, app=app, env="staging")
    prometheus.wait_for_value(f'{METRIC}{{app="{app}"}}', lambda v: v == 0.9)
    result, _ = await run_to_completion(context(app), spec, state)
    assert result.outcome == "failed"
    assert result.measurements[0].outcome == "passed"
    assert result.measurements[-1].outcome == "failed"


async def test_unreachable_prometheus_errors_then_fails() -> None:
    spec = error_rate(f"http://127.0.0.1:{free_port()}", consecutiveErrorLimit=1)
    result, _ = await run_to_completion(context("x"), spec)
    assert result.outcome == "failed"
    assert [m.outcome for m in result.measurements] == ["error", "error"]
    assert "more than consecutiveErrorLimit 1" in result.reason


async def test_bad_promql_is_an_error_measurement(prometheus: PrometheusServer) -> None:
    spec = error_rate(prometheus.url, query="sum(", consecutiveErrorLimit=0)
    result, _ = await run_to_completion(context("x"), spec)
    assert result.outcome == "failed"
    assert "parse error" in result.measurements[0].detail
