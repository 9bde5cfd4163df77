"""Audit: the trail filtered by actor, action, environment, app and time, newest first
with keyset paging (the store's listing, as GET /api/v1/audit); the hash chain verified
from the page; the filtered events exported as JSON lines, streamed."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse

from shiplane.api.context import ApiContext, get_context
from shiplane.api.streaming import stream_from_thread
from shiplane.domain.pagination import InvalidCursorError
from shiplane.store import audit
from shiplane.store.records import AuditRecord, ChainVerification
from shiplane.web.audit_view import PAGE_SIZE, AuditFilters, parse_audit_filters
from shiplane.web.auth import WebUser, require_user
from shiplane.web.paths import UI_PREFIX
from shiplane.web.templating import render

router = APIRouter(include_in_schema=False)
AUDIT_PATH = f"{UI_PREFIX}/audit"
VERIFY_PATH = f"{AUDIT_PATH}/verify"
EXPORT_PATH = f"{AUDIT_PATH}/export"
JSON_LINES = "application/x-ndjson"
_EXPORT_BATCH = 200


def _page(
    request: Request,
    context: ApiContext,
    user: WebUser,
    verification: ChainVerification | None = None,
) -> Response:
    project = context.current_project
    filters, errors = parse_audit_filters(request.query_params, project, user)
    events: list[AuditRecord] = []
    next_cursor = None
    with context.database.session(readonly=True) as s:
        try:
            page = audit.list_events(
                s, **filters.store_filters(), limit=PAGE_SIZE, cursor=filters.cursor
            )
            events, next_cursor = list(page.items), page.next_cursor
        except InvalidCursorError as exc:
            errors["cursor"] = f"query.cursor: {exc}"
    return render(
        request,
        "audit.html",
        user=user,
        active="audit",
        status=200,
        filters=filters,
        errors=errors,
        events=events,
        next_cursor=next_cursor,
        verification=verification,
        environments=project.environment_order() if project is not None else [],
        audit_path=AUDIT_PATH,
        verify_path=VERIFY_PATH,
        export_path=EXPORT_PATH,
    )


@router.get(AUDIT_PATH)
def audit_page(
    request: Request,
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    return _page(request, context, user)


@router.get(VERIFY_PATH)
def verify_chain(
    request: Request,
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    """Walk the whole chain (GET /api/v1/audit/verify). htmx gets the result alone."""
    with context.database.session(readonly=True) as s:
        verification = audit.verify_chain(s)
    if request.headers.get("HX-Request") == "true":
        return render(request, "_audit_chain.html", user=user, verification=verification)
    return _page(request, context, user, verification)


@router.get(EXPORT_PATH)
def export_events(
    request: Request,
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    """The filtered events, oldest first, as JSON lines: read in keyset batches on one
    worker thread and streamed (memory stays flat for 100,000 events). Bad filters get
    the page with their errors instead of a download."""
    filters, errors = parse_audit_filters(request.query_params, context.current_project, user)
    if errors:
        return _page(request, context, user)
    database = context.database
    chosen = filters.store_filters()

    def produce() -> Iterator[bytes]:
        with database.session(readonly=True) as session:
            batch: list[str] = []
            for event in audit.iter_events(session, **chosen):
                batch.append(event.model_dump_json())
                if len(batch) >= _EXPORT_BATCH:
                    yield ("\n".join(batch) + "\n").encode()
                    batch = []
            if batch:
                yield ("\n".join(batch) + "\n").encode()

    body = stream_from_thread(produce, queue_size=context.settings.export_queue_size)
    return StreamingResponse(
        body,
        media_type=JSON_LINES,
        headers={"Content-Disposition": 'attachment; filename="shiplane-audit.jsonl"'},
    )


__all__ = ["AuditFilters", "router"]
