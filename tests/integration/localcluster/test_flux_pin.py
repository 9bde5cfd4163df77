"""Flux's controllers are built from their own module source plus their `api` module,
which the source's go.mod replaces with ./api; the wrapper's go.sum pins both zips and the
dependency version it swaps in. A hash that does not match stops the build before anything
is compiled or cached (the zips are in the Go module cache after `make test`: no network)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shiplane.localcluster import build, components
from tests.support.flux import FluxBinaries

pytestmark = pytest.mark.flux

SOURCE = "flux-source-controller"
PINNED = (
    "github.com/fluxcd/source-controller",
    "github.com/fluxcd/source-controller/api",
    "github.com/fluxcd/pkg/artifact",
)


@pytest.mark.parametrize("module", PINNED)
def test_a_tampered_go_sum_stops_the_build(
    module: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, flux_binaries: FluxBinaries
) -> None:
    c = components.optional_component(SOURCE)
    gomods = tmp_path / "gomods"
    shutil.copytree(c.gomod_dir, gomods / SOURCE)
    gosum = gomods / SOURCE / "go.sum"
    monkeypatch.setattr(components, "GOMODS_DIR", gomods)
    pinned = build._pinned_sum(c, module)
    gosum.write_text(gosum.read_text().replace(pinned, "h1:" + "A" * 43 + "="))

    with pytest.raises(build.BuildError, match=r"checksum mismatch|does not match"):
        build.build_all((c,), base=tmp_path / "bin", progress=lambda _line: None)
    assert not build.is_built(c, tmp_path / "bin")
    assert not (tmp_path / "bin" / c.key).exists()
