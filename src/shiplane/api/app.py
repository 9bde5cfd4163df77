"""The app factory: `create_app(settings)` wires routers, errors, middleware, metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from shiplane import __version__
from shiplane.api import (
    routes_audit,
    routes_clusters,
    routes_config,
    routes_deploy,
    routes_events,
    routes_hooks,
    routes_index,
    routes_insights,
    routes_matrix,
    routes_notifications,
    routes_ops,
    routes_promotions,
    routes_releases,
    routes_replicas,
    routes_sources,
    routes_sso,
    routes_tokens,
    routes_views,
)
from shiplane.api.context import ApiContext
from shiplane.api.engine import start_engine
from shiplane.api.metrics import ApiMetrics
from shiplane.api.middleware import RequestContextMiddleware
from shiplane.api.problems import PROBLEM_MEDIA_TYPE, install_problem_handlers, status_title
from shiplane.api.schemas import Problem
from shiplane.api.settings import API_PREFIX, ApiSettings
from shiplane.engine.insights_metrics import InsightsCollector
from shiplane.engine.sources_port import SourceRefresher
from shiplane.store.db import Database

AppExtension = Callable[[FastAPI], None]
"""Adds to the built app (the web UI: `shiplane.web.install_ui`). The API never imports
what extends it; the caller that composes the server (the CLI) passes it in."""


def create_app(
    settings: ApiSettings,
    *,
    database: Database | None = None,
    extensions: Sequence[AppExtension] = (),
    sources: SourceRefresher | None = None,
) -> FastAPI:
    """Build the API app. The database is opened here (not migrated: `server.py` does that
    once before serving) and closed on shutdown when this app opened it. `sources` is what
    webhook receivers refresh; by default the engine's source service."""
    owns_database = database is None
    db = database if database is not None else Database.from_url(settings.database_url)
    metrics = ApiMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        context: ApiContext = app.state.shiplane
        engine = start_engine(settings, db)
        if engine is not None:
            await engine.start()
            context.engine = engine
        try:
            yield
        finally:
            await context.hooks.drain()
            if engine is not None:
                await engine.stop()
            if owns_database:
                db.close()

    app = FastAPI(
        title="Shiplane API",
        version=__version__,
        description="Releases, audit trail, tokens and the apps x environments matrix.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        # FastAPI's docs page loads its assets from a CDN; ours is rendered here.
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    context = ApiContext(settings=settings, database=db, metrics=metrics, sources=sources)
    app.state.shiplane = context
    # DORA and flow gauges, from the database, for the project in force at each scrape.
    metrics.registry.register(InsightsCollector(db, lambda: context.current_project))
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware, metrics=metrics)

    # Routers carry the /api/v1 prefix themselves, so each route's template (the
    # metrics label) is the full path.
    modules = (
        routes_index,
        routes_ops,
        routes_releases,
        routes_audit,
        routes_tokens,
        routes_matrix,
        routes_insights,
        routes_config,
        routes_deploy,
        routes_notifications,
        routes_promotions,
        routes_views,
        routes_replicas,
        routes_clusters,
        routes_sources,
        routes_events,
        routes_hooks,
        routes_sso,
    )
    for module in modules:
        app.include_router(module.router)
    # For the Allow header of 405 answers (see problems.allowed_methods).
    app.state.api_routes = [route for module in modules for route in module.router.routes]

    _document_problems(app)
    for extend in extensions:
        extend(app)
    return app


def _document_problems(app: FastAPI) -> None:
    """Add the `Problem` schema to the OpenAPI components (routes reference it)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components["Problem"] = Problem.model_json_schema()
            declare_problem_responses(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


_HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def declare_problem_responses(schema: dict[str, Any]) -> None:
    """Every 4xx answer of every operation is `application/problem+json` (FastAPI's own
    422 says `application/json` with its validation shape, which the API never sends),
    and an operation with a body also answers 400 for a body that is not JSON."""
    problem = {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in _HTTP_METHODS:
                continue
            responses = operation.setdefault("responses", {})
            if "requestBody" in operation:
                responses.setdefault("400", {"description": status_title(400)})
            for status, response in responses.items():
                if str(status).startswith("4"):
                    response["content"] = dict(problem)
                    if response.get("description") == "Validation Error":
                        response["description"] = status_title(422)
    components = schema.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
