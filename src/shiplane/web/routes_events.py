"""The audit event stream for signed-in browsers: `/api/v1/events` authenticates with a
bearer token, which EventSource cannot send, so the UI streams the same events here
under its session cookie. Each frame is named `audit` and carries only what pages need
to decide what to refresh."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import StreamingResponse

from shiplane.api.context import ApiContext, get_context
from shiplane.api.routes_events import current_seq, event_frames, event_stream_response
from shiplane.store.records import AuditRecord
from shiplane.web.auth import WebUser, require_user
from shiplane.web.paths import EVENTS_PATH

router = APIRouter(include_in_schema=False)


def ui_frame(event: AuditRecord) -> bytes:
    data = json.dumps(
        {
            "seq": event.seq,
            "action": event.action,
            "environment": event.environment,
            "app": event.app,
        },
        separators=(",", ":"),
    )
    return f"id: {event.seq}\nevent: audit\ndata: {data}\n\n".encode()


@router.get(EVENTS_PATH)
async def ui_events(
    request: Request,
    last_event_id: str | None = Header(None, alias="Last-Event-ID"),
    _user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> StreamingResponse:
    if last_event_id and last_event_id.isdigit():
        start = int(last_event_id)
    else:
        start = await current_seq(context)
    return event_stream_response(event_frames(request, context, start, frame=ui_frame))
