"""API discovery: which resource (plural, scope, verbs) serves an (apiVersion, kind).

One round of requests builds the whole map: aggregated discovery (`/api` and `/apis` with
the `apidiscovery.k8s.io/v2` media type, two requests) when the server offers it, otherwise
legacy discovery (`/api`, `/apis`, then every group version concurrently). The map is
cached; a lookup that misses refreshes it once (a CRD may have just been established), and
concurrent misses share one refresh.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from lightkube import AsyncClient

from shiplane.kube.apply_rest import KubeApiError, request

AGGREGATED_ACCEPT = ",".join(
    [
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
        "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList",
        "application/json",
    ]
)

Key = tuple[str, str]  # (apiVersion, kind)


@dataclass(frozen=True)
class ResourceInfo:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    verbs: tuple[str, ...] = ()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def collection_path(self, namespace: str = "") -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced:
            if not namespace:
                raise ValueError(f"{self.kind} is namespaced: a namespace is required")
            base += f"/namespaces/{namespace}"
        return f"{base}/{self.plural}"

    def path(self, name: str, namespace: str = "") -> str:
        """URL path of one object (the namespace is ignored for cluster-scoped kinds)."""
        return f"{self.collection_path(namespace)}/{name}"


def _api_version(group: str, version: str) -> str:
    return f"{group}/{version}" if group else version


def parse_legacy_resource_list(data: Mapping[str, Any]) -> list[ResourceInfo]:
    """An APIResourceList (`/api/v1`, `/apis/apps/v1`) -> its top-level resources."""
    group_version = str(data.get("groupVersion", ""))
    group, _, version = group_version.rpartition("/")
    out = []
    for res in data.get("resources") or []:
        name = str(res.get("name", ""))
        if not name or "/" in name:  # subresources (pods/log, deployments/scale)
            continue
        out.append(
            ResourceInfo(
                group=str(res.get("group") or group),
                version=str(res.get("version") or version),
                kind=str(res.get("kind", "")),
                plural=name,
                namespaced=bool(res.get("namespaced")),
                verbs=tuple(str(v) for v in res.get("verbs") or ()),
            )
        )
    return out


def parse_aggregated(data: Mapping[str, Any]) -> list[ResourceInfo]:
    """An APIGroupDiscoveryList (aggregated discovery) -> every resource of every version."""
    out = []
    for item in data.get("items") or []:
        group = str((item.get("metadata") or {}).get("name") or "")
        for ver in item.get("versions") or []:
            version = str(ver.get("version", ""))
            for res in ver.get("resources") or []:
                kind = str((res.get("responseKind") or {}).get("kind", ""))
                plural = str(res.get("resource", ""))
                if not kind or not plural:
                    continue
                out.append(
                    ResourceInfo(
                        group=group,
                        version=version,
                        kind=kind,
                        plural=plural,
                        namespaced=res.get("scope") == "Namespaced",
                        verbs=tuple(str(v) for v in res.get("verbs") or ()),
                    )
                )
    return out


def info_from_crd(crd: Mapping[str, Any]) -> list[ResourceInfo]:
    """The resources a CustomResourceDefinition serves (one per served version)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    group = str(spec.get("group", ""))
    verbs = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
    return [
        ResourceInfo(
            group=group,
            version=str(v.get("name", "")),
            kind=str(names.get("kind", "")),
            plural=str(names.get("plural", "")),
            namespaced=spec.get("scope") == "Namespaced",
            verbs=verbs,
        )
        for v in spec.get("versions") or []
        if v.get("served", True)
    ]


class Discovery:
    """Cached map (apiVersion, kind) -> ResourceInfo for one cluster."""

    def __init__(self, client: AsyncClient, *, aggregated: bool = True) -> None:
        """`aggregated=False` forces legacy per-group-version discovery."""
        self._client = client
        self._aggregated = aggregated
        self.mode = ""  # "aggregated" or "legacy": how the last refresh was served
        self._map: dict[Key, ResourceInfo] = {}
        self._added: dict[Key, ResourceInfo] = {}
        self._generation = 0  # completed refreshes
        self._lock: asyncio.Lock | None = None

    @property
    def refreshes(self) -> int:
        """How many times the map was (re)built: a cheap way to see the cache working."""
        return self._generation

    def add(self, infos: Iterable[ResourceInfo]) -> None:
        """Record resources known by other means (e.g. an Established CRD's spec)."""
        for info in infos:
            self._added[(info.api_version, info.kind)] = info
            self._map.setdefault((info.api_version, info.kind), info)

    async def refresh(self) -> None:
        await self._refresh(seen_generation=None)

    async def _refresh(self, seen_generation: int | None) -> None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if seen_generation is not None and self._generation != seen_generation:
                return  # somebody refreshed while we waited for the lock
            infos = await self._fetch()
            fetched = {(i.api_version, i.kind): i for i in infos}
            # Keep what add() recorded only until the server's discovery lists it too.
            self._added = {k: v for k, v in self._added.items() if k not in fetched}
            self._map = {**self._added, **fetched}
            self._generation += 1

    async def _fetch(self) -> list[ResourceInfo]:
        accept = AGGREGATED_ACCEPT if self._aggregated else "application/json"
        core, groups = await asyncio.gather(
            request(self._client, "GET", "/api", accept=accept),
            request(self._client, "GET", "/apis", accept=accept),
        )
        if (
            isinstance(core, dict)
            and isinstance(groups, dict)
            and core.get("kind") == "APIGroupDiscoveryList"
            and groups.get("kind") == "APIGroupDiscoveryList"
        ):
            self.mode = "aggregated"
            return parse_aggregated(core) + parse_aggregated(groups)
        self.mode = "legacy"
        return await self._fetch_legacy(core, groups)

    async def _fetch_legacy(self, core: Any, groups: Any) -> list[ResourceInfo]:
        paths = [f"/api/{v}" for v in (core or {}).get("versions") or []]
        for group in (groups or {}).get("groups") or []:
            for ver in group.get("versions") or []:
                paths.append(f"/apis/{ver['groupVersion']}")

        async def one(path: str) -> list[ResourceInfo]:
            try:
                return parse_legacy_resource_list(await request(self._client, "GET", path))
            except KubeApiError:
                return []  # an unavailable aggregated API must not hide the others

        lists = await asyncio.gather(*(one(p) for p in paths))
        return [info for infos in lists for info in infos]

    async def resource(self, api_version: str, kind: str) -> ResourceInfo | None:
        """The resource serving this kind, or None when the server has none (after one
        refresh on a miss)."""
        if self._generation == 0:
            await self._refresh(seen_generation=0)
        info = self._map.get((api_version, kind))
        if info is None:
            await self._refresh(seen_generation=self._generation)
            info = self._map.get((api_version, kind))
        return info

    async def resolve_many(self, keys: Iterable[Key]) -> dict[Key, ResourceInfo | None]:
        """Look up many kinds with at most one refresh for all their misses together."""
        wanted = set(keys)
        if self._generation == 0:
            await self._refresh(seen_generation=0)
        if any(k not in self._map for k in wanted):
            await self._refresh(seen_generation=self._generation)
        return {k: self._map.get(k) for k in wanted}

    def cached(self, api_version: str, kind: str) -> ResourceInfo | None:
        """Lookup without any request."""
        return self._map.get((api_version, kind))

    async def is_namespaced(self, api_version: str, kind: str) -> bool | None:
        info = await self.resource(api_version, kind)
        return None if info is None else info.namespaced
