"""`shiplane cluster add|remove`: what Shiplane needs in a target cluster, made and unmade
with the caller's (admin) credentials.

A registration named N gives Shiplane a ServiceAccount `shiplane-N` in `shiplane-system`
and, in each namespace it may deploy to, a Role `shiplane-N` (every resource, only the
verbs Shiplane uses: `permissions.REQUIRED_VERBS`) bound to it by a RoleBinding
`shiplane-N`. No ClusterRole: discovery, `/version` and the self-reviews are open to every
authenticated user already. The credential is a TokenRequest token with a set expiry (not a
long-lived token Secret, which Kubernetes no longer makes by itself and which never
expires): `add` again renews it; deleting the ServiceAccount revokes every token issued.

Everything made carries the label `shiplane.dev/registration=N`, so `remove` finds it all
again (even namespaces dropped from the list since), and the ServiceAccount records which
namespaces `add` had to create (deleted only when asked: they hold the apps)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from lightkube import AsyncClient

from shiplane.kube.apply_rest import APPLY_PATCH, KubeApiError, request
from shiplane.kube.permissions import REQUIRED_VERBS
from shiplane.kube.polling import poll

SYSTEM_NAMESPACE = "shiplane-system"
REGISTRATION_LABEL = "shiplane.dev/registration"
MANAGED_BY = {"app.kubernetes.io/managed-by": "shiplane"}
CREATED_NAMESPACES = "shiplane.dev/created-namespaces"
GRANTED_NAMESPACES = "shiplane.dev/namespaces"
CREATED_BY = "shiplane.dev/created-by"
FIELD_MANAGER = "shiplane-cluster-add"
TERMINATING_WAIT = 120.0  # seconds `add` waits for a namespace being deleted to be gone
RBAC = "/apis/rbac.authorization.k8s.io/v1"
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$")


class RegistrationError(Exception):
    """A registration cannot be made or removed; the message says why."""


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise RegistrationError(
            f"{name!r} is not a usable cluster name: lower-case letters, digits and '-', "
            "at most 52 characters (it names the ServiceAccount `shiplane-<name>`)"
        )
    return name


def account_name(name: str) -> str:
    return f"shiplane-{name}"


def _meta(name: str, namespace: str | None, registration: str, **extra: Any) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "labels": {**MANAGED_BY, REGISTRATION_LABEL: registration},
        **extra,
    }
    if namespace is not None:
        meta["namespace"] = namespace
    return meta


def service_account(
    name: str, namespaces: Sequence[str], created: Sequence[str], system: str
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(
            account_name(name),
            system,
            name,
            annotations={
                GRANTED_NAMESPACES: ",".join(namespaces),
                CREATED_NAMESPACES: ",".join(created),
            },
        ),
    }


def role(name: str, namespace: str) -> dict[str, Any]:
    """Every resource of the namespace, with only the verbs Shiplane uses (apply and
    dry-run: get, create, patch, update; health and drift: list, watch; prune: delete).
    RBAC's escalation check still keeps it from granting more than it holds."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": _meta(account_name(name), namespace, name),
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": list(REQUIRED_VERBS)}],
    }


def role_binding(name: str, namespace: str, system: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": _meta(account_name(name), namespace, name),
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": account_name(name),
        },
        "subjects": [{"kind": "ServiceAccount", "name": account_name(name), "namespace": system}],
    }


@dataclass
class Registration:
    """What `add` made and the token it got."""

    name: str
    system_namespace: str
    namespaces: list[str]
    token: str
    token_expires: str
    created: list[str] = field(default_factory=list)
    """Objects made, `Kind namespace/name` (for people and for the tests' checks)."""


def _path(obj: dict[str, Any]) -> str:
    meta = obj["metadata"]
    kind = obj["kind"]
    if kind == "ServiceAccount":
        return f"/api/v1/namespaces/{meta['namespace']}/serviceaccounts/{meta['name']}"
    if kind == "Secret":
        return f"/api/v1/namespaces/{meta['namespace']}/secrets/{meta['name']}"
    plural = {"Role": "roles", "RoleBinding": "rolebindings"}[kind]
    return f"{RBAC}/namespaces/{meta['namespace']}/{plural}/{meta['name']}"


