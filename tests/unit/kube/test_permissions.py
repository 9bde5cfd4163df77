"""Permission errors: what the API server's refusal says, and which verbs rules grant."""

from __future__ import annotations

import base64
import json

import httpx2

from shiplane.domain.errors import ForbiddenError
from shiplane.kube.apply_objects import describe
from shiplane.kube.apply_rest import KubeApiError, KubeForbiddenError, error_from_response
from shiplane.kube.credentials import token_expiry
from shiplane.kube.permissions import REQUIRED_VERBS, allows, missing, parse_denial

NAMESPACED = (
    'deployments.apps "web" is forbidden: User "system:serviceaccount:shiplane-system:'
    'shiplane-b" cannot patch resource "deployments" in API group "apps" in the namespace "shop"'
)
CLUSTER = (
    'clusterroles.rbac.authorization.k8s.io is forbidden: User "alice" cannot create '
    'resource "clusterroles" in API group "rbac.authorization.k8s.io" at the cluster scope'
)


def test_a_namespaced_denial_is_parsed() -> None:
    denial = parse_denial(NAMESPACED)
    assert denial is not None
    assert (denial.verb, denial.resource, denial.group, denial.namespace) == (
        "patch",
        "deployments",
        "apps",
        "shop",
    )
    assert denial.message() == (
        "permission denied: system:serviceaccount:shiplane-system:shiplane-b may not patch "
        "deployments.apps in namespace shop"
    )
    assert "--namespace shop" in denial.hint()


def test_a_cluster_scoped_denial_is_parsed() -> None:
    denial = parse_denial(CLUSTER)
    assert denial is not None
    assert denial.namespace is None
    assert denial.where == "at cluster scope"
    assert "ClusterRole" in denial.hint()
    assert parse_denial("something else entirely") is None


def test_a_403_answer_is_a_forbidden_error_of_the_one_root() -> None:
    body = {"kind": "Status", "code": 403, "reason": "Forbidden", "message": NAMESPACED}
    err = error_from_response(httpx2.Response(403, json=body), "PATCH", "/apis/apps/v1/x")
    assert isinstance(err, KubeForbiddenError)
    assert isinstance(err, ForbiddenError) and isinstance(err, KubeApiError)
    assert err.code == 403 and err.method == "PATCH"
    assert err.details["verb"] == "patch" and err.details["namespace"] == "shop"
    text = describe(err)
    assert "may not patch deployments.apps in namespace shop" in text
    assert "Role and RoleBinding" in text  # the hint travels with the apply problem
    other = error_from_response(httpx2.Response(422, json={**body, "code": 422}), "PATCH", "/")
    assert not isinstance(other, KubeForbiddenError)
    terminating = {
        **body,
        "message": 'serviceaccounts "x" is forbidden: unable to create new content in '
        "namespace shiplane-system because it is being terminated",
    }
    answer = error_from_response(httpx2.Response(403, json=terminating), "POST", "/")
    assert not isinstance(answer, KubeForbiddenError)  # admission, not RBAC
    assert answer.code == 403


def test_rules_grant_verbs_as_rbac_does() -> None:
    granted = [{"apiGroups": ["*"], "resources": ["*"], "verbs": list(REQUIRED_VERBS)}]
    assert missing(granted) == []
    narrow = [
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "list"]},
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["*"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"],
         "resourceNames": ["only-this"]},
    ]  # fmt: skip
    assert missing(narrow) == [
        f"{verb} deployments.apps" for verb in ("watch", "create", "patch", "update", "delete")
    ]
    assert allows(narrow, "", "configmaps", "delete")
    assert not allows([], "", "configmaps", "get")


def test_token_expiry_of_a_jwt() -> None:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    token = f"{part({'alg': 'RS256'})}.{part({'exp': 1893456000})}.sig"
    assert token_expiry(token) == "2030-01-01T00:00:00Z"
    assert token_expiry("not-a-jwt") is None
