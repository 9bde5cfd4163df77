"""The environment graph in layers, for the pipeline page's list rendering: an
environment's layer is the longest path to it from a root (an environment with no
upstream), so every environment sits to the right of everything it comes after."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def graph_layers(
    environments: Sequence[str], upstream: Mapping[str, Sequence[str]]
) -> list[list[str]]:
    """Environments grouped by layer (layer 0 first); within a layer the given order is
    kept. `environments` must be in topological order (upstream first), as
    `ProjectConfig.environment_order()` returns them; unknown upstream names are ignored."""
    layer: dict[str, int] = {}
    for name in environments:
        parents = [layer[p] for p in upstream.get(name, ()) if p in layer]
        layer[name] = 1 + max(parents) if parents else 0
    grouped: list[list[str]] = [[] for _ in range(max(layer.values(), default=-1) + 1)]
    for name in environments:
        grouped[layer[name]].append(name)
    return grouped