async def _get(client: AsyncClient, path: str) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = await request(client, "GET", path)
    except KubeApiError as err:
        if err.not_found:
            return None
        raise
    return found


async def _apply(client: AsyncClient, obj: dict[str, Any]) -> None:
    params = {"fieldManager": FIELD_MANAGER, "force": "true"}
    await request(client, "PATCH", _path(obj), params=params, body=obj, content_type=APPLY_PATCH)


async def _ensure_namespace(client: AsyncClient, namespace: str, registration: str) -> bool:
    """Create `namespace` when missing (after one being deleted is gone: a `remove` just
    before); whether it was created."""
    path = f"/api/v1/namespaces/{namespace}"
    live = await _get(client, path)
    if live is not None and (live.get("metadata") or {}).get("deletionTimestamp"):

        async def gone() -> bool | None:
            return True if await _get(client, path) is None else None

        if await poll(gone, seconds=TERMINATING_WAIT) is None:
            raise RegistrationError(
                f"namespace {namespace} is still being deleted after {TERMINATING_WAIT:g}s; "
                "run `shiplane cluster add` again once it is gone"
            )
        live = None
    if live is not None:
        return False
    body = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": namespace,
            "labels": dict(MANAGED_BY),
            "annotations": {CREATED_BY: f"shiplane cluster add {registration}"},
        },
    }
    try:
        await request(client, "POST", "/api/v1/namespaces", body=body)
    except KubeApiError as err:
        if not err.conflict:
            raise
        return False
    return True


def _split(text: str | None) -> list[str]:
    return [p for p in (text or "").split(",") if p]


async def add(
    client: AsyncClient,
    name: str,
    namespaces: Sequence[str],
    *,
    token_seconds: int,
    system: str = SYSTEM_NAMESPACE,
) -> Registration:
    """Make (or bring up to date) registration `name` and request a token for it. Safe to
    run again: objects are server-side applied; grants in namespaces no longer listed are
    withdrawn; a new token is issued (earlier ones stay valid until they expire)."""
    check_name(name)
    if not namespaces:
        raise RegistrationError("name at least one namespace Shiplane may deploy to")
    namespaces = list(dict.fromkeys(namespaces))
    previous = await _get(client, _path(service_account(name, [], [], system)))
    annotations = ((previous or {}).get("metadata") or {}).get("annotations") or {}
    created = _split(annotations.get(CREATED_NAMESPACES))
    made: list[str] = []
    if await _ensure_namespace(client, system, name):
        made.append(f"Namespace {system}")
    for ns in namespaces:
        if await _ensure_namespace(client, ns, name):
            created.append(ns)
            made.append(f"Namespace {ns}")
    account = service_account(name, namespaces, created, system)
    await _apply(client, account)
    made.append(f"ServiceAccount {system}/{account_name(name)}")
    for ns in namespaces:
        await _apply(client, role(name, ns))
        await _apply(client, role_binding(name, ns, system))
        made += [f"Role {ns}/{account_name(name)}", f"RoleBinding {ns}/{account_name(name)}"]
    for kind, ns, obj_name in await leftovers(client, name, system, objects=("rbac",)):
        if ns not in namespaces:  # a namespace dropped from the list: withdraw the grant
            await _delete(client, kind, ns, obj_name)
    review = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": token_seconds},
    }
    answer = await request(
        client,
        "POST",
        f"/api/v1/namespaces/{system}/serviceaccounts/{account_name(name)}/token",
        body=review,
    )
    status = answer.get("status") or {}
    return Registration(
        name,
        system,
        namespaces,
        token=str(status["token"]),
        token_expires=str(status.get("expirationTimestamp", "")),
        created=made,
    )


_KIND_PATHS = {
    "Role": f"{RBAC}/roles",
    "RoleBinding": f"{RBAC}/rolebindings",
    "ServiceAccount": "/api/v1/serviceaccounts",
}


