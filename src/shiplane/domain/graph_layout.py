"""Where each environment of the graph is drawn: a layered layout of the `after` DAG.

Sugiyama's method in its plainest form, enough for a pipeline of a few hundred nodes:

1. Layers by longest path: an environment sits one column right of its furthest
   upstream, so every edge points right (dev on the left, production on the right).
2. An edge that spans several layers gets a virtual node in each layer it crosses, so
   it is routed around real nodes and takes part in the ordering.
3. Order within each layer by barycenter sweeps (down, then up, a few times), keeping
   the order with the fewest crossings seen; ties keep the earlier position, so the
   result depends only on the input (the config's order), never on hashing.
4. Coordinates: fixed-size boxes on a grid; each layer is centred vertically.

Pure: names in, numbers out. The SVG is drawn elsewhere (web/graph_svg.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

LIST_VIEW_ABOVE = 50
"""Above this many environments the pipeline page offers a list view beside the graph."""

SWEEPS = 6
"""Barycenter passes (each down and up); more rarely helps on pipeline-shaped graphs."""

Point = tuple[float, float]


class GraphLayoutError(ValueError):
    """The graph cannot be laid out: an unknown upstream or a cycle."""


@dataclass(frozen=True, slots=True)
class Geometry:
    """Sizes in SVG user units."""

    node_width: float = 180.0
    node_height: float = 64.0
    layer_gap: float = 72.0  # horizontal space between columns (edges run here)
    node_gap: float = 24.0  # vertical space between boxes of one column
    margin: float = 16.0


@dataclass(frozen=True, slots=True)
class NodeBox:
    """One environment's box: top-left corner, size, column (layer) and row (order)."""

    name: str
    layer: int
    order: int
    x: float
    y: float
    width: float
    height: float

    @property
    def left_port(self) -> Point:
        return (self.x, self.y + self.height / 2)

    @property
    def right_port(self) -> Point:
        return (self.x + self.width, self.y + self.height / 2)


@dataclass(frozen=True, slots=True)
class EdgePath:
    """An `after` edge from `source` (upstream) to `target`, as points left to right."""

    source: str
    target: str
    points: tuple[Point, ...]
    mode: str = "all"  # the target's `after` mode: all upstreams, or any one of them


@dataclass(frozen=True, slots=True)
class GraphLayout:
    nodes: tuple[NodeBox, ...]  # by layer, then order
    edges: tuple[EdgePath, ...]  # by source, then target (in node order)
    layers: tuple[tuple[str, ...], ...]  # real nodes only, top to bottom
    width: float
    height: float
    crossings: int

    def node(self, name: str) -> NodeBox:
        for box in self.nodes:
            if box.name == name:
                return box
        raise KeyError(name)


