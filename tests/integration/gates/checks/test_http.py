"""The http check against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import pytest

from shiplane.gates.checks import (
    CheckContext,
    CheckSpec,
    ManualClock,
    RecordingSink,
    ReleaseInfo,
    SystemClock,
    run_to_completion,
    step,
)
from tests.integration.gates.checks.conftest import ScriptedServer

pytestmark = pytest.mark.anyio


def context(*, clock: Any = None, sink: RecordingSink | None = None) -> CheckContext:
    return CheckContext(
        environment="qa",
        namespace="shop-qa",
        release=ReleaseInfo("rel-3f9c2a", alias="1.4.2", labels={"branch": "main"}),
        apps=("checkout",),
        run_id="prm-1",
        clock=clock or ManualClock(),
        sink=sink or RecordingSink(),
    )


def http(name: str = "smoke", **config: Any) -> CheckSpec:
    return CheckSpec.parse(name, "http", config)


async def test_passes_on_200(http_server: ScriptedServer) -> None:
    sink = RecordingSink()
    result, state = await run_to_completion(context(sink=sink), http(url=f"{http_server.url}/ok"))
    assert result.outcome == "passed", result.reason
    assert len(result.measurements) == 1
    assert result.measurements[0].value["status"] == 200
    assert [c for c, _ in sink.measurements] == ["smoke"]
    assert state["final"]["outcome"] == "passed"


async def test_fails_on_status(http_server: ScriptedServer) -> None:
    result, _ = await run_to_completion(context(), http(url=f"{http_server.url}/status/500"))
    assert result.outcome == "failed"
    assert "-> 500" in result.reason
    assert "response.status == 200 is false" in result.reason
    assert result.measurements[0].value["body"] == "status 500"


async def test_cel_over_json_body_and_headers(http_server: ScriptedServer) -> None:
    ok = http(
        url=f"{http_server.url}/ok",
        expect=(
            "response.status == 200 && response.json.status == 'ok' && "
            "response.json.version.startsWith('1.4') && "
            "response.headers['x-served-by'] == 'shiplane-test' && "
            "response.body.contains('version')"
        ),
    )
    result, _ = await run_to_completion(context(), ok)
    assert result.outcome == "passed", result.reason

    wrong = http(url=f"{http_server.url}/ok", expect="response.json.version == '2.0.0'")
    result, _ = await run_to_completion(context(), wrong)
    assert result.outcome == "failed"
    assert "is false" in result.reason

    not_json = http(url=f"{http_server.url}/status/200", expect="response.json.ok == true")
    result, _ = await run_to_completion(context(), not_json)
    assert result.outcome == "failed"
    assert "response.json.ok == true" in result.reason  # the evaluation error is explained


async def test_templated_request_with_method_headers_and_body(
    http_server: ScriptedServer,
) -> None:
    spec = http(
        url=f"{http_server.url}/echo",
        method="POST",
        headers={"X-Release": "{{release}}"},
        body='{"env": "{{environment}}", "app": "{{app}}"}',
        expect=(
            "response.json.method == 'POST' && "
            "response.json.headers['x-release'] == 'rel-3f9c2a' && "
            'response.json.body == \'{"env": "qa", "app": "checkout"}\''
        ),
    )
    result, _ = await run_to_completion(context(), spec)
    assert result.outcome == "passed", result.reason


async def test_retries_then_passes_in_real_time(http_server: ScriptedServer) -> None:
    sink = RecordingSink()
    spec = http(url=f"{http_server.url}/flaky/real/2", attempts=4, interval="1s")
    result, state = await run_to_completion(context(clock=SystemClock(), sink=sink), spec)
    assert result.outcome == "passed", result.reason
    assert [m.outcome for m in result.measurements] == ["failed", "failed", "passed"]
    assert [m.value["attempt"] for m in result.measurements] == [1, 2, 3]
    assert "attempt 3 of 4" in result.reason
    assert len(sink.measurements) == 3
    assert state["plugin"]["attempts"] == 3


async def test_retries_are_resumable_and_not_early(http_server: ScriptedServer) -> None:
    clock = ManualClock()
    spec = http(url=f"{http_server.url}/flaky/resume/1", attempts=2, interval="30s")
    first, state = await step(context(clock=clock), spec)
    assert first.outcome == "running"
    assert first.next_check_at is not None
    # Woken early (or restarted) before the interval: no new request.
    again, state = await step(context(clock=clock), spec, state)
    assert again.outcome == "running"
    assert len(again.measurements) == 1
    clock.set(first.next_check_at)
    final, _ = await step(context(clock=clock), spec, state)
    assert final.outcome == "passed"
    assert http_server.counts["resume"] == 2


async def test_gives_up_after_attempts(http_server: ScriptedServer) -> None:
    spec = http(url=f"{http_server.url}/flaky/never/99", attempts=3, interval="5s")
    result, _ = await run_to_completion(context(), spec)
    assert result.outcome == "failed"
    assert len(result.measurements) == 3
    assert "attempt 3 of 3" in result.reason


async def test_timeout(http_server: ScriptedServer) -> None:
    spec = http(url=f"{http_server.url}/slow", timeout="1s")
    result, _ = await run_to_completion(context(clock=SystemClock()), spec)
    assert result.outcome == "failed"
    assert "no response within 1s" in result.reason


async def test_connection_refused_is_a_failed_attempt() -> None:
    from tests.support.prometheus import free_port

    spec = http(url=f"http://127.0.0.1:{free_port()}/", attempts=2, interval="1s")
    result, _ = await run_to_completion(context(), spec)
    assert result.outcome == "failed"
    assert "ConnectError" in result.reason
    assert [m.outcome for m in result.measurements] == ["failed", "failed"]


async def test_expectation_sees_the_context(http_server: ScriptedServer) -> None:
    spec = http(
        url=f"{http_server.url}/echo",
        headers={"X-Release": "{{release}}"},
        expect=(
            "response.json.headers['x-release'] == release.id && release.alias == '1.4.2' && "
            "release.labels.branch == 'main' && environment.name == 'qa' && app == 'checkout' && "
            "environment.namespace == 'shop-qa' && apps == ['checkout']"
        ),
    )
    result, _ = await run_to_completion(context(), spec)
    assert result.outcome == "passed", result.reason


async def test_a_wrong_expression_fails_at_once_instead_of_retrying(
    http_server: ScriptedServer,
) -> None:
    # It compiles (so the config accepts it), but names no variable the check has.
    typo = http(url=f"{http_server.url}/ok", expect="respnse.status == 200", attempts=5)
    result, _ = await step(context(), typo)
    assert result.outcome == "failed"
    assert result.reason.startswith("invalid configuration: `respnse.status == 200`")
    assert "unknown name 'respnse'" in result.reason
