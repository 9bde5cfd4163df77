"""What the pipeline page shows per environment: its apps' releases, health and sync,
open promotions with the engine's waiting reason, holds and freezes. Read from the
store's read models in a fixed number of queries, whatever the number of apps."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from shiplane.config.models import ProjectConfig
from shiplane.domain.promotion_controls import Freeze, Hold
from shiplane.store import matrix, promotions, releases
from shiplane.store.promotions import PromotionRecord
from shiplane.web.graph_layers import graph_layers
from shiplane.web.window_view import WindowState, window_state

# A node lists this many apps; the matrix shows all of them.
APPS_PER_NODE = 12
HEALTHY = "Healthy"
SYNCED = "Synced"


@dataclass(frozen=True)
class Waiting:
    """An open promotion and how to name its release (alias, else id)."""

    promotion: PromotionRecord
    release: str


@dataclass
class EnvironmentNode:
    name: str
    layer: int
    upstream: tuple[str, ...]
    cells: list[dict[str, Any]]  # the first APPS_PER_NODE apps' matrix cells
    more_apps: int
    app_count: int
    health: dict[str, int]  # health status -> apps (never deployed: "Not deployed")
    out_of_sync: int
    pending: list[Waiting] = field(default_factory=list)
    holds: list[Hold] = field(default_factory=list)
    freezes: list[Freeze] = field(default_factory=list)
    window: WindowState | None = None  # None: the environment lists no windows


@dataclass
class PipelineView:
    project: str | None
    layers: list[list[EnvironmentNode]]

    @property
    def nodes(self) -> list[EnvironmentNode]:
        return [node for layer in self.layers for node in layer]


def pipeline_view(
    session: Session,
    project: ProjectConfig | None,
    *,
    only: Sequence[str] | None = None,
    now: datetime | None = None,
) -> PipelineView:
    """Every environment (or those of `only`) in graph layers; windows as of `now`."""
    at = now if now is not None else datetime.now(UTC)
    if project is None:
        return PipelineView(project=None, layers=[])
    order = project.environment_order()
    grouped = graph_layers(order, {name: project.upstream(name) for name in order})
    wanted = [e for e in order if only is None or e in only]
    apps = list(project.apps)
    cells = matrix.get_matrix_rows(session, apps=apps, environments=wanted)
    by_env: dict[str, list[dict[str, Any]]] = {e: [] for e in wanted}
    for cell in cells:
        by_env[cell["environment"]].append(cell)
    pending: dict[str, list[Waiting]] = {e: [] for e in wanted}
    open_here = [p for p in promotions.open_promotions(session) if p.environment in pending]
    release_names = releases.aliases(session, (p.release_id for p in open_here))
    for promotion in open_here:
        label = release_names.get(promotion.release_id) or promotion.release_id
        pending[promotion.environment].append(Waiting(promotion, label))
    holds: dict[str, list[Hold]] = {e: [] for e in wanted}
    for hold in promotions.list_holds(session):
        if hold.environment in holds:
            holds[hold.environment].append(hold)
    freezes = promotions.list_freezes(session)
    layers: list[list[EnvironmentNode]] = []
    for index, names in enumerate(grouped):
        nodes = [
            _node(
                name,
                index,
                project.upstream(name),
                by_env[name],
                pending[name],
                holds[name],
                [f for f in freezes if f.environment in (None, name)],
                window_state(project, name, at),
            )
            for name in names
            if name in by_env
        ]
        if nodes:
            layers.append(nodes)
    return PipelineView(project=project.project, layers=layers)


def _node(
    name: str,
    layer: int,
    upstream: tuple[str, ...],
    cells: list[dict[str, Any]],
    pending: list[Waiting],
    holds: list[Hold],
    freezes: list[Freeze],
    window: WindowState | None,
) -> EnvironmentNode:
    health = Counter(cell["health"] or "Not deployed" for cell in cells)
    out_of_sync = sum(
        1 for cell in cells if cell["sync_status"] is not None and cell["sync_status"] != SYNCED
    )
    # Apps that need a look come first: unhealthy, then out of sync, then by name order.
    ranked = sorted(
        cells,
        key=lambda c: (
            c["health"] in (None, HEALTHY),
            c["sync_status"] in (None, SYNCED),
        ),
    )
    return EnvironmentNode(
        name=name,
        layer=layer,
        upstream=upstream,
        cells=ranked[:APPS_PER_NODE],
        more_apps=max(0, len(cells) - APPS_PER_NODE),
        app_count=len(cells),
        health=dict(sorted(health.items())),
        out_of_sync=out_of_sync,
        pending=pending,
        holds=holds,
        freezes=freezes,
        window=window,
    )
