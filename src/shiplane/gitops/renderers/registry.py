"""One registry of renderers, by name, each with a pydantic schema for its config.

The pattern of Kargo's promotion steps: a renderer is looked up by the name written in
`shiplane.yaml` (`manifests.render`), its configuration is validated by its own model
before it runs, and adding a renderer is one decorated function in one module.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from shiplane.gitops.errors import UnknownRendererError
from shiplane.gitops.renderers.context import Document, RenderContext

C = TypeVar("C", bound=BaseModel)
RenderFunc = Callable[[RenderContext, Any], Awaitable[list[Document]]]


class RendererConfig(BaseModel):
    """Base of renderer configs: frozen, unknown keys are errors (typos must not pass)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class RendererConfigError(ValueError):
    """A renderer's configuration does not match its schema."""


@dataclass(frozen=True)
class RendererSpec:
    name: str
    config_model: type[BaseModel]
    render: RenderFunc
    description: str

    def parse_config(self, raw: Mapping[str, Any] | BaseModel | None) -> BaseModel:
        if isinstance(raw, self.config_model):
            return raw
        if isinstance(raw, BaseModel):
            raw = raw.model_dump(by_alias=True)
        try:
            return self.config_model.model_validate(dict(raw or {}))
        except ValidationError as exc:
            problems = [
                f"{'.'.join(str(p) for p in e['loc']) or '(config)'}: {e['msg']}"
                for e in exc.errors()
            ]
            raise RendererConfigError(
                f"invalid config for renderer {self.name!r}: {'; '.join(problems)}"
            ) from None

    def json_schema(self) -> dict[str, Any]:
        return self.config_model.model_json_schema(by_alias=True)


_REGISTRY: dict[str, RendererSpec] = {}


def register_renderer(
    name: str, *, config: type[C]
) -> Callable[
    [Callable[[RenderContext, C], Awaitable[list[Document]]]],
    Callable[[RenderContext, C], Awaitable[list[Document]]],
]:
    """Register the decorated `async def render(ctx, config) -> list[Document]` as `name`."""

    def decorate(
        func: Callable[[RenderContext, C], Awaitable[list[Document]]],
    ) -> Callable[[RenderContext, C], Awaitable[list[Document]]]:
        if name in _REGISTRY:
            raise ValueError(f"renderer {name!r} is already registered")
        doc = (func.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = RendererSpec(name, config, func, doc[0] if doc else "")
        return func

    return decorate


def get_renderer(name: str) -> RendererSpec:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownRendererError(name, renderer_names()) from None


def renderer_names() -> list[str]:
    return sorted(_REGISTRY)
