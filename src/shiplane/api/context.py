"""What every route needs from its app: the database, metrics, the loaded project.

Held on `app.state.shiplane` and handed to routes through the `get_context` dependency,
so nothing is global and several apps can coexist in one process.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import Request

from shiplane.api.metrics import ApiMetrics
from shiplane.api.settings import ApiSettings

if TYPE_CHECKING:
    from shiplane.store.db import Database


@dataclass
class ApiContext:
    settings: ApiSettings
    database: Database
    metrics: ApiMetrics
    # The deploy/promotion engine, when the server runs with a GitOps repository.
    engine: Any = None

    @property
    def project(self) -> Any:
        return self.settings.project


def get_context(request: Request) -> ApiContext:
    context = request.app.state.shiplane
    assert isinstance(context, ApiContext)
    return context
