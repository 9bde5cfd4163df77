"""The promote drawer: pick a release and a target environment, see what promoting it
would change (manifest diff against live, a server-side dry-run) and meet (every gate,
in the words of `promotion explain`; who must approve; whether the request itself would
be refused), then confirm: a CSRF-protected POST creating the promotion through the
API's own engine call. Loaded into the release page by htmx, or a page of its own."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from shiplane.api.context import ApiContext, get_context
from shiplane.api.schemas_promotions import PromoteRequest
from shiplane.config.models import ProjectConfig
from shiplane.domain.errors import NotFoundError, ShiplaneError
from shiplane.domain.roles import Role
from shiplane.engine.promotion_preview import PromotionPreview, preview_promotion
from shiplane.store import releases
from shiplane.store.records import ReleaseRecord
from shiplane.web.auth import UiError, WebUser, require_user, verify_csrf
from shiplane.web.engine_calls import Refusal, engine_of, parse_body, permit, run
from shiplane.web.forms import FormError, read_form
from shiplane.web.paths import UI_PREFIX
from shiplane.web.templating import render

router = APIRouter(include_in_schema=False)
PROMOTE_PATH = f"{UI_PREFIX}/promote"
RECENT = 50


def _recent(context: ApiContext) -> list[ReleaseRecord]:
    with context.database.session(readonly=True) as s:
        return list(releases.list_releases(s, limit=RECENT).items)


async def _preview(
    context: ApiContext, user: WebUser, release: str, environment: str, errors: dict[str, str]
) -> PromotionPreview | None:
    """The engine's preview, or None with the reason in `errors` (per field)."""
    if not release or not environment:
        return None
    try:
        engine = engine_of(context)
    except Refusal as refusal:
        errors.update(refusal.errors)
        return None
    try:
        engine.project.require_environment(environment)
    except ShiplaneError as exc:
        errors["environment"] = f"environment: {exc.message}"
        return None
    try:
        return await preview_promotion(
            engine.promotions, engine.diffs, release, environment, user.principal.caller()
        )
    except NotFoundError as exc:
        errors["release"] = f"release: {exc.message}"
    except ShiplaneError as exc:
        errors[""] = exc.message
    return None


async def _drawer(
    request: Request,
    context: ApiContext,
    user: WebUser,
    *,
    release: str,
    environment: str,
    reason: str = "",
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    problems = dict(errors or {})
    preview = await _preview(context, user, release, environment, problems)
    project = context.current_project
    fragment = request.headers.get("HX-Request") == "true" and request.method == "GET"
    return render(
        request,
        "_promote.html" if fragment else "promote.html",
        user=user,
        active="releases",
        status=status,
        release=release,
        environment=environment,
        reason=reason,
        errors=problems,
        preview=preview,
        recent=await run_in_threadpool(_recent, context),
        environments=project.environment_order() if project is not None else [],
        promote_path=PROMOTE_PATH,
    )


@router.get(PROMOTE_PATH)
async def promote_drawer(
    request: Request,
    release: str = "",
    environment: str = "",
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    return await _drawer(
        request, context, user, release=release.strip()[:200], environment=environment[:63]
    )


@router.post(PROMOTE_PATH)
async def promote(
    request: Request,
    user: WebUser = Depends(require_user()),
    context: ApiContext = Depends(get_context),
) -> Response:
    try:
        form = await read_form(request)
    except FormError as exc:
        raise UiError(400, str(exc)) from None
    verify_csrf(request, user, form)
    fields = {k: form.get(k, "") for k in ("release", "environment", "reason")}
    try:
        body = parse_body(PromoteRequest, fields)
        engine = engine_of(context)
        await run(lambda: _require_environment(engine.project, body.environment), "environment")
        permit(user, Role.PROMOTER, [body.environment])
        actor = user.principal.caller().actor
        record = await run(
            lambda: engine.promotions.request(
                body.release, body.environment, actor=actor, reason=body.reason
            ),
            not_found="release",
        )
    except Refusal as refusal:
        return await _drawer(
            request,
            context,
            user,
            release=fields["release"][:200],
            environment=fields["environment"][:63],
            reason=fields["reason"][:1000],
            errors=dict(refusal.errors),
            status=refusal.status,
        )
    return RedirectResponse(f"{UI_PREFIX}/promotions/{record.id}", status_code=303)


async def _require_environment(project: ProjectConfig, environment: str) -> None:
    project.require_environment(environment)


__all__ = ["PROMOTE_PATH", "router"]
