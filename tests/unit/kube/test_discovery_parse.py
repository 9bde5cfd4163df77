"""Parsing of discovery documents (pure)."""

from __future__ import annotations

from shiplane.kube.discovery import (
    ResourceInfo,
    info_from_crd,
    parse_aggregated,
    parse_legacy_resource_list,
)


def test_legacy_resource_list_skips_subresources() -> None:
    data = {
        "kind": "APIResourceList",
        "groupVersion": "apps/v1",
        "resources": [
            {
                "name": "deployments",
                "kind": "Deployment",
                "namespaced": True,
                "verbs": ["get", "patch"],
            },
            {
                "name": "deployments/scale",
                "kind": "Scale",
                "namespaced": True,
                "group": "autoscaling",
            },
        ],
    }
    assert parse_legacy_resource_list(data) == [
        ResourceInfo("apps", "v1", "Deployment", "deployments", True, ("get", "patch"))
    ]
    core = {"groupVersion": "v1", "resources": [{"name": "namespaces", "kind": "Namespace"}]}
    [ns] = parse_legacy_resource_list(core)
    assert (ns.group, ns.version, ns.namespaced, ns.api_version) == ("", "v1", False, "v1")
    assert ns.path("prod") == "/api/v1/namespaces/prod"


def test_aggregated_list() -> None:
    data = {
        "kind": "APIGroupDiscoveryList",
        "items": [
            {
                "metadata": {"name": "batch"},
                "versions": [
                    {
                        "version": "v1",
                        "resources": [
                            {
                                "resource": "cronjobs",
                                "responseKind": {"group": "", "version": "", "kind": "CronJob"},
                                "scope": "Namespaced",
                                "verbs": ["get"],
                                "subresources": [{"subresource": "status"}],
                            }
                        ],
                    }
                ],
            },
            {
                "metadata": {},
                "versions": [
                    {
                        "version": "v1",
                        "resources": [
                            {
                                "resource": "nodes",
                                "responseKind": {"kind": "Node"},
                                "scope": "Cluster",
                            }
                        ],
                    }
                ],
            },
        ],
    }
    cron, node = parse_aggregated(data)
    assert cron == ResourceInfo("batch", "v1", "CronJob", "cronjobs", True, ("get",))
    assert cron.path("nightly", "ops") == "/apis/batch/v1/namespaces/ops/cronjobs/nightly"
    assert (node.api_version, node.namespaced) == ("v1", False)


def test_info_from_crd_lists_served_versions() -> None:
    crd = {
        "spec": {
            "group": "example.com",
            "scope": "Cluster",
            "names": {"kind": "Widget", "plural": "widgets"},
            "versions": [{"name": "v1"}, {"name": "v1beta1", "served": False}],
        }
    }
    [info] = info_from_crd(crd)
    assert (info.api_version, info.plural, info.namespaced) == ("example.com/v1", "widgets", False)
    assert info.collection_path() == "/apis/example.com/v1/widgets"
