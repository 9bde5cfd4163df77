"""Normalization, field-level diff with SSA ownership, masking and the unified diff."""

from __future__ import annotations

import base64
import copy
from typing import Any

from shiplane.kube.diff import FieldDiff, field_diff, normalize, unified_diff
from shiplane.kube.fieldpaths import equivalent, render_path
from shiplane.kube.managed_fields import owned_paths
from shiplane.kube.masking import MASK, mask
from shiplane.kube.refs import ObjRef


def desired_deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "labels": {"app.kubernetes.io/managed-by": "shiplane"},
        },
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "image": "nginx:1.27",
                            "ports": [{"containerPort": 80}],
                            "env": [
                                {"name": "MODE", "value": "prod"},
                                {"name": "DB_PASSWORD", "value": "hunter2"},
                            ],
                            "resources": {"limits": {"cpu": "0.5", "memory": "1Gi"}},
                        }
                    ]
                },
            },
        },
    }


SHIPLANE_FIELDS = {
    "f:metadata": {"f:labels": {"f:app.kubernetes.io/managed-by": {}}},
    "f:spec": {
        "f:replicas": {},
        "f:selector": {},
        "f:template": {
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {
                "f:containers": {
                    'k:{"name":"main"}': {
                        ".": {},
                        "f:image": {},
                        "f:name": {},
                        "f:ports": {
                            'k:{"containerPort":80,"protocol":"TCP"}': {
                                ".": {},
                                "f:containerPort": {},
                            }
                        },
                        "f:env": {
                            'k:{"name":"MODE"}': {".": {}, "f:name": {}, "f:value": {}},
                            'k:{"name":"DB_PASSWORD"}': {".": {}, "f:name": {}, "f:value": {}},
                        },
                        "f:resources": {"f:limits": {"f:cpu": {}, "f:memory": {}}},
                    }
                }
            },
        },
    },
}


