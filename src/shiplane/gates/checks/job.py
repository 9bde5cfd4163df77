"""`job`: run a Kubernetes Job in the environment's namespace; success is its completion.

The Job's name is derived from (check name, run id), so a step repeated after a restart
finds the Job it created instead of creating a second one. On failure the check gathers
what explains it: Job conditions, pod phase and reasons, container termination messages,
and the container logs when the cluster can serve them. The finished Job is removed with
background propagation: at once (`ttl: 0s`) or by Kubernetes' TTL controller after `ttl`.
"""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any, cast

import anyio
import httpx
from lightkube import AsyncClient
from lightkube.core.exceptions import ApiError
from lightkube.resources.batch_v1 import Job
from lightkube.resources.core_v1 import Pod
from lightkube.types import CascadeType

from shiplane.config.durations import format_duration
from shiplane.config.models import JobCheckConfig
from shiplane.domain.templates import render_template
from shiplane.gates.checks.base import (
    CHECKS,
    Check,
    CheckContext,
    Measurement,
    Progress,
    from_iso,
    to_iso,
)

CHECK_LABEL = "shiplane.dev/check"
RUN_LABEL = "shiplane.dev/check-run"
MANAGED_BY = {"app.kubernetes.io/managed-by": "shiplane"}
CONTAINER = "check"
LOG_TAIL_LINES = 200
LOG_TIMEOUT = 5.0


def _dns_label(text: str) -> str:
    return re.sub(r"-+", "-", re.sub(r"[^a-z0-9-]", "-", text.lower())).strip("-")


def run_digest(check: str, run_id: str) -> str:
    return hashlib.sha256(f"{check}\0{run_id}".encode()).hexdigest()[:10]


def job_name(check: str, run_id: str) -> str:
    """`check-<name>-<digest of (name, run id)>`, at most 63 characters."""
    digest = run_digest(check, run_id)
    prefix = ("check-" + _dns_label(check))[: 63 - len(digest) - 1].rstrip("-")
    return f"{prefix}-{digest}"


def job_manifest(ctx: CheckContext, check: str, config: JobCheckConfig) -> dict[str, Any]:
    digest = run_digest(check, ctx.run_id)
    labels = {**MANAGED_BY, CHECK_LABEL: _dns_label(check)[:63], RUN_LABEL: digest}
    if config.pod_spec is not None:
        pod_spec = dict(config.pod_spec)
        pod_spec.setdefault("restartPolicy", "Never")
    else:
        image = render_template(config.image or "", ctx.template_values())
        container: dict[str, Any] = {"name": CONTAINER, "image": image}
        if config.command:
            container["command"] = list(config.command)
        if config.args:
            container["args"] = list(config.args)
        if config.env:
            container["env"] = [{"name": k, "value": v} for k, v in config.env.items()]
        pod_spec = {"containers": [container], "restartPolicy": "Never"}
        if config.service_account:
            pod_spec["serviceAccountName"] = config.service_account
    spec: dict[str, Any] = {
        "backoffLimit": config.backoff_limit,
        "activeDeadlineSeconds": config.timeout,
        "template": {"metadata": {"labels": {**config.labels, **labels}}, "spec": pod_spec},
    }
    if config.ttl > 0:
        spec["ttlSecondsAfterFinished"] = config.ttl
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name(check, ctx.run_id),
            "namespace": ctx.namespace,
            "labels": labels,
            "annotations": {
                "shiplane.dev/run-id": ctx.run_id,
                "shiplane.dev/release": ctx.release.id,
                "shiplane.dev/environment": ctx.environment,
            },
        },
        "spec": spec,
    }


def _finished(job: Job) -> tuple[str, str] | None:
    """("passed"|"failed", reason) once the Job has a terminal condition."""
    for condition in (job.status.conditions if job.status else None) or []:
        if condition.status != "True":
            continue
        why = ": ".join(p for p in (condition.reason, condition.message) if p)
        if condition.type in ("Complete", "SuccessCriteriaMet"):
            return "passed", f"Job completed{f' ({why})' if why else ''}"
        if condition.type in ("Failed", "FailureTarget"):
            return "failed", f"Job failed{f': {why}' if why else ''}"
    return None


async def _container_log(client: AsyncClient, pod: str, namespace: str, container: str) -> str:
    lines: list[str] = []
    with anyio.fail_after(LOG_TIMEOUT):
        async for line in client.log(
            pod, namespace=namespace, container=container, tail_lines=LOG_TAIL_LINES
        ):
            lines.append(line)
    return "".join(lines).rstrip()


