"""`GET /api/v1/config`: which shiplane.yaml is in force, and the last version refused.

The same description is part of `/matrix` (so `shiplane status` shows it with one
request) and, without the error messages, of `/readyz`.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends

from shiplane.api.auth import Principal, require_role
from shiplane.api.context import ApiContext, get_context
from shiplane.api.problems import problem_openapi_responses
from shiplane.api.schemas import ConfigOut, ReadyConfigOut, RejectedConfigOut
from shiplane.api.settings import API_PREFIX
from shiplane.domain.roles import Role

router = APIRouter(prefix=API_PREFIX, tags=["config"])

LOCATIONS_SHOWN = 5


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def config_state(context: ApiContext) -> ConfigOut:
    engine = context.engine
    settings = context.settings
    if engine is None or engine.source.version.commit is None:
        source = "none" if context.project is None else "file"
        return ConfigOut(source=source, following=False)
    version = engine.source.version
    rejected = engine.source.rejected
    return ConfigOut(
        source="git",
        following=engine.source.following and engine.watcher is not None,
        branch=settings.repo_branch,
        commit=version.commit,
        loaded_at=_iso(version.loaded_at),
        rejected=None
        if rejected is None
        else RejectedConfigOut(
            commit=rejected.commit,
            at=_iso(rejected.at),
            count=rejected.count,
            errors=list(rejected.errors),
        ),
    )


def ready_config(context: ApiContext) -> ReadyConfigOut | None:
    """For the unauthenticated probe: commits and where the errors are, not what they
    say (a message may quote a value from the file)."""
    state = config_state(context)
    if state.source != "git":
        return None
    rejected = state.rejected
    if rejected is None:
        return ReadyConfigOut(commit=state.commit)
    return ReadyConfigOut(
        commit=state.commit,
        rejected_commit=rejected.commit,
        errors=rejected.count,
        locations=[_location(e) for e in rejected.errors[:LOCATIONS_SHOWN]],
    )


def _location(error: str) -> str:
    """`shiplane.yaml:12:5: environments.prod.after: unknown ...` -> its first two parts
    (`shiplane.yaml:12:5 environments.prod.after`)."""
    where, _, rest = error.partition(": ")
    field, sep, _message = rest.partition(": ")
    if not sep or " " in field:
        return where  # a problem of the whole file: only the file
    return f"{where} {field}"


@router.get(
    "/config",
    summary="The shiplane.yaml in force (commit, when loaded) and the last version refused",
    response_model=ConfigOut,
    responses=problem_openapi_responses(401, 403),
)
def get_config(
    _principal: Principal = Depends(require_role(Role.VIEWER)),
    context: ApiContext = Depends(get_context),
) -> ConfigOut:
    return config_state(context)
