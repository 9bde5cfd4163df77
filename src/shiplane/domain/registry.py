"""A registry of named plugins, each with a pydantic schema for its configuration.

The pattern of Kargo's promotion steps: gates, checks and renderers are each one registry
(`GATES`, `CHECKS`, `RENDERERS`), all of this class;
a plugin registers under a name, and config is validated against its schema before use,
so a typo in `shiplane.yaml` is reported with the plugin's own field names.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from shiplane.domain.errors import InvalidError, NotFoundError

P = TypeVar("P")


class UnknownPluginError(NotFoundError, KeyError):
    """No plugin of that name; the message lists the known ones and the nearest match
    (a KeyError too: a lookup by name that failed)."""


class PluginConfigError(InvalidError):
    """A plugin's configuration does not match its schema."""


@dataclass(frozen=True)
class Registration(Generic[P]):
    name: str
    plugin: P
    schema: type[BaseModel]
    description: str

    def json_schema(self) -> dict[str, Any]:
        """The JSON Schema of the plugin's config, with the names written in YAML."""
        return self.schema.model_json_schema(by_alias=True)


class Registry(Generic[P]):
    """Plugins of one kind (e.g. "gate"), by name."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Registration[P]] = {}

    def register(
        self, name: str, *, schema: type[BaseModel], description: str = ""
    ) -> Callable[[P], P]:
        """Decorator: `@GATES.register("soak", schema=SoakConfig)`."""

        def add(plugin: P) -> P:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = Registration(name, plugin, schema, description)
            return plugin

        return add

    def get(self, name: str) -> Registration[P]:
        try:
            return self._entries[name]
        except KeyError:
            known = sorted(self._entries)
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UnknownPluginError(
                f"unknown {self.kind} {name!r} (known: {', '.join(known) or 'none'}){hint}"
            ) from None

    def parse_config(self, name: str, config: Any) -> BaseModel:
        """Validate `config` against the plugin's schema; PluginConfigError on mismatch.
        A config that already is the schema's model is returned as it is; another model
        is validated from its YAML-named fields."""
        entry = self.get(name)
        if isinstance(config, entry.schema):
            return config
        if isinstance(config, BaseModel):
            config = config.model_dump(by_alias=True)
        try:
            return entry.schema.model_validate(config)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '(root)'}: {err['msg']}"
                for err in exc.errors()
            )
            raise PluginConfigError(f"{self.kind} {name!r}: {problems}") from None

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __iter__(self) -> Iterator[Registration[P]]:
        return iter(sorted(self._entries.values(), key=lambda r: r.name))

    def __contains__(self, name: object) -> bool:
        return name in self._entries
