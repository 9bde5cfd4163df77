"""`http`: call an endpoint and evaluate a CEL expectation over the response, with retries.

One attempt per step; a failed attempt is retried after `interval` until `attempts` are
used up. Every attempt is a measurement. The expectation sees `response.status` (int),
`response.headers` (lower-case names), `response.body` (text) and `response.json` (the
parsed body, or null when it is not JSON).
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

import httpx

from shiplane.config.durations import format_duration
from shiplane.config.models import HttpCheckConfig
from shiplane.domain.expressions import ExpressionError, evaluate_bool
from shiplane.domain.templates import render_template
from shiplane.gates.checks.base import (
    CHECKS,
    Check,
    CheckContext,
    Measurement,
    Progress,
    not_before,
    to_iso,
)

MAX_BODY_CHARS = 64 * 1024
"""Bodies are cut to this many characters before evaluation and in measurements."""


def response_variables(response: httpx.Response) -> dict[str, Any]:
    """What the expectation sees as `response`."""
    body = response.text[:MAX_BODY_CHARS]
    parsed: Any = None
    content_type = response.headers.get("content-type", "")
    if "json" in content_type or body.lstrip()[:1] in ("{", "["):
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
    headers: dict[str, str] = {}
    for key, value in response.headers.multi_items():
        key = key.lower()
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    return {"status": response.status_code, "headers": headers, "body": body, "json": parsed}


class HttpCheck(Check[HttpCheckConfig]):
    kind = "http"

    async def step(
        self, ctx: CheckContext, name: str, config: HttpCheckConfig, state: dict[str, Any]
    ) -> Progress:
        values = ctx.template_values()
        url = render_template(config.url, values)
        waiting = not_before(ctx, state)
        if waiting is not None:
            return Progress("running", "waiting to retry", state, [], None, waiting)
        attempt = int(state.get("attempts", 0)) + 1
        started = time.monotonic()
        value: dict[str, Any] = {"attempt": attempt, "url": url}
        try:
            async with httpx.AsyncClient(timeout=config.timeout, follow_redirects=False) as client:
                response = await client.request(
                    config.method,
                    url,
                    headers={k: render_template(v, values) for k, v in config.headers.items()},
                    content=render_template(config.body, values) if config.body else None,
                )
        except httpx.TimeoutException:
            ok = False
            detail = f"{config.method} {url}: no response within {format_duration(config.timeout)}"
        except httpx.HTTPError as exc:
            ok = False
            detail = f"{config.method} {url}: {type(exc).__name__}: {exc}"
        else:
            variables = response_variables(response)
            value["status"] = response.status_code
            try:
                ok = evaluate_bool(
                    config.expect, {**ctx.expression_values(), "response": variables}
                )
                detail = (
                    f"{config.method} {url} -> {response.status_code}; "
                    f"{config.expect} is {str(ok).lower()}"
                )
            except ExpressionError as exc:
                if exc.fatal:
                    raise  # a wrong expression: the check fails at once (runner.step)
                ok = False
                detail = f"{config.method} {url} -> {response.status_code}; {exc}"
            if not ok:
                value["body"] = variables["body"][:1024]
        value["seconds"] = round(time.monotonic() - started, 3)

        now = ctx.clock.now()
        state["attempts"] = attempt
        measurement = Measurement(now, value, "passed" if ok else "failed", detail)
        of = f"attempt {attempt} of {config.attempts}"
        if ok:
            return Progress("passed", f"{detail} ({of})", state, [measurement])
        if attempt >= config.attempts:
            return Progress("failed", f"{detail} ({of})", state, [measurement])
        next_at = now + timedelta(seconds=config.interval)
        state["notBefore"] = to_iso(next_at)
        return Progress(
            "running", f"{detail} ({of}); retrying", state, [measurement], None, next_at
        )


CHECKS.register(
    "http", schema=HttpCheckConfig, description="an HTTP request and a CEL expectation"
)(HttpCheck())