def longest_path_layers(upstreams: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Each node's layer: 0 for roots, else 1 + the highest layer of its upstreams."""
    for name, ups in upstreams.items():
        unknown = [u for u in ups if u not in upstreams]
        if unknown:
            raise GraphLayoutError(f"{name!r} is after unknown environment {unknown[0]!r}")
    layer: dict[str, int] = {}
    visiting: set[str] = set()

    def visit(name: str) -> int:
        if name in layer:
            return layer[name]
        if name in visiting:
            raise GraphLayoutError(f"the environment graph has a cycle through {name!r}")
        visiting.add(name)
        ups = upstreams[name]
        value = 1 + max(visit(u) for u in ups) if ups else 0
        visiting.discard(name)
        layer[name] = value
        return value

    for name in upstreams:
        visit(name)
    return layer


@dataclass(slots=True)
class _Graph:
    """Layers of real and virtual nodes; edges only between adjacent layers."""

    layers: list[list[str]]
    down: dict[str, list[str]]  # node -> nodes in the next layer
    up: dict[str, list[str]]  # node -> nodes in the previous layer
    chains: dict[tuple[str, str], list[str]]  # real edge -> the nodes it passes through


def _virtual(source: str, target: str, layer: int) -> str:
    # NUL cannot occur in an environment name, so a virtual name never clashes.
    return f"\0{source}\0{target}\0{layer}"


def _build(upstreams: Mapping[str, Sequence[str]], layer: Mapping[str, int]) -> _Graph:
    depth = max(layer.values(), default=-1) + 1
    layers: list[list[str]] = [[] for _ in range(depth)]
    for name in upstreams:  # input order: the first ordering, and every tie-break
        layers[layer[name]].append(name)
    down: dict[str, list[str]] = {n: [] for n in upstreams}
    up: dict[str, list[str]] = {n: [] for n in upstreams}
    chains: dict[tuple[str, str], list[str]] = {}
    for target, ups in upstreams.items():
        for source in dict.fromkeys(ups):  # an upstream named twice is one edge
            chain = [source]
            for mid in range(layer[source] + 1, layer[target]):
                v = _virtual(source, target, mid)
                layers[mid].append(v)
                down[v], up[v] = [], []
                chain.append(v)
            chain.append(target)
            for a, b in itertools.pairwise(chain):
                down[a].append(b)
                up[b].append(a)
            chains[(source, target)] = chain
    return _Graph(layers, down, up, chains)


def count_crossings(layers: Sequence[Sequence[str]], down: Mapping[str, Sequence[str]]) -> int:
    """Edge crossings between adjacent layers (pairs of edges whose ends are inverted)."""
    total = 0
    for upper, lower in itertools.pairwise(layers):
        pos = {n: i for i, n in enumerate(lower)}
        ends = sorted((i, pos[t]) for i, n in enumerate(upper) for t in down.get(n, ()))
        # Inversions of the lower ends, counted by insertion into a sorted list
        # (fine for the few hundred edges a pipeline has).
        seen: list[int] = []
        for _, b in ends:
            lo, hi = 0, len(seen)
            while lo < hi:  # first index with value > b
                mid = (lo + hi) // 2
                if seen[mid] <= b:
                    lo = mid + 1
                else:
                    hi = mid
            total += len(seen) - lo
            seen.insert(lo, b)
    return total


def _sorted_by_barycenter(
    layer: list[str], neighbours: Mapping[str, Sequence[str]], pos: Mapping[str, int]
) -> list[str]:
    """Nodes by the mean position of their neighbours in the fixed layer; a node without
    neighbours keeps its place (its own position stands in for the mean)."""

    def key(item: tuple[int, str]) -> tuple[float, int]:
        index, name = item
        around = [pos[n] for n in neighbours[name]]
        return (sum(around) / len(around) if around else float(index), index)

    return [name for _, name in sorted(enumerate(layer), key=key)]


def _order(graph: _Graph) -> int:
    """Reorder `graph.layers` in place to few crossings; returns their number."""
    best = [list(layer) for layer in graph.layers]
    best_count = count_crossings(best, graph.down)
    layers = graph.layers
    for _ in range(SWEEPS):
        if best_count == 0:
            break
        for i in range(1, len(layers)):
            pos = {n: j for j, n in enumerate(layers[i - 1])}
            layers[i] = _sorted_by_barycenter(layers[i], graph.up, pos)
        for i in range(len(layers) - 2, -1, -1):
            pos = {n: j for j, n in enumerate(layers[i + 1])}
            layers[i] = _sorted_by_barycenter(layers[i], graph.down, pos)
        count = count_crossings(layers, graph.down)
        if count < best_count:
            best, best_count = [list(layer) for layer in layers], count
    graph.layers = best
    return best_count


def layout_graph(
    upstreams: Mapping[str, Sequence[str]],
    *,
    modes: Mapping[str, str] | None = None,
    geometry: Geometry | None = None,
) -> GraphLayout:
    """Lay out environments given each one's upstream names (its `after`), in the
    config's order. `modes` says per environment whether it needs `all` or `any` of its
    upstreams (carried on the edges for drawing)."""
    g = geometry or Geometry()
    graph = _build(upstreams, longest_path_layers(upstreams))
    crossings = _order(graph)
    step_x = g.node_width + g.layer_gap
    step_y = g.node_height + g.node_gap
    tallest = max((len(layer) for layer in graph.layers), default=0)
    height = 2 * g.margin + max(tallest * step_y - g.node_gap, 0)
    width = 2 * g.margin + max(len(graph.layers) * step_x - g.layer_gap, 0)
    # Centre of each slot (real or virtual), so edges pass through virtual slots.
    centre: dict[str, Point] = {}
    boxes: list[NodeBox] = []
    for li, layer in enumerate(graph.layers):
        top = g.margin + (tallest - len(layer)) * step_y / 2
        x = g.margin + li * step_x
        for oi, name in enumerate(layer):
            y = top + oi * step_y
            centre[name] = (x + g.node_width / 2, y + g.node_height / 2)
            if name in upstreams:
                row = sum(1 for n in layer[:oi] if n in upstreams)
                boxes.append(NodeBox(name, li, row, x, y, g.node_width, g.node_height))
    by_name = {b.name: b for b in boxes}
    edges: list[EdgePath] = []
    for source_box in boxes:
        targets = [b for b in boxes if (source_box.name, b.name) in graph.chains]
        for target_box in targets:
            chain = graph.chains[(source_box.name, target_box.name)]
            points = [by_name[chain[0]].right_port]
            points += [centre[v] for v in chain[1:-1]]
            points.append(by_name[chain[-1]].left_port)
            mode = (modes or {}).get(target_box.name, "all")
            edges.append(EdgePath(source_box.name, target_box.name, tuple(points), mode))
    layers = tuple(tuple(n for n in layer if n in upstreams) for layer in graph.layers)
    return GraphLayout(tuple(boxes), tuple(edges), layers, width, height, crossings)
