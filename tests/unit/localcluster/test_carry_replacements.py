"""A wrapper's own `replace` directives are carried into the source module it pins (how
the Flux wrapper swaps a dependency version the module proxy does not serve), with the
wrapper's go.sum lines for each replacement, and nothing resolved (only `go mod edit`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shiplane.localcluster import build, components
from shiplane.localcluster.components import Binary, Component

pytestmark = pytest.mark.skipif(shutil.which("go") is None, reason="needs the Go toolchain")

SUMS = (
    "example.com/lib v1.0.0 h1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
    "example.com/lib v1.0.0/go.mod h1:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=\n"
)


def _setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, replace: str, sums: str):
    gomods = tmp_path / "gomods"
    wrapper = gomods / "thing"
    wrapper.mkdir(parents=True)
    (wrapper / "go.mod").write_text(
        "module shiplane.local/tools/thing\n\ngo 1.26.0\n\n"
        f"require example.com/app v1.2.3\n{replace}"
    )
    (wrapper / "go.sum").write_text("example.com/app v1.2.3 h1:CCCC=\n" + sums)
    source = tmp_path / "source"
    source.mkdir()
    (source / "go.mod").write_text(
        "module example.com/app\n\ngo 1.26.0\n\nrequire example.com/lib v1.0.3\n"
    )
    (source / "go.sum").write_text("example.com/lib v1.0.3 h1:DDDD=\n")
    monkeypatch.setattr(components, "GOMODS_DIR", gomods)
    c = Component("thing", "v1.2.3", (Binary("app", "."),), source_module="example.com/app")
    return c, wrapper, source


def test_a_versioned_replace_and_its_sums_reach_the_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    replace = "replace example.com/lib => example.com/lib v1.0.0\n"
    c, wrapper, source = _setup(tmp_path, monkeypatch, replace, SUMS)
    said: list[str] = []
    build._carry_replacements(c, wrapper, source, said.append)
    assert "replace example.com/lib => example.com/lib v1.0.0" in (source / "go.mod").read_text()
    assert (source / "go.sum").read_text() == "example.com/lib v1.0.3 h1:DDDD=\n" + SUMS
    assert said == ["  replacing example.com/lib with example.com/lib v1.0.0 (pinned in thing/)"]


def test_a_wrapper_without_replacements_leaves_the_source_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    c, wrapper, source = _setup(tmp_path, monkeypatch, "", "")
    before = (source / "go.mod").read_text(), (source / "go.sum").read_text()
    build._carry_replacements(c, wrapper, source, lambda _line: None)
    assert ((source / "go.mod").read_text(), (source / "go.sum").read_text()) == before


def test_a_replacement_without_its_sums_stops_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    replace = "replace example.com/lib => example.com/lib v1.0.0\n"
    c, wrapper, source = _setup(tmp_path, monkeypatch, replace, SUMS.splitlines()[1] + "\n")
    with pytest.raises(build.BuildError, match=r"lacks the hashes of example\.com/lib v1\.0\.0"):
        build._carry_replacements(c, wrapper, source, lambda _line: None)


def test_a_replacement_by_a_folder_stops_the_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    c, wrapper, source = _setup(tmp_path, monkeypatch, "replace example.com/lib => ../lib\n", "")
    with pytest.raises(build.BuildError, match=r"replaces example\.com/lib with a folder"):
        build._carry_replacements(c, wrapper, source, lambda _line: None)


def test_the_flux_source_controller_wrapper_carries_one_replacement() -> None:
    c = components.optional_component("flux-source-controller")
    gomod = (c.gomod_dir / "go.mod").read_text()
    assert (
        "replace github.com/fluxcd/pkg/artifact => github.com/fluxcd/pkg/artifact v0.18.0" in gomod
    )
