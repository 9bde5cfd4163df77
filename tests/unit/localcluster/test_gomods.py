"""Every Go module that set-up builds is pinned by its committed go.sum.

The wrapper modules in `localcluster/gomods/` are built with `-mod=readonly` and
`GOTOOLCHAIN=local`: a missing go.sum line would fail the build instead of resolving
something new, and a `go` line newer than the toolchain would fail instead of fetching
another toolchain. These tests catch a wrapper that would depend on the day it is built.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from shiplane.localcluster import build
from shiplane.localcluster.components import ALL_COMPONENTS, Component

_REQUIRE_LINE = re.compile(r"^\s*(?:require\s+)?([^\s()]+)\s+(v[^\s]+)(?:\s*//.*)?$")
_REPLACE_LINE = re.compile(
    r"^\s*(?:replace\s+)?([^\s()]+)(?:\s+v\S+)?\s+=>\s+(\S+)(?:\s+(v\S+))?\s*$"
)


def _blocks(gomod: str, keyword: str) -> list[str]:
    """The lines of every `keyword (...)` block and every single-line `keyword x`."""
    lines: list[str] = []
    inside = False
    for raw in gomod.splitlines():
        line = raw.split("//", 1)[0].rstrip() if keyword == "replace" else raw.rstrip()
        if line.startswith(f"{keyword} ("):
            inside = True
        elif inside and line.strip() == ")":
            inside = False
        elif inside or line.startswith(f"{keyword} "):
            lines.append(line)
    return lines


def requirements(gomod: str) -> list[tuple[str, str]]:
    found = []
    for line in _blocks(gomod, "require"):
        match = _REQUIRE_LINE.match(line)
        if match:
            found.append((match.group(1), match.group(2)))
    return found


def replacements(gomod: str) -> dict[str, tuple[str, str | None]]:
    """module -> (replacement, its version or None for a local path)."""
    found = {}
    for line in _blocks(gomod, "replace"):
        match = _REPLACE_LINE.match(line)
        if match:
            found[match.group(1)] = (match.group(2), match.group(3))
    return found


def _sum_entries(gosum: str) -> set[str]:
    return {" ".join(line.split()[:2]) for line in gosum.splitlines() if line.strip()}


@pytest.mark.parametrize("component", ALL_COMPONENTS, ids=lambda c: c.key)
def test_wrapper_module_is_pinned_by_go_sum(component: Component) -> None:
    directory = Path(component.gomod_dir)
    gomod = (directory / "go.mod").read_text()
    gosum_path = directory / "go.sum"
    assert gosum_path.is_file(), f"{directory} has no go.sum: run `go mod tidy` there"
    entries = _sum_entries(gosum_path.read_text())
    required = requirements(gomod)
    assert required, f"{directory}/go.mod requires nothing: cannot be a pinned wrapper"
    replaced = replacements(gomod)
    for target, version in replaced.values():
        assert not target.startswith((".", "/")), f"{directory}: replace to a local path {target}"
        assert version is not None, f"{directory}: replace to {target} has no version"
    for module, version in required:
        # A replaced module is fetched, and verified, at its replacement's version.
        module, version = replaced.get(module, (module, version))
        assert f"{module} {version}/go.mod" in entries, f"go.sum lacks {module} {version}/go.mod"


@pytest.mark.parametrize("component", ALL_COMPONENTS, ids=lambda c: c.key)
def test_go_line_does_not_ask_for_a_newer_toolchain(component: Component) -> None:
    gomod = (Path(component.gomod_dir) / "go.mod").read_text()
    match = re.search(r"^go (\d+)\.(\d+)", gomod, re.MULTILINE)
    assert match, "go.mod has no go line"
    wanted = (int(match.group(1)), int(match.group(2)))
    assert wanted <= build.MIN_GO, f"go.mod wants Go {wanted}, set-up promises {build.MIN_GO}"
    assert "toolchain " not in gomod


def test_builds_never_resolve_or_fetch_a_toolchain() -> None:
    env = build._go_env()
    assert env["GOFLAGS"] == "-mod=readonly"
    assert env["GOTOOLCHAIN"] == "local"


def test_parsers_read_blocks_and_single_lines() -> None:
    gomod = (
        "module x\n\ngo 1.26.0\n\nrequire a.io/b v1.2.3\n"
        "require (\n\tc.io/d v0.1.0 // indirect\n)\n"
        "replace (\n\tk8s.io/api => k8s.io/api v0.36.3\n)\n"
        "replace e.io/f v1.0.0 => ../f\n"
    )
    assert requirements(gomod) == [("a.io/b", "v1.2.3"), ("c.io/d", "v0.1.0")]
    assert replacements(gomod) == {
        "k8s.io/api": ("k8s.io/api", "v0.36.3"),
        "e.io/f": ("../f", None),
    }


@pytest.mark.parametrize("component", ALL_COMPONENTS, ids=lambda c: c.key)
def test_component_version_is_the_version_its_wrapper_requires(component: Component) -> None:
    """A bump in components.py without the wrapper (or the reverse) would build one version
    and call it another, under the other's cache key."""
    gomod = (Path(component.gomod_dir) / "go.mod").read_text()
    sources = [b.package for b in component.binaries] + [f.module for f in component.module_files]
    if component.source_module is not None:
        sources.append(component.source_module)
    versions = {
        version
        for module, version in requirements(gomod)
        for source in sources
        if source == module or source.startswith(module + "/")
    }
    assert versions == {component.version}, f"{component.key}: go.mod requires {versions}"
