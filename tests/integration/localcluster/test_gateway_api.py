"""The Gateway API add-on on a real local cluster: the CRDs from the pinned module are
served by discovery, and an HTTPRoute keeps the backend weights a canary writes."""

from __future__ import annotations

from typing import Any

import pytest
from lightkube import AsyncClient, Client
from lightkube.core.exceptions import ApiError
from lightkube.generic_resource import create_namespaced_resource, get_generic_resource
from lightkube.models.core_v1 import ServicePort, ServiceSpec
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.resources.apiextensions_v1 import CustomResourceDefinition
from lightkube.resources.core_v1 import Service

from shiplane.kube.discovery import Discovery
from shiplane.localcluster.cluster import ClusterState
from shiplane.localcluster.components import GATEWAY_API_VERSION
from tests.support.clusters import install_gateway_api

pytestmark = pytest.mark.cluster

GROUP = "gateway.networking.k8s.io"
HTTPRoute = create_namespaced_resource(GROUP, "v1", "HTTPRoute", "httproutes")


def service(name: str, track: str) -> Service:
    return Service(
        metadata=ObjectMeta(name=name),
        spec=ServiceSpec(
            selector={"app": "web", "track": track}, ports=[ServicePort(port=80, targetPort=8080)]
        ),
    )


def route(name: str, weights: dict[str, int]) -> Any:
    backends = [{"name": svc, "port": 80, "weight": w} for svc, w in weights.items()]
    return HTTPRoute(
        metadata=ObjectMeta(name=name),
        spec={"rules": [{"backendRefs": backends}]},
    )


def weights_of(obj: Any) -> dict[str, int]:
    return {ref["name"]: ref["weight"] for ref in obj.spec["rules"][0]["backendRefs"]}


@pytest.mark.anyio
@pytest.mark.parametrize("aggregated", [True, False], ids=["aggregated", "legacy"])
async def test_httproute_is_served_by_discovery(
    gateway_api: ClusterState, aclient: AsyncClient, aggregated: bool
):
    discovery = Discovery(aclient, aggregated=aggregated)
    await discovery.refresh()  # one fetch, no retry on a miss: served when install returned
    info = discovery.cached(f"{GROUP}/v1", "HTTPRoute")
    assert info is not None, "HTTPRoute is not listed by discovery"
    assert (info.plural, info.namespaced) == ("httproutes", True)
    assert discovery.cached(f"{GROUP}/v1", "Gateway") is not None


def test_crds_come_from_the_pinned_module(gateway_api: ClusterState, kube: Client):
    crd = kube.get(CustomResourceDefinition, f"httproutes.{GROUP}")
    annotations = crd.metadata.annotations or {}
    assert annotations[f"{GROUP}/bundle-version"] == GATEWAY_API_VERSION
    assert annotations[f"{GROUP}/channel"] == "standard"
    assert any(c.type == "Established" and c.status == "True" for c in crd.status.conditions)


def test_httproute_keeps_weighted_backends(gateway_api: ClusterState, kube: Client, namespace):
    for name, track in (("web-stable", "stable"), ("web-canary", "canary")):
        kube.create(service(name, track), namespace=namespace)
    kube.apply(
        route("web", {"web-stable": 75, "web-canary": 25}),
        namespace=namespace,
        field_manager="shiplane-tests",
    )
    assert weights_of(kube.get(HTTPRoute, "web", namespace=namespace)) == {
        "web-stable": 75,
        "web-canary": 25,
    }

    # What a canary step does: apply the route again with new weights.
    kube.apply(
        route("web", {"web-stable": 0, "web-canary": 100}),
        namespace=namespace,
        field_manager="shiplane-tests",
    )
    assert weights_of(kube.get(HTTPRoute, "web", namespace=namespace)) == {
        "web-stable": 0,
        "web-canary": 100,
    }

    # The CRD's schema is enforced: a weight above its maximum (1000000) is refused.
    with pytest.raises(ApiError) as refused:
        kube.create(route("bad", {"web-stable": 1_000_001}), namespace=namespace)
    assert refused.value.status.code == 422


def test_installing_again_keeps_crds_and_routes(gateway_api: ClusterState, kube: Client, namespace):
    before = kube.get(CustomResourceDefinition, f"httproutes.{GROUP}").metadata.uid
    kube.create(route("kept", {"web-stable": 100}), namespace=namespace)
    install_gateway_api(gateway_api)
    assert kube.get(CustomResourceDefinition, f"httproutes.{GROUP}").metadata.uid == before
    assert weights_of(kube.get(HTTPRoute, "kept", namespace=namespace)) == {"web-stable": 100}
    assert get_generic_resource(f"{GROUP}/v1", "HTTPRoute") is HTTPRoute
