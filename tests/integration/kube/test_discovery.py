"""API discovery against a real API server."""

from __future__ import annotations

import uuid

import pytest
from lightkube import AsyncClient

from shiplane.kube.apply_rest import request
from shiplane.kube.discovery import Discovery
from shiplane.kube.polling import poll
from tests.integration.kube import manifests as m

pytestmark = [pytest.mark.cluster, pytest.mark.anyio]


async def test_scope_and_plurals_with_one_round_cached(aclient: AsyncClient) -> None:
    d = Discovery(aclient)
    assert await d.is_namespaced("v1", "ConfigMap") is True
    assert await d.is_namespaced("apps/v1", "Deployment") is True
    assert await d.is_namespaced("rbac.authorization.k8s.io/v1", "ClusterRole") is False
    assert await d.is_namespaced("v1", "Namespace") is False
    info = await d.resource("networking.k8s.io/v1", "Ingress")
    assert info is not None and info.plural == "ingresses" and "patch" in info.verbs
    assert info.path("web", "shop") == "/apis/networking.k8s.io/v1/namespaces/shop/ingresses/web"
    assert d.refreshes == 1  # every hit above came from one discovery round

    assert await d.is_namespaced("nope.example.com/v1", "Gizmo") is None
    assert d.refreshes == 2  # a miss refreshes once...
    assert await d.is_namespaced("v1", "Pod") is True
    assert d.refreshes == 2  # ...and hits stay cached


async def test_aggregated_and_legacy_discovery_agree(aclient: AsyncClient) -> None:
    fast, slow = Discovery(aclient), Discovery(aclient, aggregated=False)
    await fast.refresh()
    await slow.refresh()
    assert (fast.mode, slow.mode) == ("aggregated", "legacy")
    keys = [
        ("v1", "Service"),
        ("apps/v1", "StatefulSet"),
        ("batch/v1", "CronJob"),
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
    ]
    for api_version, kind in keys:
        a, b = fast.cached(api_version, kind), slow.cached(api_version, kind)
        assert a is not None and b is not None
        assert (a.plural, a.namespaced) == (b.plural, b.namespaced)
        assert set(a.verbs) == set(b.verbs)


async def test_new_crd_is_found_after_a_refresh_on_miss(aclient: AsyncClient) -> None:
    d = Discovery(aclient)
    group = f"g{uuid.uuid4().hex[:8]}.shiplane.test"
    api_version = f"{group}/v1"
    assert await d.is_namespaced(api_version, "Gadget") is None
    body = m.crd(group, "Gadget", "gadgets")
    await request(
        aclient, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body=body
    )
    try:

        async def found() -> bool | None:
            return await d.is_namespaced(api_version, "Gadget")

        assert await poll(found, seconds=30) is True
        info = d.cached(api_version, "Gadget")
        assert info is not None and info.plural == "gadgets"
    finally:
        await request(
            aclient,
            "DELETE",
            f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/gadgets.{group}",
        )
