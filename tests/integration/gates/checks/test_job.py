"""The job check on a real local cluster (kwok nodes: Job pods complete with exit 0, or
fail when their template has the label `shiplane.dev/simulate: fail`)."""

from __future__ import annotations

from typing import Any

import pytest
from lightkube import AsyncClient
from lightkube.core.exceptions import ApiError
from lightkube.resources.batch_v1 import Job

from shiplane.gates.checks import (
    CheckContext,
    CheckSpec,
    RecordingSink,
    ReleaseInfo,
    SystemClock,
    job_name,
    run_to_completion,
    step,
)
from shiplane.gates.checks.job import RUN_LABEL

pytestmark = [pytest.mark.anyio, pytest.mark.cluster]


def context(client: AsyncClient, namespace: str, run_id: str = "prm-job-1") -> CheckContext:
    return CheckContext(
        environment="qa",
        namespace=namespace,
        release=ReleaseInfo("rel-3f9c2a"),
        apps=("checkout",),
        run_id=run_id,
        kube=lambda: client,
        clock=SystemClock(),
        sink=RecordingSink(),
    )


def job(name: str = "smoke-job", **config: Any) -> CheckSpec:
    defaults: dict[str, Any] = {
        "image": "registry.example/shop/smoke:1.0",
        "command": ["/smoke"],
        "args": ["--env", "qa"],
        "env": {"TARGET": "http://checkout"},
        "timeout": "2m",
        "interval": "1s",
    }
    return CheckSpec.parse(name, "job", {**defaults, **config})


async def jobs_of(client: AsyncClient, namespace: str) -> list[Job]:
    return [j async for j in client.list(Job, namespace=namespace)]


async def test_passing_job(aclient: AsyncClient, namespace: str) -> None:
    ctx = context(aclient, namespace)
    result, state = await run_to_completion(ctx, job())
    assert result.outcome == "passed", result.reason
    assert result.logs is None
    assert "Job completed" in result.reason
    name = job_name("smoke-job", "prm-job-1")
    created = await aclient.get(Job, name, namespace=namespace)
    assert created.spec is not None
    assert created.spec.ttlSecondsAfterFinished == 3600
    assert created.spec.activeDeadlineSeconds == 120
    container = created.spec.template.spec.containers[0]
    assert container.image == "registry.example/shop/smoke:1.0"
    assert container.command == ["/smoke"]
    assert state["plugin"]["job"] == name


async def test_failing_job_reports_reason_and_logs(aclient: AsyncClient, namespace: str) -> None:
    ctx = context(aclient, namespace)
    spec = job(labels={"shiplane.dev/simulate": "fail"}, ttl="0s")
    result, _ = await run_to_completion(ctx, spec)
    assert result.outcome == "failed"
    assert "Job failed" in result.reason
    assert "BackoffLimitExceeded" in result.reason
    assert result.logs is not None
    assert "simulated failure (shiplane.dev/simulate=fail)" in result.logs
    assert "exit code 1" in result.logs
    assert "condition Failed" in result.logs
    # ttl 0s: the Job is deleted (background propagation) once its result is taken.
    with pytest.raises(ApiError) as missing:
        await aclient.get(Job, job_name("smoke-job", "prm-job-1"), namespace=namespace)
    assert missing.value.status.code == 404


async def test_restart_finds_the_same_job(aclient: AsyncClient, namespace: str) -> None:
    spec = job("restartable")
    ctx = context(aclient, namespace, run_id="prm-restart")
    # Two steps from an empty state, as after a crash before the state was saved.
    first, state_a = await step(ctx, spec)
    _, state_b = await step(ctx, spec)
    assert state_a["plugin"]["job"] == state_b["plugin"]["job"]
    jobs = await jobs_of(aclient, namespace)
    assert [j.metadata.name for j in jobs if j.metadata] == [job_name("restartable", "prm-restart")]
    assert jobs[0].metadata is not None
    assert jobs[0].metadata.labels is not None
    assert RUN_LABEL in jobs[0].metadata.labels

    # Another run of the same check gets its own Job.
    other = context(aclient, namespace, run_id="prm-other")
    await step(other, spec)
    assert len(await jobs_of(aclient, namespace)) == 2

    result, _ = await run_to_completion(ctx, spec, state_b if first.outcome == "running" else None)
    assert result.outcome == "passed", result.reason
    assert len(await jobs_of(aclient, namespace)) == 2


async def test_pod_spec_form(aclient: AsyncClient, namespace: str) -> None:
    spec = CheckSpec.parse(
        "podspec",
        "job",
        {
            "podSpec": {
                "containers": [
                    {"name": "migrate", "image": "registry.example/db:1", "args": ["up"]}
                ]
            },
            "interval": "1s",
        },
    )
    result, _ = await run_to_completion(context(aclient, namespace), spec)
    assert result.outcome == "passed", result.reason
    created = await aclient.get(Job, job_name("podspec", "prm-job-1"), namespace=namespace)
    assert created.spec is not None
    assert created.spec.template.spec.restartPolicy == "Never"
    assert created.spec.template.spec.containers[0].name == "migrate"
