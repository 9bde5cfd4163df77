"""The event stream: the audit trail as it grows, as server-sent events.

Every replica serves it from the database (the audit chain is shared), so a client can
connect to any replica behind a load balancer and resume on another one after a
disconnect: each event's `id` is its audit sequence number, and `Last-Event-ID` (sent by
browsers' EventSource on reconnect) or `?after=SEQ` continues right after it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import StreamingResponse

from shiplane.api.auth import Principal, require_role
from shiplane.api.context import ApiContext, get_context
from shiplane.api.names import check_names
from shiplane.api.problems import ProblemError, problem_openapi_responses
from shiplane.api.settings import API_PREFIX
from shiplane.domain.roles import Role
from shiplane.store import audit
from shiplane.store.records import AuditRecord

router = APIRouter(prefix=API_PREFIX, tags=["audit"])
EVENT_STREAM = "text/event-stream"
POLL_SECONDS = 0.5
KEEPALIVE_SECONDS = 15.0
BATCH = 200


def _frame(event: AuditRecord) -> bytes:
    data = json.dumps(event.model_dump(mode="json"), separators=(",", ":"))
    return f"id: {event.seq}\nevent: {event.action}\ndata: {data}\n\n".encode()


@router.get(
    "/events",
    summary="Server-sent events: audit events as they are committed (resumable by seq)",
    response_class=StreamingResponse,
    responses={
        200: {"content": {EVENT_STREAM: {"schema": {"type": "string"}}}},
        **problem_openapi_responses(401, 403, 422),
    },
)
async def stream_events(
    request: Request,
    after: int | None = Query(
        None, ge=0, description="Start after this audit seq (default: only new events)."
    ),
    environment: str | None = Query(None, max_length=200, description="Only this environment."),
    action: str | None = Query(
        None, max_length=200, description="Only actions starting with this, e.g. `promotion.`."
    ),
    last_event_id: str | None = Header(None, alias="Last-Event-ID"),
    principal: Principal = Depends(require_role(Role.VIEWER)),
    context: ApiContext = Depends(get_context),
) -> StreamingResponse:
    check_names(context.current_project, environments=[environment], field="query.environment")
    if environment is not None:
        principal.require_environments([environment])
    start = after
    if start is None and last_event_id:
        if not last_event_id.isdigit():
            raise ProblemError(
                422,
                f"header Last-Event-ID: {last_event_id!r} is not an event id (an audit seq)",
                title="Invalid request",
            )
        start = int(last_event_id)
    if start is None:
        start = await current_seq(context)
    return event_stream_response(
        event_frames(request, context, start, environment=environment, action=action)
    )


async def current_seq(context: ApiContext) -> int:
    """The newest audit seq (0 for an empty trail): a stream from here shows only new
    events."""
    database = context.database

    def tail() -> int:
        with database.session(readonly=True) as s:
            head = audit.chain_head(s)
            return 0 if head is None else head.seq

    return await asyncio.to_thread(tail)


async def event_frames(
    request: Request,
    context: ApiContext,
    start: int,
    *,
    environment: str | None = None,
    action: str | None = None,
    frame: Callable[[AuditRecord], bytes] = _frame,
) -> AsyncIterator[bytes]:
    """Audit events after `start` as server-sent event frames until the client leaves
    (the web UI's cookie-authenticated stream reuses it with its own `frame`)."""
    database = context.database

    def read(seq: int) -> list[AuditRecord]:
        with database.session(readonly=True) as s:
            return audit.events_after(s, seq, limit=BATCH)

    seq = start
    yield b": shiplane event stream\n\n"
    quiet = 0.0
    while not await request.is_disconnected():
        events = await asyncio.to_thread(read, seq)
        for event in events:
            seq, quiet = event.seq, 0.0
            if environment is not None and event.environment != environment:
                continue
            if action is not None and not event.action.startswith(action):
                continue
            yield frame(event)
        if len(events) == BATCH:
            continue
        await asyncio.sleep(POLL_SECONDS)
        quiet += POLL_SECONDS
        if quiet >= KEEPALIVE_SECONDS:
            quiet = 0.0
            yield b": keep-alive\n\n"


def event_stream_response(frames: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(
        frames,
        media_type=EVENT_STREAM,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
