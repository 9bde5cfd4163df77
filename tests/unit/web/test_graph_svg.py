"""The environment graph's SVG: accessible, no inline script or style, deterministic."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from shiplane.domain.graph_layout import Geometry, layout_graph
from shiplane.web.graph_svg import NodeLine, node_id, render_svg

SVG = "{http://www.w3.org/2000/svg}"
UPSTREAMS = {"dev": [], "qa": ["dev"], "prod": ["qa", "dev"]}


def _svg(**kwargs: object) -> str:
    layout = layout_graph(UPSTREAMS, modes={"prod": "any"})
    return render_svg(layout, title="shop pipeline", **kwargs)  # type: ignore[arg-type]


def test_it_is_well_formed_and_titled() -> None:
    root = ET.fromstring(_svg())
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "group"
    assert root.find(f"{SVG}title").text == "shop pipeline"  # type: ignore[union-attr]
    desc = root.find(f"{SVG}desc")
    assert desc is not None and "3 environments in 3 stages" in (desc.text or "")


def test_every_environment_has_an_id_a_label_and_a_link() -> None:
    text = _svg(
        lines={"qa": [NodeLine("checkout 1.4.2", "health-healthy")]},
        href=lambda env: f"/ui/environments/{env}",
    )
    root = ET.fromstring(text)
    groups = {g.get("id"): g for g in root.iter(f"{SVG}g") if g.get("data-environment")}
    assert set(groups) == {node_id(e) for e in UPSTREAMS}
    qa = groups["graph-env-qa"]
    link = qa.find(f"{SVG}a")
    assert link is not None and link.get("href") == "/ui/environments/qa"
    # Named by its first child, the <title> holding every line (even those cut off).
    title = link.find(f"{SVG}title")
    assert link.get("aria-label") is None and title is not None
    assert title.text == "qa, checkout 1.4.2" and next(iter(link)) is title
    texts = [t.text for t in qa.iter(f"{SVG}text")]
    assert texts == ["qa", "checkout 1.4.2"]
    line = [t for t in qa.iter(f"{SVG}text")][1]
    assert line.get("class") == "env-line health-healthy"


def test_edges_are_decoration_and_any_mode_is_a_class() -> None:
    root = ET.fromstring(_svg())
    edges = [p for p in root.iter(f"{SVG}path") if "edge" in (p.get("class") or "").split()]
    assert len(edges) == 3
    into_prod = [e for e in edges if e.get("data-to") == "prod"]
    assert all("edge-any" in (e.get("class") or "") for e in into_prod)
    hidden = [g for g in root.iter(f"{SVG}g") if g.get("class") == "edges"]
    assert hidden[0].get("aria-hidden") == "true"


def test_no_script_no_style_no_event_handlers() -> None:
    text = _svg(lines={"dev": [NodeLine("x")]}, href=lambda e: f"/e/{e}")
    assert "<script" not in text
    assert "style=" not in text
    assert not re.search(r"\son[a-z]+=", text)


def test_text_is_escaped() -> None:
    text = render_svg(
        layout_graph({"dev": []}),
        title="<b>&",
        lines={"dev": [NodeLine('<img src=x onerror="y">')]},
    )
    assert "<img" not in text and "&lt;img" in text
    assert "<b>" not in text
    ET.fromstring(text)  # still well-formed


def test_lines_that_do_not_fit_become_a_count() -> None:
    layout = layout_graph({"dev": []}, geometry=Geometry(node_height=64))
    lines = [NodeLine(f"app-{i}") for i in range(5)]
    root = ET.fromstring(render_svg(layout, title="t", lines={"dev": lines}))
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts == ["dev", "app-0", "+4 more"]


def test_same_input_same_bytes() -> None:
    assert _svg() == _svg()


def test_a_box_without_room_for_lines_keeps_them_in_its_title() -> None:
    layout = layout_graph({"dev": []}, geometry=Geometry(node_height=30))
    root = ET.fromstring(render_svg(layout, title="t", lines={"dev": [NodeLine("web 1.0")]}))
    assert [t.text for t in root.iter(f"{SVG}text")] == ["dev"]
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert "dev, web 1.0" in titles
