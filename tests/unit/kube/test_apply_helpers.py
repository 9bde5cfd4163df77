"""Pure helpers of apply and prune: cleaning, ownership, error reading, prune budget."""

from __future__ import annotations

from typing import Any

import pytest

from shiplane.kube.apply_objects import (
    clean,
    describe,
    elide_value,
    immutable_fields,
    is_immutable_error,
    label_value,
    mark_owned,
    missing_identity,
    owned_by,
    prune_opted_out,
    set_namespace,
)
from shiplane.kube.apply_rest import Cause, KubeApiError
from shiplane.kube.apply_results import ApplyError, ApplyProblem, blocking
from shiplane.kube.ownership import OWNER_ANNOTATION, PRUNE_ANNOTATION
from shiplane.kube.prune import refusal, stale_refs
from shiplane.kube.refs import ObjRef


def cm(**meta: Any) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", **meta}}


def test_clean_drops_server_metadata_and_does_not_touch_the_input() -> None:
    raw = cm(namespace="ns", resourceVersion="7", uid="u", managedFields=[{}], labels={"a": "b"})
    out = clean(raw)
    assert out["metadata"] == {"name": "c", "namespace": "ns", "labels": {"a": "b"}}
    assert raw["metadata"]["uid"] == "u"
    out["metadata"]["labels"]["a"] = "changed"
    assert raw["metadata"]["labels"]["a"] == "b"


def test_set_namespace_strips_it_for_cluster_scope_only() -> None:
    obj = clean(cm(namespace="ns"))
    set_namespace(obj, namespaced=True)
    assert obj["metadata"]["namespace"] == "ns"
    set_namespace(obj, namespaced=False)
    assert "namespace" not in obj["metadata"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("prod-eu", "prod-eu"),
        ("a" * 63, "a" * 63),
        ("a" * 70, "a" * 63),
        ("team/app", "team-app"),
        ("-x-", "x"),
        ("ünïcode app", "n-code-app"),
        ("", ""),
    ],
)
def test_label_value(value: str, expected: str) -> None:
    assert label_value(value) == expected


def test_mark_owned_keeps_existing_metadata_and_is_recognised() -> None:
    obj = cm(labels={"team": "x"}, annotations={"note": "y"})
    mark_owned(obj, "prod-eu", "shop")
    assert obj["metadata"]["labels"] == {
        "team": "x",
        "app.kubernetes.io/managed-by": "shiplane",
        "shiplane.dev/environment": "prod-eu",
        "shiplane.dev/app": "shop",
    }
    assert obj["metadata"]["annotations"] == {"note": "y", OWNER_ANNOTATION: "prod-eu/shop"}
    assert owned_by(obj, "prod-eu", "shop")
    assert not owned_by(obj, "prod-us", "shop")
    assert not owned_by(cm(annotations={OWNER_ANNOTATION: "prod-eu/shop"}), "prod-eu", "shop")


def test_prune_opt_out_annotation() -> None:
    assert prune_opted_out(cm(annotations={PRUNE_ANNOTATION: "false"}))
    assert prune_opted_out(cm(annotations={PRUNE_ANNOTATION: " False "}))
    assert not prune_opted_out(cm(annotations={PRUNE_ANNOTATION: "true"}))
    assert not prune_opted_out(cm())


def test_missing_identity() -> None:
    assert missing_identity(cm()) == []
    assert missing_identity({"kind": "ConfigMap", "metadata": {}}) == [
        "apiVersion",
        "metadata.name",
    ]


def invalid(
    *causes: tuple[str, str], code: int = 422, message: str = "x is invalid"
) -> KubeApiError:
    return KubeApiError(
        code, "Invalid", message, [Cause("FieldValueInvalid", m, f) for f, m in causes]
    )


def test_immutable_errors_are_recognised() -> None:
    job = invalid(("spec.template", "Invalid value: {...}: field is immutable"))
    assert is_immutable_error(job) and immutable_fields(job) == ["spec.template"]
    sts = invalid(
        (
            "spec",
            "Forbidden: updates to statefulset spec for fields other than 'replicas' are forbidden",
        )
    )
    assert is_immutable_error(sts)
    webhook = KubeApiError(400, "BadRequest", "admission webhook denied: spec.size is immutable")
    assert is_immutable_error(webhook)


def test_other_validation_errors_are_not_immutable() -> None:
    assert not is_immutable_error(invalid(("spec.replicas", "Invalid value: -1: must be >= 0")))
    mixed = invalid(
        ("spec.template", "Invalid value: {}: field is immutable"),
        ("spec.replicas", "Invalid value: -1: must be >= 0"),
    )
    assert not is_immutable_error(mixed)  # re-creating would still fail
    assert not is_immutable_error(KubeApiError(404, "NotFound", "field is immutable"))


def test_describe_elides_huge_values() -> None:
    long_value = "{" + "x" * 2000 + "}"
    err = invalid(("spec.template", f"Invalid value: {long_value}: field is immutable"))
    text = describe(err)
    assert text.startswith("spec.template: Invalid value: {xxx")
    assert text.endswith("...: field is immutable")
    assert len(text) < 200
    assert elide_value("Invalid value: 3: must be even") == "Invalid value: 3: must be even"
    assert describe(KubeApiError(404, "NotFound", 'namespaces "x" not found')) == (
        'namespaces "x" not found'
    )


def test_apply_error_lists_every_problem() -> None:
    a = ObjRef("v1", "ConfigMap", "ns", "a")
    b = ObjRef("apps/v1", "Deployment", "ns", "b")
    err = ApplyError([ApplyProblem(a, "bad data"), ApplyProblem(b, "bad replicas")])
    assert str(err).splitlines() == [
        "2 objects could not be applied:",
        "  ConfigMap/ns/a: bad data",
        "  Deployment/ns/b: bad replicas",
    ]
    deferred = ApplyProblem(a, "deferred: needs CRD x", deferred=True)
    assert blocking([deferred, err.problems[1]]) == [err.problems[1]]


def refs(*names: str) -> list[ObjRef]:
    return [ObjRef("v1", "ConfigMap", "ns", n) for n in names]


def test_stale_refs_by_identity() -> None:
    old_dep = ObjRef("apps/v1beta2", "Deployment", "ns", "web")
    new_dep = ObjRef("apps/v1", "Deployment", "ns", "web")
    previous = [*refs("a", "b", "a"), old_dep]
    assert stale_refs(previous, [*refs("a"), new_dep]) == refs("b")
    assert stale_refs(previous, []) == [*refs("a", "b"), old_dep]


def test_refusal_budget() -> None:
    assert refusal(1, refs("a"), 4, 0.5) == ""
    assert refusal(2, refs("a", "b"), 4, 0.5) == ""  # exactly the limit is allowed
    reason = refusal(3, refs("a", "b", "c"), 4, 0.5)
    assert "3 of 4" in reason and "75%" in reason and "50%" in reason and "ConfigMap/ns/a" in reason
    assert "every object" in refusal(4, refs("a"), 4, 0.99)  # an empty render: never
    assert refusal(4, refs("a", "b", "c", "d"), 4, 1.0) == ""
    assert refusal(3, [], 3, 0.1) == ""  # nothing to delete: nothing to refuse
    assert refusal(0, [], 0, 0.5) == ""
