"""The project's environment graph laid out for drawing (domain/graph_layout.py), with
its JSON shape for the API; the UI draws the same layout as SVG (web/graph_svg.py)."""

from __future__ import annotations

from typing import Any

from shiplane.config.models import ProjectConfig
from shiplane.domain.graph_layout import LIST_VIEW_ABOVE, Geometry, GraphLayout, layout_graph


def environment_layout(project: ProjectConfig, geometry: Geometry | None = None) -> GraphLayout:
    """The `after` graph of `project`, in its config order (which breaks every tie)."""
    names = list(project.environments)
    return layout_graph(
        {name: project.upstream(name) for name in names},
        modes={name: project.environments[name].after.mode for name in names},
        geometry=geometry,
    )


def layout_json(layout: GraphLayout) -> dict[str, Any]:
    return {
        "width": layout.width,
        "height": layout.height,
        "crossings": layout.crossings,
        "list_view": len(layout.nodes) > LIST_VIEW_ABOVE,
        "layers": [list(layer) for layer in layout.layers],
        "nodes": [
            {"name": n.name, "layer": n.layer, "order": n.order, "x": n.x, "y": n.y,
             "width": n.width, "height": n.height}
            for n in layout.nodes
        ],
        "edges": [
            {"source": e.source, "target": e.target, "mode": e.mode,
             "points": [list(p) for p in e.points]}
            for e in layout.edges
        ],
    }  # fmt: skip
