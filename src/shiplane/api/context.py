"""What every route needs from its app: the database, metrics, the loaded project.

Held on `app.state.shiplane` and handed to routes through the `get_context` dependency,
so nothing is global and several apps can coexist in one process.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from fastapi import Request

from shiplane.api.metrics import ApiMetrics
from shiplane.api.settings import ApiSettings
from shiplane.engine.hooks import HookIntake
from shiplane.engine.sources_port import SourceRefresher

if TYPE_CHECKING:
    from shiplane.config.models import ProjectConfig
    from shiplane.engine.service import Engine
    from shiplane.store.db import Database


@dataclass
class ApiContext:
    settings: ApiSettings
    database: Database
    metrics: ApiMetrics
    # The deploy/promotion engine, when the server runs with a GitOps repository.
    engine: Engine | None = None
    # The artifact sources webhooks refresh: given by the app's composer (tests), else
    # the engine's source service (`Engine.sources`) when it has one.
    sources: SourceRefresher | None = None
    _hooks: HookIntake | None = None
    # The single sign-on service of the project in force (api/sso.py `sso_of`).
    sso_cache: object = None

    @property
    def source_refresher(self) -> SourceRefresher | None:
        if self.sources is not None:
            return self.sources
        service = getattr(self.engine, "sources", None)
        return service if isinstance(service, SourceRefresher) else None

    @property
    def hooks(self) -> HookIntake:
        """The webhook intake of this app (created on first use)."""
        if self._hooks is None:
            self._hooks = HookIntake(
                self.database,
                project=lambda: self.current_project,
                sources=lambda: self.source_refresher,
                gitops=lambda: getattr(self.engine, "pushes", None),
                pulls=lambda: getattr(self.engine, "pull_requests", None),
            )
        return self._hooks

    @property
    def project(self) -> ProjectConfig | None:
        """The loaded shiplane.yaml; None when the server runs without one."""
        project: ProjectConfig | None = self.settings.project
        return project

    @property
    def current_project(self) -> ProjectConfig | None:
        """The project in force: the engine's (it may follow the GitOps repository), else
        the one loaded at start."""
        if self.engine is not None:
            return self.engine.project
        return self.project

    def now(self) -> datetime:
        """The engine's clock when there is an engine (tests inject one), else the
        system's: what approval expiry and gate reads are judged against."""
        if self.engine is not None:
            return self.engine.promotions.runtime.now()
        return datetime.now(UTC)


def get_context(request: Request) -> ApiContext:
    context = request.app.state.shiplane
    assert isinstance(context, ApiContext)
    return context
