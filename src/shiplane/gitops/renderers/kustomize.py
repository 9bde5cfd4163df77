"""`kustomize`: the real `kustomize build` of the environment's overlay, else the base."""

from __future__ import annotations

from typing import Literal

from shiplane.gitops.renderers.context import Document, RenderContext
from shiplane.gitops.renderers.registry import RendererConfig, register_renderer
from shiplane.gitops.renderers.tools import run_tool
from shiplane.gitops.renderers.yamldocs import ManifestError, load_documents


class KustomizeConfig(RendererConfig):
    load_restrictor: Literal["LoadRestrictionsRootOnly", "LoadRestrictionsNone"] = (
        "LoadRestrictionsRootOnly"
    )
    """kustomize's `--load-restrictor`; RootOnly keeps file reads inside each
    kustomization's directory tree."""


@register_renderer("kustomize", config=KustomizeConfig)
async def render_kustomize(ctx: RenderContext, config: KustomizeConfig) -> list[Document]:
    """`kustomize build envs/<env>/<app>` when it has a kustomization, else of the base."""
    overlay = ctx.kustomization_in(ctx.env_dir) if ctx.env_dir.is_dir() else None
    if overlay is not None:
        target, kfile = ctx.env_rel, ctx.rel(overlay)
    else:
        base = ctx.kustomization_in(ctx.base_dir) if ctx.base_dir.is_dir() else None
        if base is None:
            raise ctx.fail(
                f"{ctx.manifests_path}/kustomization.yaml",
                f"no kustomization.yaml in {ctx.env_rel} or {ctx.manifests_path}",
            )
        target, kfile = ctx.manifests_path, ctx.rel(base)
    argv = [
        str(ctx.tools.kustomize_path()),
        "build",
        target,
        f"--load-restrictor={config.load_restrictor}",
    ]
    output = await run_tool(ctx, argv, file=kfile)
    try:
        return load_documents(output, kfile)
    except ManifestError as exc:
        raise ctx.fail(kfile, f"kustomize output: {exc}") from None
