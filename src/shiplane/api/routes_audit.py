"""The audit trail: list with filters, verify the hash chain, export as JSON lines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from shiplane.api.auth import Principal, require_role
from shiplane.api.context import ApiContext, get_context
from shiplane.api.names import check_names
from shiplane.api.pagination import PageOut, PageParams, invalid_cursor, page_params
from shiplane.api.problems import ProblemError, problem_openapi_responses
from shiplane.api.settings import API_PREFIX
from shiplane.api.streaming import stream_from_thread
from shiplane.domain.pagination import InvalidCursorError
from shiplane.domain.roles import Role
from shiplane.store import audit
from shiplane.store.records import AuditRecord, ChainVerification

router = APIRouter(prefix=API_PREFIX, tags=["audit"])
JSON_LINES = "application/x-ndjson"
_EXPORT_BATCH = 200


@router.get(
    "/audit",
    summary="List audit events, newest first",
    responses=problem_openapi_responses(401, 403, 422),
)
def list_audit_events(
    actor: str | None = Query(None, max_length=200),
    action: str | None = Query(None, max_length=200),
    app: str | None = Query(None, max_length=200),
    environment: str | None = Query(None, max_length=200),
    since: datetime | None = Query(None, description="Events at or after this time (ISO 8601)."),
    until: datetime | None = Query(None, description="Events before this time (ISO 8601)."),
    page: PageParams = Depends(page_params),
    principal: Principal = Depends(require_role(Role.VIEWER)),
    context: ApiContext = Depends(get_context),
) -> PageOut[AuditRecord]:
    check_names(context.current_project, environments=[environment], field="query.environment")
    check_names(context.current_project, apps=[app], field="query.app")
    if environment is not None:
        principal.require_environments([environment])
    if since is not None and until is not None and _comparable(since) > _comparable(until):
        raise ProblemError(
            422, "query.since: must not be later than query.until", title="Invalid request"
        )
    try:
        with context.database.session(readonly=True) as session:
            result = audit.list_events(
                session,
                actor=actor,
                action=action,
                app=app,
                environment=environment,
                since=since,
                until=until,
                limit=page.limit,
                cursor=page.cursor,
            )
    except InvalidCursorError as exc:
        raise invalid_cursor(str(exc)) from None
    return PageOut[AuditRecord](items=list(result.items), next_cursor=result.next_cursor)


def _comparable(moment: datetime) -> float:
    # Naive times are taken as UTC, as the store does.
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


@router.get(
    "/audit/verify",
    summary="Walk the hash chain; `ok` is false and `first_bad_seq` names the first bad event",
    responses=problem_openapi_responses(401, 403),
)
def verify_audit_chain(
    _principal: Principal = Depends(require_role(Role.VIEWER)),
    context: ApiContext = Depends(get_context),
) -> ChainVerification:
    with context.database.session(readonly=True) as session:
        return audit.verify_chain(session)


@router.get(
    "/audit/export",
    summary="Every audit event, oldest first, as JSON lines (streamed)",
    response_class=StreamingResponse,
    responses={
        200: {"content": {JSON_LINES: {"schema": {"type": "string"}}}},
        **problem_openapi_responses(401, 403),
    },
)
def export_audit_events(
    _principal: Principal = Depends(require_role(Role.VIEWER)),
    context: ApiContext = Depends(get_context),
) -> StreamingResponse:
    database = context.database

    def produce() -> Iterator[bytes]:
        with database.session(readonly=True) as session:
            batch: list[str] = []
            for event in audit.iter_events(session):
                batch.append(event.model_dump_json())
                if len(batch) >= _EXPORT_BATCH:
                    yield ("\n".join(batch) + "\n").encode()
                    batch = []
            if batch:
                yield ("\n".join(batch) + "\n").encode()

    body = stream_from_thread(produce, queue_size=context.settings.export_queue_size)
    return StreamingResponse(body, media_type=JSON_LINES)
