"""What a renderer gets (RenderContext) and what it returns (Document)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from shiplane.gitops.errors import RenderError
from shiplane.gitops.pins import PinChart

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


TOOL_VARIABLES = {"helm": "SHIPLANE_HELM", "kustomize": "SHIPLANE_KUSTOMIZE"}
"""The environment variable that names each renderer binary (README, environment variables)."""


def find_tool(name: str, environ: Mapping[str, str] | None = None) -> Path | None:
    """Where the `name` binary is: its variable (`SHIPLANE_HELM`...), else PATH; None when
    neither has it."""
    env = os.environ if environ is None else environ
    named = env.get(TOOL_VARIABLES[name], "")
    if named:
        return Path(named).expanduser()
    found = shutil.which(name, path=env.get("PATH"))
    return Path(found) if found else None


@dataclass(frozen=True)
class Tools:
    """Paths of the real binaries, resolved at the edge (`Tools.from_environment`, or a
    caller's own settings) and passed in. A path left None is looked up when it is
    needed, the same way (variable, then PATH)."""

    helm: Path | None = None
    kustomize: Path | None = None

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Tools:
        return cls(helm=find_tool("helm", environ), kustomize=find_tool("kustomize", environ))

    def helm_path(self) -> Path:
        # A bare name when nowhere to be found: `run_tool` then says how to provide it.
        return self.helm or find_tool("helm") or Path("helm")

    def kustomize_path(self) -> Path:
        return self.kustomize or find_tool("kustomize") or Path("kustomize")


class PinnedContents(Protocol):
    """Where the contents a pin names beyond images come from (the engine provides it:
    the GitOps workspace and the chart cache, with the project's repositories)."""

    async def chart(self, app: str, chart: PinChart) -> Path:
        """The unpacked chart `chart` names for `app` (its `Chart.yaml` at the top)."""
        ...

    async def tree_at(self, tree: Path, app: str, manifests_path: str, commit: str) -> Path:
        """`tree` with `manifests_path` as it was at `commit`."""
        ...


@dataclass(frozen=True)
class Document:
    """One rendered object and the repository-relative file it came from."""

    obj: dict[str, Any]
    source: str


@dataclass(frozen=True)
class RenderContext:
    repo_dir: Path
    """Root of the exported commit (read-only)."""
    app: str
    environment: str
    namespace: str
    manifests_path: str
    """The app's base directory, relative to the repository root (e.g. `apps/checkout`)."""
    timeout: float = 120.0
    tools: Tools = field(default_factory=Tools)
    chart_dir: Path | None = None
    """A pinned chart (pulled, outside the tree) that `helm` renders instead of the
    directory at `manifests_path`."""
    chart_label: str | None = None
    """How messages name the pinned chart (`chart:<name>@<version>`)."""

    @property
    def base_dir(self) -> Path:
        return self.repo_dir / self.manifests_path

    @property
    def env_rel(self) -> str:
        return f"envs/{self.environment}/{self.app}"

    @property
    def env_dir(self) -> Path:
        return self.repo_dir / self.env_rel

    def rel(self, path: Path) -> str:
        """`path` relative to the repository root, for messages."""
        try:
            return path.relative_to(self.repo_dir).as_posix()
        except ValueError:
            return str(path)

    def fail(self, file: str, detail: str) -> RenderError:
        return RenderError(app=self.app, environment=self.environment, file=file, detail=detail)

    def kustomization_in(self, directory: Path) -> Path | None:
        for name in KUSTOMIZATION_FILES:
            if (directory / name).is_file():
                return directory / name
        return None
