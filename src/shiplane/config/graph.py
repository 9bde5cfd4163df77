"""Pure graph helpers for the environment graph and app dependencies."""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence


def topological_order(nodes: Sequence[str], before: Mapping[str, Sequence[str]]) -> list[str]:
    """Order `nodes` so that each comes after everything listed in `before[node]`.

    Stable: among nodes that are ready at the same time, declaration order wins, so the
    result does not change when an unrelated node is added. Unknown names in `before`
    are ignored, and nodes on a cycle are left out (cycles are reported elsewhere).
    """
    index = {name: i for i, name in enumerate(nodes)}
    waiting = {name: {p for p in before.get(name, ()) if p in index} for name in nodes}
    followers: dict[str, list[str]] = {name: [] for name in nodes}
    for name, preds in waiting.items():
        for pred in preds:
            followers[pred].append(name)
    ready = [index[name] for name, preds in waiting.items() if not preds]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        name = nodes[heapq.heappop(ready)]
        order.append(name)
        for follower in followers[name]:
            waiting[follower].discard(name)
            if not waiting[follower]:
                heapq.heappush(ready, index[follower])
    return order


def find_cycles(nodes: Sequence[str], edges: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """Distinct cycles reachable along `edges`, each as `[a, b, c]` meaning a->b->c->a.

    Each cycle starts at its earliest-declared node so that the same cycle is reported
    once and always the same way. One cycle per back edge is enough to tell users what
    to fix; enumerating every elementary cycle could be exponential.
    """
    index = {name: i for i, name in enumerate(nodes)}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []
    found: dict[tuple[str, ...], list[str]] = {}

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for nxt in edges.get(name, ()):
            if nxt not in index:
                continue
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :]
                start = min(range(len(cycle)), key=lambda i: index[cycle[i]])
                rotated = cycle[start:] + cycle[:start]
                found.setdefault(tuple(rotated), rotated)
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[name] = 2

    for name in nodes:
        if name not in state:
            visit(name)
    return sorted(found.values(), key=lambda c: [index[n] for n in c])
