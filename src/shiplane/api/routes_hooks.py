"""`POST /api/v1/hooks/{receiver}`: webhook deliveries from registries, forges and CI.

No API token: each receiver authenticates its sender with its own secret (a signature,
a token header or a token in the URL, per type; docs/sources.md, "Receivers"). The body
is read up to the receiver's cap before anything is parsed. The answer is 202 as soon
as the delivery is recorded; the refresh of the matched sources runs after it.
"""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from shiplane.api.context import ApiContext, get_context
from shiplane.api.problems import PROBLEM_TYPE_BASE, ProblemError, problem_openapi_responses
from shiplane.api.settings import API_PREFIX
from shiplane.config.models import ReceiverConfig
from shiplane.engine.hooks import HookIntake
from shiplane.sources.receivers import Delivery, DeliveryRefused

router = APIRouter(prefix=API_PREFIX, tags=["hooks"])

UNKNOWN_RECEIVER = "<unknown>"
STATUS_OF_REASON: dict[str, int] = {
    "malformed": 400,
    "unauthenticated": 401,
    "bad-signature": 401,
    "stale": 401,
    "unknown-receiver": 404,
    "replayed": 409,
    "too-large": 413,
    "not-configured": 503,
}
"""The status of each refusal; the problem `type` is `.../hook-<reason>`."""


class GitopsSync(BaseModel):
    """The sync a push to the GitOps branch triggers (a forge receiver's push)."""

    commit: str | None = Field(description="The pushed head, as the payload says.")
    environments: list[str] = Field(
        description="Environments whose `envs/<env>/` the push touched (synced)."
    )
    by_diff: bool = Field(
        description="The payload did not list its files: the environments are those the "
        "diff to the new head touches."
    )


class HookAccepted(BaseModel):
    """A delivery that was accepted (202): what it said changed and what it refreshes."""

    receiver: str
    type: str = Field(description="The receiver's type (distribution, github, ...).")
    event: str = Field(description="The sender's event (push, package, PUSH_ARTIFACT...).")
    delivery: str | None = Field(description="The sender's delivery id, when it sends one.")
    changes: list[str] = Field(description="Where something changed, as the payload says.")
    matched: list[str] = Field(description="Sources being refreshed (may be empty).")
    ignored: str | None = Field(description="Why nothing is refreshed, when nothing is.")
    gitops: GitopsSync | None = Field(
        default=None, description="The environments a push to the GitOps branch syncs."
    )


def _problem(refused: DeliveryRefused) -> ProblemError:
    status = STATUS_OF_REASON.get(refused.reason, 400)
    headers = {"WWW-Authenticate": 'Signature realm="shiplane-hooks"'} if status == 401 else None
    return ProblemError(
        status,
        refused.message,
        type_=f"{PROBLEM_TYPE_BASE}hook-{refused.reason}",
        headers=headers,
        extra={"reason": refused.reason},
    )


async def _read_capped(request: Request, cap: int) -> bytes | None:
    """The body, or None as soon as it is known to exceed `cap` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        return None
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > cap:
            return None
    return bytes(body)


@router.post(
    "/hooks/{receiver}",
    status_code=202,
    summary="Receive a webhook delivery; refresh the sources that watch what changed "
    "(and sync the environments a push to the GitOps branch touched)",
    responses=problem_openapi_responses(400, 401, 404, 409, 413, 503),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The sender's own payload (JSON), as its documentation gives it.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def receive_hook(
    receiver: str, request: Request, context: ApiContext = Depends(get_context)
) -> HookAccepted:
    intake = context.hooks
    config = await _receiver_config(intake, context, receiver)
    body = await _read_capped(request, config.max_body_bytes)
    if body is None:
        refused = DeliveryRefused(
            "too-large", f"the body is larger than this receiver's {config.max_body_bytes} bytes"
        )
        await run_in_threadpool(intake.refuse, receiver, config.type, refused)
        _count(context, receiver, refused.reason, "hook.refused")
        raise _problem(refused)
    delivery = Delivery(
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        query=dict(request.query_params),
    )
    try:
        outcome = await run_in_threadpool(intake.accept, receiver, delivery)
    except DeliveryRefused as refused:
        _count(context, receiver, refused.reason, "hook.refused")
        raise _problem(refused) from None
    _count(context, receiver, outcome.outcome, "hook.received")
    intake.refresh_soon(outcome)
    return HookAccepted(**asdict(outcome))


async def _receiver_config(intake: HookIntake, context: ApiContext, name: str) -> ReceiverConfig:
    try:
        return intake.config(name)
    except DeliveryRefused as refused:
        await run_in_threadpool(intake.refuse, name, None, refused)
        _count(context, UNKNOWN_RECEIVER, refused.reason, "hook.refused")
        raise _problem(refused) from None


def _count(context: ApiContext, receiver: str, outcome: str, action: str) -> None:
    context.metrics.hook_deliveries.labels(receiver, outcome).inc()
    context.metrics.audit_events.labels(action).inc()
