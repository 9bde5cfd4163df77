"""Releases: create (idempotent by contents), list, show."""

from __future__ import annotations

from functools import partial
from typing import Any

from anyio import from_thread
from fastapi import APIRouter, Depends, Query, Response

from shiplane.api.auth import Principal, require_role
from shiplane.api.context import ApiContext, get_context
from shiplane.api.filters import parse_label_filters
from shiplane.api.names import bounded, check_names
from shiplane.api.pagination import PageOut, PageParams, invalid_cursor, page_params
from shiplane.api.problems import ProblemError, problem_openapi_responses
from shiplane.api.schemas import ReleaseCreate
from shiplane.api.settings import API_PREFIX
from shiplane.domain.pagination import InvalidCursorError
from shiplane.domain.releases import ReleaseValidationError
from shiplane.domain.roles import Role
from shiplane.engine.promotions.releases import record_release
from shiplane.engine.sources.digests import resolve_release_digests
from shiplane.store import releases
from shiplane.store.records import ReleaseRecord
from shiplane.store.releases import AliasConflictError

router = APIRouter(prefix=API_PREFIX, tags=["releases"])
_AUTH_ERRORS = (401, 403)


@router.post(
    "/releases",
    status_code=201,
    summary="Create a release (201), or return the existing one with the same contents (200)",
    responses={
        200: {"model": ReleaseRecord, "description": "A release with these contents exists"},
        **problem_openapi_responses(400, *_AUTH_ERRORS, 409, 422),
    },
)
def create_release(
    body: ReleaseCreate,
    response: Response,
    principal: Principal = Depends(require_role(Role.PROMOTER)),
    context: ApiContext = Depends(get_context),
) -> ReleaseRecord:
    engine = context.engine
    project = context.current_project
    artifacts: dict[str, str] = dict(body.artifacts)
    if project is not None:
        # Immutable means digests (`releases.digests`): tags become tag@digest first.
        resolution = from_thread.run(
            partial(
                resolve_release_digests,
                project,
                artifacts,
                engine.sources.clients if engine is not None else None,
            )
        )
        artifacts = resolution.artifacts
    fields: dict[str, Any] = {
        "artifacts": artifacts,
        "charts": body.charts,
        "commits": body.commits,
        "alias": body.alias,
        "labels": body.labels,
        "creator": principal.name,
    }
    try:
        if engine is not None:
            # With its root auto-promotions, in the same transaction.
            record, created = from_thread.run(partial(engine.promotions.create_release, **fields))
        else:
            record, created = context.database.transact(
                lambda s: record_release(s, project=project, **fields)
            )
    except AliasConflictError as exc:
        raise ProblemError(409, f"body.alias: {exc}") from None
    except ReleaseValidationError as exc:
        raise ProblemError(422, f"body: {exc}", title="Invalid request") from None
    if created:
        context.metrics.releases_created.inc()
        context.metrics.audit_events.labels("release.create").inc()
    response.status_code = 201 if created else 200
    response.headers["Location"] = f"{API_PREFIX}/releases/{record.id}"
    return record


@router.get(
    "/releases",
    summary="List releases, newest first",
    responses=problem_openapi_responses(*_AUTH_ERRORS, 422),
)
def list_releases(
    app: str | None = Query(None, max_length=63, description="Only releases containing app."),
    label: list[str] = Query(
        default_factory=list, description="KEY=VALUE; repeat to require several labels."
    ),
    page: PageParams = Depends(page_params),
    _principal: Principal = Depends(require_role(Role.VIEWER)),
    context: ApiContext = Depends(get_context),
) -> PageOut[ReleaseRecord]:
    check_names(context.current_project, apps=[app], field="query.app")
    labels = parse_label_filters(label)
    try:
        with context.database.session(readonly=True) as session:
            result = releases.list_releases(
                session, app=app, labels=labels, limit=page.limit, cursor=page.cursor
            )
    except InvalidCursorError as exc:
        raise invalid_cursor(str(exc)) from None
    return PageOut[ReleaseRecord](items=list(result.items), next_cursor=result.next_cursor)


@router.get(
    "/releases/{ref}",
    summary="Show a release by id, unique id prefix, or alias",
    responses=problem_openapi_responses(*_AUTH_ERRORS, 404),
)
def show_release(
    ref: str,
    _principal: Principal = Depends(require_role(Role.VIEWER)),
    context: ApiContext = Depends(get_context),
) -> ReleaseRecord:
    with context.database.session(readonly=True) as session:
        record = releases.get_release(session, ref)
    if record is None:
        raise ProblemError(
            404, f"no release matches {bounded(ref)} (by id, unique id prefix or alias)"
        )
    return record
