"""Renderers find helm and kustomize by configuration: a variable, else PATH."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from shiplane.gitops import RenderError, render_app
from shiplane.gitops.renderers.context import Tools, find_tool


def _executable(directory: Path, name: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


def test_variable_first_then_path(tmp_path: Path) -> None:
    on_path = _executable(tmp_path / "bin", "kustomize")
    env = {"PATH": str(tmp_path / "bin"), "SHIPLANE_HELM": "~/tools/helm"}
    assert find_tool("helm", env) == Path("~/tools/helm").expanduser()
    assert find_tool("kustomize", env) == on_path
    assert find_tool("kustomize", {"PATH": str(tmp_path / "empty")}) is None
    assert Tools.from_environment(env) == Tools(
        helm=Path("~/tools/helm").expanduser(), kustomize=on_path
    )


def test_a_missing_binary_says_how_to_provide_it(tmp_path: Path) -> None:
    base = tmp_path / "apps" / "web"
    base.mkdir(parents=True)
    (base / "kustomization.yaml").write_text("resources: []\n")
    with pytest.raises(RenderError) as caught:
        asyncio.run(
            render_app(
                tmp_path,
                app="web",
                environment="qa",
                namespace="shop-qa",
                manifests_path="apps/web",
                renderer="kustomize",
                pin=None,
                is_namespaced=lambda _v, _k: True,
                tools=Tools(kustomize=tmp_path / "nowhere" / "kustomize"),
            )
        )
    message = str(caught.value)
    assert "kustomize binary not found at" in message
    assert "set SHIPLANE_KUSTOMIZE to its path or put kustomize on PATH" in message
