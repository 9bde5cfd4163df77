"""The renderers, by name: one `shiplane.domain.registry.Registry`, as gates and checks.

A renderer is looked up by the name written in `shiplane.yaml` (`manifests.render`), its
configuration is validated by its own model before it runs, and adding a renderer is one
decorated function in one module.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict

from shiplane.domain.registry import Registry
from shiplane.gitops.renderers.context import Document, RenderContext

C = TypeVar("C", bound=BaseModel)
RenderFunc = Callable[[RenderContext, Any], Awaitable[list[Document]]]


class RendererConfig(BaseModel):
    """Base of renderer configs: frozen, unknown keys are errors (typos must not pass)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


RENDERERS: Registry[RenderFunc] = Registry("renderer")
"""Every renderer by name (plain, kustomize, helm); modules register on import."""


def register_renderer(
    name: str, *, config: type[C]
) -> Callable[
    [Callable[[RenderContext, C], Awaitable[list[Document]]]],
    Callable[[RenderContext, C], Awaitable[list[Document]]],
]:
    """Register the decorated `async def render(ctx, config) -> list[Document]` as `name`,
    with `config` as its schema; the first line of its docstring describes it."""

    def decorate(
        func: Callable[[RenderContext, C], Awaitable[list[Document]]],
    ) -> Callable[[RenderContext, C], Awaitable[list[Document]]]:
        doc = (func.__doc__ or "").strip().splitlines()
        RENDERERS.register(name, schema=config, description=doc[0] if doc else "")(func)
        return func

    return decorate
