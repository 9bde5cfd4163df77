"""Gitea is built from its own module source; the wrapper's go.sum is what pins that
source. A hash that does not match stops the build before anything is compiled or cached
(the module zip is in the Go module cache after `make test`, so no network is needed)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shiplane.localcluster import build, components


def test_a_tampered_go_sum_stops_the_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    gitea = components.optional_component("gitea")
    gomods = tmp_path / "gomods"
    shutil.copytree(gitea.gomod_dir, gomods / "gitea")
    gosum = gomods / "gitea" / "go.sum"
    pinned = build._pinned_sum(gitea, "code.gitea.io/gitea")
    forged = "h1:" + "A" * 43 + "="
    gosum.write_text(gosum.read_text().replace(pinned, forged))
    monkeypatch.setattr(components, "GOMODS_DIR", gomods)

    with pytest.raises(build.BuildError, match=r"checksum mismatch|does not match"):
        build.build_all((gitea,), base=tmp_path / "bin", progress=lambda _line: None)
    assert not build.is_built(gitea, tmp_path / "bin")
    assert not (tmp_path / "bin" / gitea.key).exists()