def live_from(desired: dict[str, Any], fields: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the API server returns: defaults filled in, normalized quantities, metadata."""
    live = copy.deepcopy(desired)
    live["metadata"].update(
        uid="u-1",
        resourceVersion="42",
        generation=1,
        creationTimestamp="2026-01-01T00:00:00Z",
        managedFields=[
            {
                "manager": "shiplane",
                "operation": "Apply",
                "apiVersion": "apps/v1",
                "fieldsType": "FieldsV1",
                "fieldsV1": copy.deepcopy(fields if fields is not None else SHIPLANE_FIELDS),
            }
        ],
    )
    spec = live["spec"]
    spec["revisionHistoryLimit"] = 10
    spec["strategy"] = {"type": "RollingUpdate"}
    container = spec["template"]["spec"]["containers"][0]
    container["ports"][0]["protocol"] = "TCP"
    container["imagePullPolicy"] = "IfNotPresent"
    container["resources"]["limits"]["cpu"] = "500m"
    spec["template"]["spec"]["restartPolicy"] = "Always"
    live["status"] = {"replicas": 2}
    return live


REF = ObjRef("apps/v1", "Deployment", "shop", "web")


def test_defaults_and_server_normalization_are_not_drift():
    desired = desired_deployment()
    assert field_diff(desired, live_from(desired)) == []


def test_field_changed_by_another_manager_is_drift_with_desired_and_live():
    desired = desired_deployment()
    live = live_from(desired)
    live["spec"]["replicas"] = 5
    # kubectl edit: an Update that takes ownership of spec.replicas away from shiplane
    del live["metadata"]["managedFields"][0]["fieldsV1"]["f:spec"]["f:replicas"]
    live["metadata"]["managedFields"].append(
        {
            "manager": "kubectl-edit",
            "operation": "Update",
            "fieldsV1": {"f:spec": {"f:replicas": {}}},
        }
    )
    diffs = field_diff(desired, live)
    assert diffs == [FieldDiff("spec.replicas", 2, 5, REF, ("kubectl-edit",))]
    assert "changed by kubectl-edit" in str(diffs[0])


def test_list_item_field_paths_use_keys():
    desired = desired_deployment()
    live = live_from(desired)
    live["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:evil"
    (diff,) = field_diff(desired, live)
    assert diff.path == "spec.template.spec.containers[name=main].image"
    assert (diff.desired, diff.live) == ("nginx:1.27", "nginx:evil")


def test_removed_list_item_is_drift():
    desired = desired_deployment()
    live = live_from(desired)
    live["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "MODE", "value": "prod"}]
    diffs = field_diff(desired, live)
    paths = {d.path for d in diffs}
    assert "spec.template.spec.containers[name=main].env[name=DB_PASSWORD].value" in paths
    secret = next(d for d in diffs if d.path.endswith("value"))
    assert secret.desired == MASK and secret.live is None  # masked, and absent live


def test_sensitive_env_value_is_masked():
    desired = desired_deployment()
    live = live_from(desired)
    live["spec"]["template"]["spec"]["containers"][0]["env"][1]["value"] = "changed!"
    (diff,) = field_diff(desired, live)
    assert (diff.desired, diff.live) == (MASK, MASK)
    assert "hunter2" not in str(diff) and "changed!" not in str(diff)


def test_field_owned_by_shiplane_but_no_longer_desired_is_drift():
    desired = desired_deployment()
    live = live_from(desired)
    live["metadata"]["labels"]["tier"] = "web"
    live["metadata"]["managedFields"][0]["fieldsV1"]["f:metadata"]["f:labels"]["f:tier"] = {}
    diffs = field_diff(desired, live)
    assert [(d.path, d.desired, d.live) for d in diffs] == [
        ('metadata.labels["tier"]'.replace('["tier"]', ".tier"), None, "web")
    ]


def test_fields_added_by_others_are_not_drift():
    desired = desired_deployment()
    live = live_from(desired)
    live["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/revision"] = "3"
    live["metadata"]["labels"]["added-by-someone"] = "x"
    assert field_diff(desired, live) == []


def test_missing_live_object():
    assert field_diff(desired_deployment(), None) == [FieldDiff("", "<present>", None, REF)]


def test_ignore_patterns():
    desired = desired_deployment()
    live = live_from(desired)
    live["spec"]["replicas"] = 7
    assert field_diff(desired, live, ignore=[r"^spec\.replicas$"]) == []


def test_without_managed_fields_values_are_compared():
    desired = desired_deployment()
    live = live_from(desired)
    del live["metadata"]["managedFields"]
    assert field_diff(desired, live) == []
    live["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = 8080
    (diff,) = field_diff(desired, live)
    assert diff.live is None  # no port 80 item any more
    assert diff.path.startswith("spec.template.spec.containers[name=main].ports[")


def secret(data: dict[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "shop"},
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
        **extra,
    }


def test_secret_data_drift_is_masked():
    desired = secret({"password": "s3cret", "user": "app"})
    live = secret({"password": "leaked", "user": "app"})
    (diff,) = field_diff(desired, live)
    assert diff.path == "data.password"
    assert (diff.desired, diff.live) == (MASK, MASK)


def test_secret_string_data_is_compared_as_data():
    desired = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "shop"},
        "stringData": {"password": "s3cret"},
    }
    live = secret({"password": "s3cret"})
    assert field_diff(desired, live) == []
    assert normalize(desired)["data"] == live["data"]


def test_mask_generic_keys_but_not_references():
    obj = {
        "kind": "ConfigMap",
        "data": {"api_token": "abc", "color": "blue", "DB_PASSWORD": "x"},
        "spec": {"secretName": "db-creds", "tokenRef": "t"},
    }
    masked = mask(obj)
    assert masked["data"] == {"api_token": MASK, "color": "blue", "DB_PASSWORD": MASK}
    assert masked["spec"] == {"secretName": "db-creds", "tokenRef": "t"}
    assert obj["data"]["api_token"] == "abc"  # not mutated


def test_normalize_drops_server_fields_and_defaults():
    desired = desired_deployment()
    live = live_from(desired)
    live["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": "{}",
    }
    n = normalize(live, desired)
    assert "status" not in n
    assert set(n["metadata"]) == {"name", "namespace", "labels"}
    assert "revisionHistoryLimit" not in n["spec"]
    assert "imagePullPolicy" not in n["spec"]["template"]["spec"]["containers"][0]


def test_equivalent_quantities_numbers_and_empties():
    assert equivalent("0.5", "500m")
    assert equivalent("1Gi", "1024Mi")
    assert equivalent(1, 1.0)
    assert not equivalent("1", "2")
    assert not equivalent(True, 1)
    assert equivalent({"a": {}}, {})
    assert not equivalent("web", "500m")


def test_owned_paths_and_rendering():
    paths = {render_path(p) for p in owned_paths(SHIPLANE_FIELDS)}
    assert "spec.replicas" in paths
    assert 'metadata.labels["app.kubernetes.io/managed-by"]' in paths
    assert (
        "spec.template.spec.containers[name=main].ports[containerPort=80,protocol=TCP].containerPort"
        in paths
    )
    assert render_path((("f", "finalizers"), ("v", "x"))) == "finalizers[=x]"
    assert render_path((("f", "items"), ("i", 0))) == "items[0]"


def test_unified_diff_is_readable_and_masked():
    desired = secret({"password": "s3cret", "user": "app"})
    live = secret({"password": "leaked", "user": "app"})
    live["metadata"]["resourceVersion"] = "9"
    text = unified_diff(desired, live, desired_label="git", live_label="cluster")
    assert text.startswith("--- cluster\n+++ git\n")
    assert "s3cret" not in text and "leaked" not in text
    assert base64.b64encode(b"s3cret").decode() not in text
    assert "-  password: '***'\n+  password: '*** (changed)'\n" in text
    assert "user: '***'" in text  # unchanged secret values are masked too
    assert "resourceVersion" not in text


def test_unified_diff_of_deployment_shows_only_real_changes():
    desired = desired_deployment()
    live = live_from(desired)
    assert unified_diff(desired, live) == ""
    live["spec"]["replicas"] = 4
    text = unified_diff(desired, live)
    assert "-  replicas: 4\n" in text and "+  replicas: 2\n" in text
    assert "revisionHistoryLimit" not in text
    assert "hunter2" not in text


def test_unified_diff_create_and_prune():
    desired = desired_deployment()
    assert unified_diff(desired, None).count("\n+") > 5
    assert unified_diff(None, desired).count("\n-") > 5
