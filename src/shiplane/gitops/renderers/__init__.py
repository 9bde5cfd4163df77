"""Renderers: turn an app's manifests at a commit into Kubernetes objects.

Importing this package registers the built-in renderers (`plain`, `kustomize`, `helm`).
"""

from shiplane.gitops.renderers import helm, kustomize, plain
from shiplane.gitops.renderers.context import Document, RenderContext, Tools
from shiplane.gitops.renderers.pipeline import render_app
from shiplane.gitops.renderers.registry import RENDERERS, RendererConfig, register_renderer
from shiplane.gitops.renderers.transform import CLUSTER_SCOPED, IsNamespaced

__all__ = [
    "CLUSTER_SCOPED",
    "RENDERERS",
    "Document",
    "IsNamespaced",
    "RenderContext",
    "RendererConfig",
    "Tools",
    "helm",
    "kustomize",
    "plain",
    "register_renderer",
    "render_app",
]
