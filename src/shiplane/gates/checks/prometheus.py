"""`prometheus`: a PromQL query measured repeatedly, judged like an Argo Rollouts
AnalysisTemplate.

Each measurement runs `query` (with `{{environment}}`, `{{namespace}}`, `{{app}}`,
`{{release}}` filled in) and binds `result`: a number for a scalar, a list of numbers for
a vector (one per series), a list of lists for a matrix. Judging one measurement:

- `failure` true -> failed; else `success` true -> passed;
- only `success` given: false -> failed; only `failure` given: false -> passed;
- both given and neither true -> inconclusive; an empty result (no data) -> inconclusive;
- the query or an expression erring -> error (not counted toward `count`).

The check fails when failed measurements exceed `failureLimit` (or errors in a row exceed
`consecutiveErrorLimit`), turns inconclusive -- waiting for a person -- when inconclusive
ones exceed `inconclusiveLimit`, and otherwise passes after `count` measurements.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import httpx

from shiplane.config.durations import format_duration
from shiplane.config.models import PrometheusCheckConfig
from shiplane.domain.expressions import ExpressionError, evaluate_bool
from shiplane.domain.templates import render_template
from shiplane.gates.checks.base import (
    CHECKS,
    Check,
    CheckContext,
    Measurement,
    MeasurementOutcome,
    Progress,
    from_iso,
    not_before,
    to_iso,
)


class QueryError(Exception):
    """Prometheus could not answer the query."""


def _number(raw: Any) -> float:
    return float(raw)  # Prometheus sends "NaN", "+Inf", "1.5" as strings


def parse_result(payload: Any) -> tuple[Any, bool]:
    """`(result, has_data)` from a `/api/v1/query` response body."""
    if not isinstance(payload, dict) or payload.get("status") != "success":
        error = payload.get("error") if isinstance(payload, dict) else None
        raise QueryError(f"Prometheus answered an error: {error or payload!r}")
    data = payload.get("data") or {}
    kind = data.get("resultType")
    raw: Any = data.get("result") or []
    if kind == "scalar":
        return _number(raw[1]), True
    if kind == "string":
        return str(raw[1]), True
    if kind == "vector":
        values = [_number(sample["value"][1]) for sample in raw]
        return values, bool(values)
    if kind == "matrix":
        series = [[_number(v[1]) for v in s["values"]] for s in raw]
        return series, bool(series)
    raise QueryError(f"unexpected result type {kind!r}")


async def run_query(address: str, query: str, seconds: float) -> tuple[Any, bool]:
    url = address.rstrip("/") + "/api/v1/query"
    try:
        async with httpx.AsyncClient(timeout=seconds) as client:
            response = await client.get(url, params={"query": query})
    except httpx.HTTPError as exc:
        raise QueryError(f"{url}: {type(exc).__name__}: {exc}") from None
    try:
        payload = response.json()
    except ValueError:
        raise QueryError(f"{url} -> {response.status_code}: {response.text[:300]}") from None
    if response.status_code >= 400 and payload.get("status") != "error":
        raise QueryError(f"{url} -> {response.status_code}: {response.text[:300]}")
    return parse_result(payload)


def judge(
    config: PrometheusCheckConfig, result: Any, context: dict[str, Any] | None = None
) -> tuple[MeasurementOutcome, str]:
    """Argo Rollouts' rules for one measurement (raises ExpressionError). `context`: more
    variables (`CheckContext.expression_values()`)."""
    variables = {**(context or {}), "result": result}
    if config.failure is not None and evaluate_bool(config.failure, variables):
        return "failed", f"failure condition {config.failure!r} is true"
    if config.success is not None:
        if evaluate_bool(config.success, variables):
            return "passed", f"success condition {config.success!r} is true"
        if config.failure is None:
            return "failed", f"success condition {config.success!r} is false"
        return "inconclusive", "neither the success nor the failure condition is true"
    return "passed", f"failure condition {config.failure!r} is false"


def _describe(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:g}"
    return repr(value)


class PrometheusCheck(Check[PrometheusCheckConfig]):
    kind = "prometheus"

    async def step(
        self, ctx: CheckContext, name: str, config: PrometheusCheckConfig, state: dict[str, Any]
    ) -> Progress:
        now = ctx.clock.now()
        if "startedAt" not in state:
            state.update(
                startedAt=to_iso(now),
                notBefore=to_iso(now + timedelta(seconds=config.initial_delay)),
                taken=0,
                passed=0,
                failed=0,
                inconclusive=0,
                errors=0,
                consecutiveErrors=0,
            )
        waiting = not_before(ctx, state)
        if waiting is not None:
            what = "initial delay" if state["taken"] == 0 else "next measurement"
            return Progress("running", f"waiting for the {what}", state, [], None, waiting)

        query = render_template(config.query, ctx.template_values())
        outcome: MeasurementOutcome
        value: Any = None
        try:
            value, has_data = await run_query(config.address, query, config.timeout)
            if not has_data:
                outcome, detail = "inconclusive", f"no data for {query}"
            else:
                outcome, detail = judge(config, value, ctx.expression_values())
                detail = f"result {_describe(value)}: {detail}"
        except ExpressionError as exc:
            if exc.fatal:
                raise  # a wrong expression: the check fails at once (runner.step)
            outcome, detail = "error", f"{type(exc).__name__}: {exc}"
        except (QueryError, ValueError, TypeError, KeyError, IndexError) as exc:
            outcome, detail = "error", f"{type(exc).__name__}: {exc}"
        now = ctx.clock.now()
        measurement = Measurement(now, value, outcome, detail)

        if outcome == "error":
            state["errors"] += 1
            state["consecutiveErrors"] += 1
        else:
            state["consecutiveErrors"] = 0
            state["taken"] += 1
            state[outcome] += 1
        next_at = now + timedelta(seconds=config.interval)
        state["notBefore"] = to_iso(next_at)

        counts = (
            f"{state['passed']} passed, {state['failed']} failed, "
            f"{state['inconclusive']} inconclusive of {config.count}"
        )
        if state["failed"] > config.failure_limit:
            reason = (
                f"{state['failed']} failed measurements, more than failureLimit "
                f"{config.failure_limit} ({counts}); last: {detail}"
            )
            return Progress("failed", reason, state, [measurement])
        if state["consecutiveErrors"] > config.consecutive_error_limit:
            reason = (
                f"{state['consecutiveErrors']} errors in a row, more than "
                f"consecutiveErrorLimit {config.consecutive_error_limit}; last: {detail}"
            )
            return Progress("failed", reason, state, [measurement])
        if state["inconclusive"] > config.inconclusive_limit:
            reason = (
                f"{state['inconclusive']} inconclusive measurements, more than "
                f"inconclusiveLimit {config.inconclusive_limit} ({counts}); last: {detail}; "
                "waiting for a person to pass or fail it"
            )
            return Progress("inconclusive", reason, state, [measurement])
        if state["taken"] >= config.count:
            return Progress("passed", f"{counts}; last: {detail}", state, [measurement])
        started = from_iso(state["startedAt"])
        elapsed = format_duration(int((now - started).total_seconds()))
        return Progress(
            "running",
            f"{counts} after {elapsed}; last: {detail}",
            state,
            [measurement],
            None,
            next_at,
        )


CHECKS.register(
    "prometheus",
    schema=PrometheusCheckConfig,
    description="PromQL measurements judged like an Argo Rollouts analysis",
)(PrometheusCheck())
