"""`plain`: every YAML file of the app's base, plus extra objects of the environment."""

from __future__ import annotations

import fnmatch
from pathlib import Path

from pydantic import Field

from shiplane.config.textfile import decode_text
from shiplane.gitops.pins import PIN_FILE
from shiplane.gitops.renderers.context import KUSTOMIZATION_FILES, Document, RenderContext
from shiplane.gitops.renderers.registry import RendererConfig, register_renderer
from shiplane.gitops.renderers.yamldocs import ManifestError, load_documents

_SUFFIXES = (".yaml", ".yml")
# Never objects: Shiplane's pin, kustomize's file, helm's values in the environment.
_NOT_MANIFESTS = frozenset({PIN_FILE, *KUSTOMIZATION_FILES})


class PlainConfig(RendererConfig):
    exclude: tuple[str, ...] = Field(default=())
    """Glob patterns (relative to the base or environment directory) of files to skip."""


def manifest_files(directory: Path, exclude: tuple[str, ...]) -> list[Path]:
    """YAML files under `directory`, recursively, in a stable order.

    Hidden files and directories are skipped (editor and tool droppings), and so are
    the pin and kustomization files.
    """
    found = []
    for path in directory.rglob("*"):
        rel = path.relative_to(directory)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if not path.is_file() or path.suffix not in _SUFFIXES or path.name in _NOT_MANIFESTS:
            continue
        if any(fnmatch.fnmatch(rel.as_posix(), pattern) for pattern in exclude):
            continue
        found.append(path)
    return sorted(found, key=lambda p: p.relative_to(directory).as_posix())


@register_renderer("plain", config=PlainConfig)
async def render_plain(ctx: RenderContext, config: PlainConfig) -> list[Document]:
    """Every *.yaml / *.yml under the app's manifests path and the environment directory."""
    if not ctx.base_dir.is_dir():
        raise ctx.fail(ctx.manifests_path, "the app's manifests directory does not exist")
    files = manifest_files(ctx.base_dir, config.exclude)
    if ctx.env_dir.is_dir():
        files += manifest_files(ctx.env_dir, config.exclude)
    docs: list[Document] = []
    for path in files:
        rel = ctx.rel(path)
        text, problems = decode_text(path.read_bytes(), rel)
        if text is None:
            # The same located message as shiplane.yaml's (`line:col: not UTF-8 text…`).
            first = problems[0]
            raise ctx.fail(rel, f"line {first.line}, column {first.column}: {first.message}")
        try:
            docs += load_documents(text, rel)
        except ManifestError as exc:
            raise ctx.fail(rel, str(exc)) from None
    return docs
