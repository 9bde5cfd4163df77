"""The environment graph as an SVG string, from a `GraphLayout` (domain/graph_layout.py).

What the pipeline page inlines. Accessible: the drawing has a <title> and <desc>, each
environment is a link (when `href` is given) named by its label and lines, edges are
decoration (aria-hidden). No script and no style attribute: everything visual is a CSS
class (`env`, `env-line`, `edge`, `edge-any`, plus the classes the caller gives a node
or line), so the Content-Security-Policy needs no `unsafe-inline`. Deterministic: the
same layout and content give the same bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

from shiplane.domain.graph_layout import EdgePath, GraphLayout, NodeBox

LINE_HEIGHT = 16.0
PADDING = 10.0


@dataclass(frozen=True, slots=True)
class NodeLine:
    """One line of text inside an environment's box (an app's release, its health...);
    `css` is a class name such as `health-degraded`."""

    text: str
    css: str = ""


def node_id(environment: str) -> str:
    """The element id of an environment's box (`#graph-env-staging`; the pipeline's
    node for the environment is `#env-staging`)."""
    return f"graph-env-{environment}"


def _num(value: float) -> str:
    """Fixed, short numbers: `12`, `12.5` (the same bytes for the same layout)."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def _attr(value: str) -> str:
    return escape(value, quote=True)


def _path(points: Sequence[tuple[float, float]]) -> str:
    """A smooth path through `points`: horizontal tangents at each point (S-curves)."""
    (x0, y0), rest = points[0], points[1:]
    parts = [f"M{_num(x0)} {_num(y0)}"]
    px, py = x0, y0
    for x, y in rest:
        mid = (px + x) / 2
        parts.append(f"C{_num(mid)} {_num(py)} {_num(mid)} {_num(y)} {_num(x)} {_num(y)}")
        px, py = x, y
    return " ".join(parts)


def _edge(edge: EdgePath) -> str:
    css = "edge edge-any" if edge.mode == "any" else "edge"
    return (
        f'<path class="{css}" data-from="{_attr(edge.source)}" data-to="{_attr(edge.target)}" '
        f'd="{_path(edge.points)}" marker-end="url(#arrow)"/>'
    )


def _node(
    box: NodeBox,
    lines: Sequence[NodeLine],
    css: Sequence[str],
    href: str | None,
    max_lines: int,
) -> str:
    shown = list(lines[:max_lines])
    if len(lines) > max_lines and shown:  # no room at all: the lines are in the <title>
        shown[-1] = NodeLine(f"+{len(lines) - max_lines + 1} more", "env-more")
    label = ", ".join([box.name, *(line.text for line in lines)])
    classes = " ".join(["env", *css])
    x, y = box.x, box.y
    body = [
        f"<title>{escape(label)}</title>",
        f'<rect x="{_num(x)}" y="{_num(y)}" width="{_num(box.width)}" '
        f'height="{_num(box.height)}" rx="6"/>',
        f'<text class="env-name" x="{_num(x + PADDING)}" '
        f'y="{_num(y + PADDING + LINE_HEIGHT - 4)}">{escape(box.name)}</text>',
    ]
    for i, line in enumerate(shown, start=1):
        line_css = f"env-line {line.css}".rstrip()
        ty = y + PADDING + (i + 1) * LINE_HEIGHT - 4
        body.append(
            f'<text class="{_attr(line_css)}" x="{_num(x + PADDING)}" y="{_num(ty)}">'
            f"{escape(line.text)}</text>"
        )
    group = (
        f'<g id="{_attr(node_id(box.name))}" class="{_attr(classes)}" '
        f'data-environment="{_attr(box.name)}">'
    )
    inner = "".join(body)
    if href is None:
        return f"{group}{inner}</g>"
    # The link's name is its first child, the <title> with every line (SVG-AAM), so no
    # aria-label that the visible text would have to repeat word for word.
    return f'{group}<a href="{_attr(href)}">{inner}</a></g>'


def render_svg(
    layout: GraphLayout,
    *,
    title: str,
    description: str = "",
    lines: Mapping[str, Sequence[NodeLine]] | None = None,
    node_classes: Mapping[str, Sequence[str]] | None = None,
    href: Callable[[str], str] | None = None,
) -> str:
    """The graph as one <svg> element. `lines` are the text lines per environment (apps
    and releases, health, pending promotions); boxes hold as many as fit their height,
    then `+N more`. `node_classes` mark whole boxes (`frozen`, `failing`); `href` makes
    each box a link to the environment's page."""
    lines = lines or {}
    node_classes = node_classes or {}
    max_lines = (
        max(int((layout.nodes[0].height - PADDING) // LINE_HEIGHT) - 1, 0) if (layout.nodes) else 0
    )
    desc = description or (
        f"{len(layout.nodes)} environments in {len(layout.layers)} stages; "
        "arrows point from an environment to those that follow it"
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="env-graph" role="group" '
        f'aria-labelledby="env-graph-title env-graph-desc" '
        f'viewBox="0 0 {_num(layout.width)} {_num(layout.height)}" '
        f'width="{_num(layout.width)}" height="{_num(layout.height)}">',
        f'<title id="env-graph-title">{escape(title)}</title>',
        f'<desc id="env-graph-desc">{escape(desc)}</desc>',
        '<defs><marker id="arrow" class="edge-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="8" markerHeight="8" orient="auto-start-reverse">'
        '<path d="M0 0 L10 5 L0 10 z"/></marker></defs>',
        '<g class="edges" aria-hidden="true">',
        *(_edge(e) for e in layout.edges),
        "</g>",
        '<g class="envs">',
        *(
            _node(
                box,
                lines.get(box.name, ()),
                node_classes.get(box.name, ()),
                href(box.name) if href is not None else None,
                max_lines,
            )
            for box in layout.nodes
        ),
        "</g>",
        "</svg>",
    ]
    return "".join(parts)
