"""The environment graph's layout: layers, no overlaps, few crossings, determinism."""

from __future__ import annotations

import itertools

import pytest

from shiplane.domain.graph_layout import (
    Geometry,
    GraphLayout,
    GraphLayoutError,
    count_crossings,
    layout_graph,
    longest_path_layers,
)

PIPELINE = {
    "dev": [],
    "qa": ["dev"],
    "staging": ["qa"],
    "prod-eu": ["staging"],
    "prod-us": ["staging"],
}


def _overlap(layout: GraphLayout) -> list[tuple[str, str]]:
    clashes = []
    for a, b in itertools.combinations(layout.nodes, 2):
        apart = (
            a.x + a.width <= b.x
            or b.x + b.width <= a.x
            or a.y + a.height <= b.y
            or b.y + b.height <= a.y
        )
        if not apart:
            clashes.append((a.name, b.name))
    return clashes


def _crossings_of(layout: GraphLayout, upstreams: dict[str, list[str]]) -> int:
    """Crossings recomputed from the drawn positions (real nodes, adjacent layers)."""
    down: dict[str, list[str]] = {n: [] for n in upstreams}
    for target, ups in upstreams.items():
        for u in ups:
            down[u].append(target)
    return count_crossings(layout.layers, down)


def test_layers_are_longest_paths_from_the_roots() -> None:
    layers = longest_path_layers(
        {"dev": [], "qa": ["dev"], "perf": ["dev"], "staging": ["qa", "perf"], "hotfix": []}
    )
    assert layers == {"dev": 0, "qa": 1, "perf": 1, "staging": 2, "hotfix": 0}
    # A shortcut edge does not pull a node left: it sits after its furthest upstream.
    assert longest_path_layers({"a": [], "b": ["a"], "c": ["a", "b"]})["c"] == 2


def test_pipeline_goes_left_to_right_with_every_edge_pointing_right() -> None:
    layout = layout_graph(PIPELINE)
    assert layout.layers == (("dev",), ("qa",), ("staging",), ("prod-eu", "prod-us"))
    for edge in layout.edges:
        xs = [p[0] for p in edge.points]
        assert xs == sorted(xs), edge
        assert edge.points[0] == layout.node(edge.source).right_port
        assert edge.points[-1] == layout.node(edge.target).left_port
    assert {(e.source, e.target) for e in layout.edges} == {
        ("dev", "qa"), ("qa", "staging"), ("staging", "prod-eu"), ("staging", "prod-us"),
    }  # fmt: skip
    assert layout.crossings == 0
    assert _overlap(layout) == []


def test_boxes_fit_inside_the_drawing() -> None:
    g = Geometry()
    layout = layout_graph(PIPELINE, geometry=g)
    for box in layout.nodes:
        assert box.x >= g.margin and box.y >= g.margin
        assert box.x + box.width <= layout.width - g.margin + 1e-9
        assert box.y + box.height <= layout.height - g.margin + 1e-9


def test_long_edges_route_through_the_layers_they_cross() -> None:
    layout = layout_graph({"dev": [], "qa": ["dev"], "staging": ["qa"], "prod": ["staging", "dev"]})
    long = next(e for e in layout.edges if (e.source, e.target) == ("dev", "prod"))
    assert len(long.points) == 4  # out of dev, through qa's and staging's layers, into prod
    short = next(e for e in layout.edges if (e.source, e.target) == ("staging", "prod"))
    assert len(short.points) == 2
    # The long edge does not run through the real boxes it passes.
    for name in ("qa", "staging"):
        box = layout.node(name)
        for x, y in long.points[1:-1]:
            inside = box.x <= x <= box.x + box.width and box.y <= y <= box.y + box.height
            assert not inside


def test_barycenter_ordering_removes_crossings_the_input_order_has() -> None:
    # In input order the second layer is [b1, a1] under [a, b]: the edges cross.
    upstreams = {"a": [], "b": [], "b1": ["b"], "a1": ["a"]}
    layout = layout_graph(upstreams)
    assert layout.crossings == 0
    assert _crossings_of(layout, upstreams) == 0
    assert layout.layers[1] == ("a1", "b1")


def test_crossing_count_on_a_known_graph() -> None:
    # K(2,2) between two layers always has one crossing, whatever the order.
    upstreams = {"a": [], "b": [], "x": ["a", "b"], "y": ["a", "b"]}
    layout = layout_graph(upstreams)
    assert layout.crossings == 1 == _crossings_of(layout, upstreams)
    assert count_crossings([["a", "b"], ["x", "y"]], {"a": ["y"], "b": ["x"]}) == 1
    assert count_crossings([["a", "b"], ["x", "y"]], {"a": ["x"], "b": ["y"]}) == 0


def test_regional_fan_out_keeps_regions_together() -> None:
    # Three regions, each staging -> two prods; given interleaved in the input.
    upstreams: dict[str, list[str]] = {"dev": []}
    regions = ("eu", "us", "ap")
    for r in regions:
        upstreams[f"stg-{r}"] = ["dev"]
    for i in (1, 2):
        for r in reversed(regions):
            upstreams[f"prod-{r}-{i}"] = [f"stg-{r}"]
    layout = layout_graph(upstreams)
    assert layout.crossings == 0 == _crossings_of(layout, upstreams)
    last = layout.layers[2]
    for r in regions:  # each region's prods are adjacent
        rows = sorted(last.index(f"prod-{r}-{i}") for i in (1, 2))
        assert rows[1] - rows[0] == 1


def test_the_same_input_gives_the_same_layout() -> None:
    upstreams = {
        f"e{i}": [f"e{j}" for j in range(max(0, i - 3), i) if (i + j) % 3] for i in range(40)
    }
    assert layout_graph(upstreams) == layout_graph(dict(upstreams))
    # Ties keep the config's order: two independent roots stay as given.
    assert layout_graph({"b": [], "a": []}).layers == (("b", "a"),)


def test_many_environments_do_not_overlap() -> None:
    upstreams: dict[str, list[str]] = {"dev": []}
    for i in range(200):
        upstreams[f"env-{i}"] = ["dev"] if i < 10 else [f"env-{i // 2 - 3}", f"env-{i - 10}"]
    layout = layout_graph(upstreams)
    assert len(layout.nodes) == 201
    assert _overlap(layout) == []
    for edge in layout.edges:
        xs = [p[0] for p in edge.points]
        assert xs == sorted(xs)


def test_any_mode_is_carried_on_the_edges() -> None:
    layout = layout_graph({"eu": [], "us": [], "global": ["eu", "us"]}, modes={"global": "any"})
    assert {e.mode for e in layout.edges} == {"any"}


def test_unknown_upstream_and_cycles_are_refused() -> None:
    with pytest.raises(GraphLayoutError, match="unknown environment 'nope'"):
        layout_graph({"a": ["nope"]})
    with pytest.raises(GraphLayoutError, match="cycle"):
        layout_graph({"a": ["b"], "b": ["a"]})


def test_empty_graph() -> None:
    layout = layout_graph({})
    assert layout.nodes == () and layout.edges == () and layout.crossings == 0