async def collect_logs(client: AsyncClient, job: Job, namespace: str) -> str:
    """What explains a Job's end: its conditions, its pods' status, container termination
    messages, and container logs where the cluster serves them."""
    out: list[str] = []
    name = job.metadata.name if job.metadata else ""
    for condition in (job.status.conditions if job.status else None) or []:
        if condition.status == "True":
            text = ": ".join(p for p in (condition.reason, condition.message) if p)
            out.append(f"Job {name} condition {condition.type}: {text or 'no reason given'}")
    pods = [p async for p in client.list(Pod, namespace=namespace, labels={"job-name": name})]
    if not pods:
        out.append(f"no pods of Job {name} found")
    for pod in sorted(pods, key=lambda p: (p.metadata.name or "") if p.metadata else ""):
        pod_name = (pod.metadata.name if pod.metadata else None) or "?"
        status = pod.status
        head = f"pod {pod_name}: phase {status.phase if status else 'unknown'}"
        if status and (status.reason or status.message):
            head += ": " + ": ".join(p for p in (status.reason, status.message) if p)
        out.append(head)
        statuses = [
            *((status.initContainerStatuses or []) if status else []),
            *((status.containerStatuses or []) if status else []),
        ]
        for cs in statuses:
            term = (cs.state.terminated if cs.state else None) or (
                cs.lastState.terminated if cs.lastState else None
            )
            if term is not None:
                line = f"  container {cs.name}: exit code {term.exitCode}"
                if term.reason:
                    line += f" ({term.reason})"
                if term.message:
                    line += f": {term.message.strip()}"
                out.append(line)
            elif cs.state and cs.state.waiting:
                waiting = cs.state.waiting
                out.append(
                    f"  container {cs.name}: waiting ({waiting.reason}): {waiting.message or ''}"
                )
            try:
                text = await _container_log(client, pod_name, namespace, cs.name)
            except (ApiError, httpx.HTTPError, TimeoutError, OSError) as exc:
                out.append(f"  (log of {cs.name} unavailable: {str(exc).splitlines()[0][:200]})")
            else:
                if text:
                    out.append(f"  --- log of {cs.name} (last {LOG_TAIL_LINES} lines) ---")
                    out.extend("  " + line for line in text.splitlines())
    return "\n".join(out)


async def _delete(client: AsyncClient, name: str, namespace: str) -> None:
    try:
        await client.delete(Job, name, namespace=namespace, cascade=CascadeType.BACKGROUND)
    except ApiError as exc:
        if exc.status.code != 404:
            raise


class JobCheck(Check[JobCheckConfig]):
    kind = "job"

    async def step(
        self, ctx: CheckContext, name: str, config: JobCheckConfig, state: dict[str, Any]
    ) -> Progress:
        client = ctx.client()
        ns = ctx.namespace
        now = ctx.clock.now()
        jname = job_name(name, ctx.run_id)
        state.setdefault("job", jname)
        state.setdefault("startedAt", to_iso(now))

        if not state.get("created"):
            manifest = job_manifest(ctx, name, config)
            try:
                await client.create(cast(Job, Job.from_dict(manifest)))
                ctx.sink.progress(name, f"created Job {ns}/{jname}")
            except ApiError as exc:
                if exc.status.code != 409:
                    raise
            state["created"] = True

        try:
            job = await client.get(Job, jname, namespace=ns)
        except ApiError as exc:
            if exc.status.code != 404:
                raise
            return Progress("failed", f"Job {ns}/{jname} disappeared before finishing", state)
        owner = (job.metadata.labels or {}).get(RUN_LABEL) if job.metadata else None
        if owner != run_digest(name, ctx.run_id):
            return Progress(
                "failed",
                f"a Job {ns}/{jname} exists that this check did not create (label {RUN_LABEL})",
                state,
            )

        status = job.status
        counts = {
            "active": (status.active or 0) if status else 0,
            "succeeded": (status.succeeded or 0) if status else 0,
            "failed": (status.failed or 0) if status else 0,
        }
        finished = _finished(job)
        deadline = from_iso(state["startedAt"]) + timedelta(seconds=config.timeout)
        if finished is None and now < deadline:
            next_at = min(deadline, now + timedelta(seconds=config.interval))
            return Progress(
                "running",
                f"Job {ns}/{jname} running ({counts['active']} active, "
                f"{counts['failed']} failed pods)",
                state,
                [],
                None,
                next_at,
            )

        if finished is None:
            outcome, reason = (
                "failed",
                f"Job did not finish within {format_duration(config.timeout)}",
            )
        else:
            outcome, reason = finished
        logs = None
        if outcome == "failed":
            logs = await collect_logs(client, job, ns)
        measurement = Measurement(
            now, counts, "passed" if outcome == "passed" else "failed", reason
        )
        if finished is None or config.ttl == 0:
            await _delete(client, jname, ns)
            state["deleted"] = True
        return Progress(
            "passed" if outcome == "passed" else "failed",
            f"{reason} (Job {ns}/{jname})",
            state,
            [measurement],
            logs,
        )


CHECKS.register(
    "job", schema=JobCheckConfig, description="a Kubernetes Job in the environment's namespace"
)(JobCheck())
