"""`shiplane serve` points the renderers at the binaries `localcluster build` made."""

from __future__ import annotations

from pathlib import Path

import pytest

from shiplane.cli.cmd_serve import default_renderer_tools
from shiplane.localcluster.build import binary_path


def test_built_binaries_fill_unset_variables_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPLANE_BIN_DIR", str(tmp_path))
    helm = binary_path("helm", "helm")
    helm.parent.mkdir(parents=True)
    helm.write_text("#!/bin/sh\n")
    env: dict[str, str] = {}
    default_renderer_tools(env)
    assert env == {"SHIPLANE_HELM": str(helm)}  # kustomize is not built: PATH decides
    chosen = {"SHIPLANE_HELM": "/opt/helm"}
    default_renderer_tools(chosen)
    assert chosen["SHIPLANE_HELM"] == "/opt/helm"
