"""The runner, soak and health checks with an injected clock; pure helpers of the plugins."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from shiplane.domain.expressions import ExpressionError
from shiplane.domain.templates import TemplateError, render_template
from shiplane.gates.checks import (
    CheckContext,
    CheckResult,
    CheckSetupError,
    CheckSpec,
    CheckStateError,
    HealthReport,
    JobCheckConfig,
    ManualClock,
    PrometheusCheckConfig,
    RecordingSink,
    ReleaseInfo,
    SystemClock,
    job_name,
    resolve_inconclusive,
    result_of,
    run_to_completion,
    step,
)
from shiplane.gates.checks.job import job_manifest
from shiplane.gates.checks.prometheus import judge, parse_result

pytestmark = pytest.mark.anyio


class Health:
    """A scripted health probe: returns the given statuses in turn, then the last one."""

    def __init__(self, *statuses: str) -> None:
        self.statuses = list(statuses)
        self.calls = 0

    async def __call__(self) -> HealthReport:
        self.calls += 1
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return HealthReport(status, f"probe says {status}")


def context(
    clock: Any = None, health: Any = None, apps: tuple[str, ...] = ("checkout",)
) -> CheckContext:
    return CheckContext(
        environment="staging",
        namespace="shop-stg",
        release=ReleaseInfo("rel-3f9c2a", alias="1.4.2"),
        apps=apps,
        run_id="prm-01J",
        clock=clock or ManualClock(),
        health=health,
        sink=RecordingSink(),
    )


# --- soak --------------------------------------------------------------------------------


async def test_soak_with_a_manual_clock_is_resumable() -> None:
    clock = ManualClock()
    spec = CheckSpec.parse("bake", "soak", {"duration": "30m"})
    result, state = await step(context(clock), spec)
    assert result.outcome == "running"
    assert result.next_check_at == clock.now() + timedelta(minutes=30)
    assert "30m left" in result.reason

    clock.advance(timedelta(minutes=20))
    state = json.loads(json.dumps(state))  # persisted and read back
    result, state = await step(context(clock), spec, state)  # a "restarted" runner
    assert result.outcome == "running"
    assert "10m left" in result.reason

    clock.advance(timedelta(minutes=10))
    result, state = await step(context(clock), spec, state)
    assert result.outcome == "passed"
    assert result.reason == "soaked for 30m"
    again, _ = await step(context(clock), spec, state)
    assert again == result


async def test_soak_fails_when_degraded() -> None:
    clock = ManualClock()
    health = Health("Healthy", "Healthy", "Degraded")
    spec = CheckSpec.parse("bake", "soak", {"duration": "10m", "interval": "1m"})
    result, _ = await run_to_completion(context(clock, health), spec)
    assert result.outcome == "failed"
    assert "degraded after 2m of a 10m soak: probe says Degraded" in result.reason
    assert health.calls == 3


async def test_soak_in_real_time() -> None:
    spec = CheckSpec.parse("bake", "soak", {"duration": "1s"})
    clock = SystemClock()
    started = clock.now()
    result, _ = await run_to_completion(context(clock), spec)
    assert result.outcome == "passed"
    assert clock.now() - started >= timedelta(seconds=1)


# --- health ------------------------------------------------------------------------------


async def test_health_waits_then_passes() -> None:
    health = Health("Progressing", "Progressing", "Healthy")
    spec = CheckSpec.parse("health", "health", {"timeout": "1m", "interval": "5s"})
    result, _ = await run_to_completion(context(health=health), spec)
    assert result.outcome == "passed"
    assert [m.outcome for m in result.measurements] == ["inconclusive", "inconclusive", "passed"]


async def test_health_fails_fast_when_degraded_and_at_the_deadline() -> None:
    spec = CheckSpec.parse("health", "health", {"timeout": "1m", "interval": "20s"})
    result, _ = await run_to_completion(context(health=Health("Degraded")), spec)
    assert result.outcome == "failed"
    assert result.reason == "degraded: probe says Degraded"

    clock = ManualClock()
    result, _ = await run_to_completion(context(clock, Health("Progressing")), spec)
    assert result.outcome == "failed"
    assert "not healthy within 1m: Progressing: probe says Progressing" in result.reason
    assert len(result.measurements) == 4  # at 0s, 20s, 40s, 60s


async def test_health_needs_a_probe() -> None:
    spec = CheckSpec.parse("health", "health", {})
    with pytest.raises(CheckSetupError, match="needs a health probe"):
        await step(context(), spec)


# --- runner ------------------------------------------------------------------------------


async def test_state_of_another_check_is_refused() -> None:
    soak = CheckSpec.parse("bake", "soak", {"duration": "1m"})
    other = CheckSpec.parse("other", "soak", {"duration": "1m"})
    _, state = await step(context(), soak)
    with pytest.raises(
        CheckStateError, match="state of soak check 'bake' given to soak check 'other'"
    ):
        await step(context(), other, state)


async def test_step_does_not_mutate_the_given_state() -> None:
    spec = CheckSpec.parse("bake", "soak", {"duration": "1m"})
    _, state = await step(context(), spec)
    frozen = json.dumps(state, sort_keys=True)
    await step(context(), spec, state)
    assert json.dumps(state, sort_keys=True) == frozen


async def test_results_round_trip_through_json() -> None:
    clock = ManualClock()
    spec = CheckSpec.parse("bake", "soak", {"duration": "1m"})
    result, state = await run_to_completion(context(clock), spec)
    assert CheckResult.from_json(json.loads(json.dumps(result.to_json()))) == result
    assert result_of(state) == result


def test_resolve_inconclusive_refuses_other_states() -> None:
    with pytest.raises(CheckStateError, match="is not inconclusive"):
        resolve_inconclusive({"check": "c", "pending": None, "final": None}, True, "alice")
    with pytest.raises(CheckStateError, match="say who decides"):
        resolve_inconclusive({"check": "c", "pending": {"x": 1}}, True, " ")


async def test_max_steps_bounds_the_loop() -> None:
    spec = CheckSpec.parse("bake", "soak", {"duration": "1h", "interval": "1m"})
    result, state = await run_to_completion(context(health=Health("Healthy")), spec, max_steps=3)
    assert result.outcome == "running"
    assert state["steps"] == 3


# --- helpers of the plugins ----------------------------------------------------------------


def test_templates() -> None:
    ctx = context(apps=("checkout", "payments"))
    values = ctx.template_values()
    text = 'rate{app=~"{{app}}", ns="{{ namespace }}", rel="{{release}}", env="{{environment}}"}'
    assert render_template(text, values) == (
        'rate{app=~"checkout|payments", ns="shop-stg", rel="rel-3f9c2a", env="staging"}'
    )
    with pytest.raises(TemplateError, match="unknown placeholder"):
        render_template("{{nope}}", values)


def test_prometheus_results_and_judging() -> None:
    def answer(kind: str, result: Any) -> Any:
        return {"status": "success", "data": {"resultType": kind, "result": result}}

    assert parse_result(answer("scalar", [1.0, "0.25"])) == (0.25, True)
    assert parse_result(answer("vector", [])) == ([], False)
    vector = answer(
        "vector", [{"metric": {}, "value": [1.0, "1"]}, {"metric": {}, "value": [1.0, "NaN"]}]
    )
    values, has_data = parse_result(vector)
    assert has_data and values[0] == 1.0 and values[1] != values[1]  # NaN
    assert parse_result(answer("matrix", [{"values": [[1, "1"], [2, "2"]]}])) == (
        [[1.0, 2.0]],
        True,
    )

    def prom(**conditions: str) -> PrometheusCheckConfig:
        return PrometheusCheckConfig.model_validate(
            {"address": "http://p:9090", "query": "q", **conditions}
        )

    both = prom(success="result < 0.01", failure="result > 0.1")
    assert judge(both, 0.001)[0] == "passed"
    assert judge(both, 0.5)[0] == "failed"
    assert judge(both, 0.05)[0] == "inconclusive"
    assert judge(prom(failure="result > 0.1"), 0.05)[0] == "passed"
    assert judge(prom(success="result < 0.01"), 0.05)[0] == "failed"
    with pytest.raises(ExpressionError, match="must be true or false"):
        judge(prom(success="result"), 1.0)
    scoped = prom(success="result < 0.01 && environment.name == 'staging' && app == 'checkout'")
    assert judge(scoped, 0.001, context().expression_values())[0] == "passed"


def test_job_names_are_deterministic_and_valid() -> None:
    assert job_name("smoke", "prm-1") == job_name("smoke", "prm-1")
    assert job_name("smoke", "prm-1") != job_name("smoke", "prm-2")
    long = job_name("a-very-long-check-name-" * 5, "prm-1")
    assert len(long) <= 63 and not long.startswith("-") and not long.endswith("-")
    assert job_name("Smoke_Test", "r").startswith("check-smoke-test-")

    config = JobCheckConfig.model_validate(
        {"image": "busybox", "ttl": "0s", "serviceAccount": "sa"}
    )
    manifest = job_manifest(context(), "smoke", config)
    assert "ttlSecondsAfterFinished" not in manifest["spec"]
    pod = manifest["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "sa" and pod["restartPolicy"] == "Never"
    assert manifest["metadata"]["annotations"]["shiplane.dev/release"] == "rel-3f9c2a"


def test_job_image_can_be_the_release_image_of_the_app() -> None:
    ctx = CheckContext(
        environment="staging",
        namespace="shop-stg",
        release=ReleaseInfo("rel-1", artifacts={"checkout": "reg.example/checkout:2.0-fail"}),
        apps=("checkout",),
        run_id="prm-01J",
    )
    config = JobCheckConfig.model_validate({"image": "{{image}}"})
    manifest = job_manifest(ctx, "smoke", config)
    container = manifest["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "reg.example/checkout:2.0-fail"


def test_measurements_stay_valid_json() -> None:
    from shiplane.gates.checks import Measurement

    clock = ManualClock()
    m = Measurement(clock.now(), [float("nan"), float("inf"), 0.5], "failed", "x")
    data = json.loads(json.dumps(m.to_json(), allow_nan=False))
    assert data["value"] == ["NaN", "+Inf", 0.5]
    assert Measurement.from_json(data).time == clock.now()
