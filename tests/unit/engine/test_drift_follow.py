"""Drift follows the project in force: pairs a new shiplane.yaml no longer defines are no
longer compared, and a removed environment reads as not watched instead of failing."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from shiplane.config import load_project_text
from shiplane.engine.drift import DriftController, _ClusterDrift
from shiplane.engine.project_source import ProjectSource
from shiplane.store.db import Database


def project(*envs: str) -> Any:
    lines = [
        "apiVersion: shiplane/v1alpha1",
        "project: shop",
        "clusters: {one: {kubeconfig: /k}}",
        "environments:",
        *(f"  {e}: {{cluster: one, namespace: {e}}}" for e in envs),
        "apps: {web: {images: [r.example/web], manifests: {path: apps/web}}}",
    ]
    return load_project_text("\n".join(lines) + "\n")


def test_pairs_the_new_project_does_not_define_are_forgotten() -> None:
    source = ProjectSource(project("dev", "qa"), commit="a" * 40, following=True)
    controller = DriftController(cast(Database, None), source)
    cluster = _ClusterDrift(cast(Any, None), controller)
    cluster.desired = {("dev", "web"): [], ("qa", "web"): []}
    controller._clusters["one"] = cluster

    source.apply(project("dev"), "b" * 40, Path("."))
    dropped = controller.forget(lambda env, app: env in source.project.environments)

    assert dropped == [("qa", "web")]
    assert list(cluster.desired) == [("dev", "web")]
    assert controller.status("qa", "web") is None  # removed: not watched, no KeyError
