"""What a renderer gets (RenderContext) and what it returns (Document)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shiplane.gitops.errors import RenderError

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


@dataclass(frozen=True)
class Tools:
    """Paths of the real binaries; default to the ones `shiplane localcluster build` made."""

    helm: Path | None = None
    kustomize: Path | None = None

    def helm_path(self) -> Path:
        return self.helm or _cached("helm", "helm")

    def kustomize_path(self) -> Path:
        return self.kustomize or _cached("kustomize", "kustomize")


def _cached(component: str, binary: str) -> Path:
    # Imported lazily: only rendering with a real binary needs the build cache layout.
    from shiplane.localcluster.build import binary_path

    return binary_path(component, binary)


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