async def leftovers(
    client: AsyncClient,
    name: str,
    system: str = SYSTEM_NAMESPACE,
    *,
    objects: Sequence[str] = ("rbac", "account"),
) -> list[tuple[str, str, str]]:
    """(kind, namespace, name) of every object of registration `name` still in the
    cluster, found by its label across all namespaces."""
    kinds = [k for k in ("Role", "RoleBinding") if "rbac" in objects]
    kinds += ["ServiceAccount"] if "account" in objects else []
    found = []
    for kind in kinds:
        selector = {"labelSelector": f"{REGISTRATION_LABEL}={name}"}
        listing = await request(client, "GET", _KIND_PATHS[kind], params=selector)
        for item in listing.get("items") or []:
            meta = item.get("metadata") or {}
            found.append((kind, str(meta.get("namespace", "")), str(meta.get("name", ""))))
    return found


async def _delete(client: AsyncClient, kind: str, namespace: str, name: str) -> bool:
    path = {
        "Role": f"{RBAC}/namespaces/{namespace}/roles/{name}",
        "RoleBinding": f"{RBAC}/namespaces/{namespace}/rolebindings/{name}",
        "ServiceAccount": f"/api/v1/namespaces/{namespace}/serviceaccounts/{name}",
        "Namespace": f"/api/v1/namespaces/{name}",
    }[kind]
    try:
        await request(client, "DELETE", path)
    except KubeApiError as err:
        if err.not_found:
            return False
        raise
    return True


async def remove(
    client: AsyncClient,
    name: str,
    *,
    system: str = SYSTEM_NAMESPACE,
    delete_namespaces: bool = False,
) -> list[str]:
    """Undo `add`: the RoleBindings and Roles (wherever they are), the ServiceAccount (which
    revokes its tokens), the namespaces `add` created when `delete_namespaces`, and the
    system namespace when `add` made it and no other registration uses it. What was
    deleted, `Kind namespace/name`."""
    check_name(name)
    account = await _get(client, _path(service_account(name, [], [], system)))
    annotations = ((account or {}).get("metadata") or {}).get("annotations") or {}
    removed = []
    for kind, ns, obj_name in await leftovers(client, name, system):
        if await _delete(client, kind, ns, obj_name):
            removed.append(f"{kind} {ns}/{obj_name}")
    if delete_namespaces:
        for ns in _split(annotations.get(CREATED_NAMESPACES)):
            if await _delete(client, "Namespace", "", ns):
                removed.append(f"Namespace {ns}")
    home = await _get(client, f"/api/v1/namespaces/{system}")
    home_notes = ((home or {}).get("metadata") or {}).get("annotations") or {}
    made_by_add = str(home_notes.get(CREATED_BY, ""))
    if home is not None and made_by_add.startswith("shiplane cluster add"):
        others = await request(
            client,
            "GET",
            f"/api/v1/namespaces/{system}/serviceaccounts",
            params={"labelSelector": REGISTRATION_LABEL},
        )
        if not others.get("items") and await _delete(client, "Namespace", "", system):
            removed.append(f"Namespace {system}")
    return removed


def kubeconfig(
    name: str, server: str, ca_data: str | None, token: str, namespace: str
) -> dict[str, Any]:
    """A kubeconfig for the registration's ServiceAccount (`ca_data`: base64 PEM, as a
    kubeconfig's `certificate-authority-data`; None trusts the system's CAs)."""
    cluster: dict[str, Any] = {"server": server}
    if ca_data:
        cluster["certificate-authority-data"] = ca_data
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": cluster}],
        "users": [{"name": account_name(name), "user": {"token": token}}],
        "contexts": [
            {
                "name": name,
                "context": {"cluster": name, "user": account_name(name), "namespace": namespace},
            }
        ],
        "current-context": name,
    }


def secret_name(name: str) -> str:
    return f"shiplane-cluster-{name}"


async def store_secret(client: AsyncClient, name: str, namespace: str, text: str) -> str:
    """The kubeconfig as Secret `shiplane-cluster-<name>` (key `kubeconfig`) in the
    namespace Shiplane runs in, to be mounted as a file (docs/clusters.md); its name."""
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": _meta(secret_name(name), namespace, name),
        "stringData": {"kubeconfig": text},
    }
    await _apply(client, secret)
    return secret_name(name)


async def delete_secret(client: AsyncClient, name: str, namespace: str) -> bool:
    try:
        path = f"/api/v1/namespaces/{namespace}/secrets/{secret_name(name)}"
        await request(client, "DELETE", path)
    except KubeApiError as err:
        if err.not_found:
            return False
        raise
    return True
