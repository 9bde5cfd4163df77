"""The project's environment graph, laid out from shiplane.yaml's `after` (all and any)."""

from __future__ import annotations

from shiplane.config import load_project_text
from shiplane.engine.environment_graph import environment_layout, layout_json

YAML = """\
apiVersion: shiplane/v1alpha1
project: shop
clusters:
  local: {inCluster: true}
environments:
  dev: {cluster: local, namespace: dev}
  qa-eu: {cluster: local, namespace: qa-eu, after: [dev]}
  qa-us: {cluster: local, namespace: qa-us, after: [dev]}
  prod: {cluster: local, namespace: prod, after: {any: [qa-eu, qa-us]}}
apps:
  web:
    images: [registry.example/shop/web]
    manifests: {path: apps/web}
"""


def test_after_any_and_all_become_edges_in_config_order() -> None:
    layout = environment_layout(load_project_text(YAML))
    assert layout.layers == (("dev",), ("qa-eu", "qa-us"), ("prod",))
    modes = {(e.source, e.target): e.mode for e in layout.edges}
    assert modes == {
        ("dev", "qa-eu"): "all",
        ("dev", "qa-us"): "all",
        ("qa-eu", "prod"): "any",
        ("qa-us", "prod"): "any",
    }
    body = layout_json(layout)
    assert body["list_view"] is False
    assert [n["name"] for n in body["nodes"]] == ["dev", "qa-eu", "qa-us", "prod"]
    assert body["edges"][0]["points"][0] == [
        layout.node("dev").x + layout.node("dev").width,
        layout.node("dev").y + layout.node("dev").height / 2,
    ]
