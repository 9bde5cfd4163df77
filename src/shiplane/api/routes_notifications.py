"""Notification deliveries: list the outbox (failed ones above all) and retry a failed one."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, Depends, Query

from shiplane.api.auth import Principal, require_role
from shiplane.api.context import ApiContext, get_context
from shiplane.api.pagination import PageOut, PageParams, invalid_cursor, page_params
from shiplane.api.problems import ProblemError, problem_openapi_responses
from shiplane.api.settings import API_PREFIX
from shiplane.domain.pagination import InvalidCursorError
from shiplane.domain.roles import Role
from shiplane.store import audit, outbox
from shiplane.store.id_prefixes import delivery_ids_with_prefix, unique_match
from shiplane.store.outbox import DeliveryNotFailedError, DeliveryNotFoundError, DeliveryRecord

router = APIRouter(prefix=API_PREFIX, tags=["notifications"])
_AUTH_ERRORS = (401, 403)


@router.get(
    "/notifications",
    summary="List notification deliveries, newest first",
    responses=problem_openapi_responses(*_AUTH_ERRORS, 422),
)
def list_notifications(
    status: Literal["pending", "delivered", "failed"] | None = Query(
        None, description="Only deliveries in this status."
    ),
    promotion: str | None = Query(None, max_length=64, description="Only this promotion's."),
    page: PageParams = Depends(page_params),
    _principal: Principal = Depends(require_role(Role.VIEWER)),
    context: ApiContext = Depends(get_context),
) -> PageOut[DeliveryRecord]:
    try:
        with context.database.session(readonly=True) as session:
            result = outbox.list_deliveries(
                session,
                status=status,
                promotion_id=promotion,
                limit=page.limit,
                cursor=page.cursor,
            )
    except InvalidCursorError as exc:
        raise invalid_cursor(str(exc)) from None
    return PageOut[DeliveryRecord](items=list(result.items), next_cursor=result.next_cursor)


def delivery_ref(delivery_id: str, context: ApiContext = Depends(get_context)) -> str:
    """The path's delivery id, or the one delivery whose id starts with it (git-style)."""
    with context.database.session(readonly=True) as session:
        matches = delivery_ids_with_prefix(session, delivery_id)
    resolved = unique_match(delivery_id, matches)
    if resolved is None:
        raise ProblemError(404, f"delivery id prefix {delivery_id[:40]!r} is ambiguous: "
                           f"{', '.join(matches)}; give more of it")  # fmt: skip
    return resolved


@router.get(
    "/notifications/{delivery_id}",
    summary="Show one notification delivery",
    responses=problem_openapi_responses(*_AUTH_ERRORS, 404),
)
def show_notification(
    delivery_id: str = Depends(delivery_ref),
    _principal: Principal = Depends(require_role(Role.VIEWER)),
    context: ApiContext = Depends(get_context),
) -> DeliveryRecord:
    with context.database.session(readonly=True) as session:
        record = outbox.get_delivery(session, delivery_id)
    if record is None:
        raise ProblemError(404, f"no notification delivery {delivery_id!r}")
    return record


@router.post(
    "/notifications/{delivery_id}/retry",
    summary="Send a failed delivery again (pending, due now, a fresh attempt budget)",
    responses=problem_openapi_responses(*_AUTH_ERRORS, 404, 409),
)
def retry_notification(
    delivery_id: str = Depends(delivery_ref),
    principal: Principal = Depends(require_role(Role.ADMIN)),
    context: ApiContext = Depends(get_context),
) -> DeliveryRecord:
    try:
        with context.database.session() as session:
            previous = outbox.get_delivery(session, delivery_id)
            record = outbox.reset_failed(session, delivery_id, now=_now())
            audit.append_event(
                session,
                actor=principal.name,
                action="notification.retry",
                subject=record.id,
                environment=_environment(record),
                details={
                    "channel": record.channel,
                    "event": record.event,
                    "promotion": record.promotion_id,
                    "previous_attempts": previous.attempts if previous else None,
                    "last_error": record.last_error,
                },
            )
    except DeliveryNotFoundError as exc:
        raise ProblemError(404, str(exc)) from None
    except DeliveryNotFailedError as exc:
        raise ProblemError(409, str(exc)) from None
    context.metrics.audit_events.labels("notification.retry").inc()
    return record


def _environment(record: DeliveryRecord) -> str | None:
    promotion = record.payload.get("promotion")
    value = promotion.get("environment") if isinstance(promotion, dict) else None
    return value if isinstance(value, str) else None


def _now() -> datetime:
    return datetime.now(UTC)
