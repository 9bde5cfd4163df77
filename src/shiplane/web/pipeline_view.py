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
from shiplane.domain.graph_layout import LIST_VIEW_ABOVE, GraphLayout
from shiplane.domain.promotion_controls import Freeze, Hold
from shiplane.engine.environment_graph import environment_layout
from shiplane.store import matrix, promotion_controls, promotions, releases
from shiplane.store.promotions import PromotionRecord
from shiplane.web.graph_svg import NodeLine, render_svg
from shiplane.web.strategy_view import strategy_notes
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
    strategy: str = ""  # `web canary 25%` while a progressive strategy moves its apps


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
    # The graph drawn as SVG (an overview above the nodes); None above LIST_VIEW_ABOVE
    # environments, where a drawing stops helping and the nodes are listed alone.
    graph_svg: str | None = None

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
    layout = environment_layout(project)
    grouped = [list(layer) for layer in layout.layers]  # ordered to cross the fewest edges
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
        notes = strategy_notes(promotion)
        strategy = ", ".join(f"{app} {note}" for app, note in notes.items())
        pending[promotion.environment].append(Waiting(promotion, label, strategy))
    holds: dict[str, list[Hold]] = {e: [] for e in wanted}
    for hold in promotion_controls.list_holds(session):
        if hold.environment in holds:
            holds[hold.environment].append(hold)
    freezes = promotion_controls.list_freezes(session)
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
    view = PipelineView(project=project.project, layers=layers)
    if only is None and len(layout.nodes) <= LIST_VIEW_ABOVE:
        view.graph_svg = graph_svg(layout, view, project.project)
    return view


def graph_svg(layout: GraphLayout, view: PipelineView, project: str) -> str:
    """The overview drawing: per environment its apps' health in a line, what waits and
    whether it is frozen; each box links to the environment's node below."""
    lines: dict[str, list[NodeLine]] = {}
    classes: dict[str, list[str]] = {}
    for node in view.nodes:
        failing = sum(n for status, n in node.health.items() if status in ("Degraded", "Missing"))
        summary = f"{node.app_count} app{'s' if node.app_count != 1 else ''}"
        if failing:
            summary += f", {failing} failing"
        elif node.out_of_sync:
            summary += f", {node.out_of_sync} out of sync"
        lines[node.name] = [NodeLine(summary, "health-degraded" if failing else "")]
        if node.pending:
            lines[node.name].append(NodeLine(f"{len(node.pending)} waiting"))
        classes[node.name] = [
            *(["frozen"] if node.freezes else []),
            *(["failing"] if failing else []),
        ]
        if node.freezes:
            lines[node.name].append(NodeLine("frozen", "flag-frozen"))
    return render_svg(
        layout,
        title=f"Environments of {project}",
        lines=lines,
        node_classes=classes,
        href=lambda name: f"#env-{name}",
    )


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
