"""Releases: the list (newest first, paged) and one release's page: artifacts, where it
runs, its timeline across environments, a diff against any other release, and the way
into the promote drawer."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from shiplane.api.context import ApiContext, get_context
from shiplane.domain.errors import NotFoundError, ShiplaneError
from shiplane.domain.pagination import InvalidCursorError
from shiplane.engine.service import Engine
from shiplane.gitops.errors import GitError, RenderError
from shiplane.store import releases
from shiplane.store.records import ReleaseRecord
from shiplane.web.auth import UiError, WebUser, require_user
from shiplane.web.engine_calls import NO_ENGINE
from shiplane.web.paths import UI_PREFIX
from shiplane.web.release_view import ReleaseDiff, ReleasePage, release_page
from shiplane.web.templating import render

router = APIRouter(include_in_schema=False)
LIST_PATH = f"{UI_PREFIX}/releases"
PAGE_SIZE = 50


@router.get(LIST_PATH)
def releases_list(
    request: Request,
    cursor: str = "",
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    error = ""
    items: list[ReleaseRecord] = []
    next_cursor = None
    try:
        with context.database.session(readonly=True) as s:
            page = releases.list_releases(s, limit=PAGE_SIZE, cursor=cursor or None)
        items, next_cursor = list(page.items), page.next_cursor
    except InvalidCursorError as exc:
        error = f"cursor: {exc}"
    return render(
        request,
        "releases.html",
        user=user,
        active="releases",
        items=items,
        next_cursor=next_cursor,
        error=error,
        list_path=LIST_PATH,
    )


def _read(context: ApiContext, ref: str, diff: ReleaseDiff) -> ReleasePage:
    try:
        with context.database.session(readonly=True) as s:
            return release_page(context.current_project, s, ref, diff)
    except NotFoundError as exc:
        raise UiError(404, exc.message) from None


@router.get(f"{LIST_PATH}/{{ref}}")
async def release_detail(
    request: Request,
    ref: str,
    against: str = "",
    environment: str = "",
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    diff = ReleaseDiff(against=against.strip()[:200], environment=environment.strip()[:63])
    page = await run_in_threadpool(_read, context, ref, diff)
    if diff.other is not None and diff.environment and not diff.errors:
        await _manifests(context, page)
    return render(
        request,
        "release.html",
        user=user,
        active="releases",
        page=page,
        list_path=LIST_PATH,
    )


async def _manifests(context: ApiContext, page: ReleasePage) -> None:
    """The rendered-manifest half of the diff (git and a renderer; told, not raised)."""
    diff = page.diff
    engine = context.engine
    if not isinstance(engine, Engine):
        diff.errors["manifests"] = NO_ENGINE
        return
    assert diff.other is not None
    try:
        diff.manifests = await engine.diffs.between_releases(
            page.release, diff.other, diff.environment
        )
    except ShiplaneError as exc:
        diff.errors["manifests"] = exc.message
    except (GitError, RenderError) as exc:
        diff.errors["manifests"] = str(exc)


__all__ = ["LIST_PATH", "router"]
