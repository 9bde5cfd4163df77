"""What Shiplane needs to be allowed in a cluster, and what a refusal says (pure).

The API server's RBAC authorizer words a refusal the same way every time
(`User "u" cannot patch resource "deployments" in API group "apps" in the namespace "ns"`);
`parse_denial` takes the verb, resource, group and namespace out of it, so that Shiplane's
error names them and says how to grant them. `missing` evaluates the rules a
SelfSubjectRulesReview returns, the way RBAC does, to say which verbs Shiplane lacks in a
namespace without trying them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Everything Shiplane does to an environment's namespace: server-side apply and dry-run
# (get, create, patch; update for the rare replace), health and drift (get, list, watch),
# prune and removals (delete). `shiplane cluster add` grants exactly these.
REQUIRED_VERBS: tuple[str, ...] = ("get", "list", "watch", "create", "patch", "update", "delete")

# Resources a readiness probe checks the verbs on: the kinds every app deploys.
PROBED_RESOURCES: tuple[tuple[str, str], ...] = (("apps", "deployments"), ("", "configmaps"))

_DENIAL = re.compile(
    r'User "(?P<user>[^"]*)" cannot (?P<verb>\S+) resource "(?P<resource>[^"]*)"'
    r'(?: in API group "(?P<group>[^"]*)")?'
    r'(?: in the namespace "(?P<namespace>[^"]*)"| (?P<cluster>at the cluster scope))?'
)


@dataclass(frozen=True)
class Denial:
    """One refusal of the API server's authorizer."""

    user: str
    verb: str
    resource: str
    group: str
    namespace: str | None

    @property
    def qualified(self) -> str:
        return f"{self.resource}.{self.group}" if self.group else self.resource

    @property
    def where(self) -> str:
        return f"in namespace {self.namespace}" if self.namespace else "at cluster scope"

    def message(self) -> str:
        return f"permission denied: {self.user} may not {self.verb} {self.qualified} {self.where}"

    def hint(self) -> str:
        if self.namespace:
            return (
                f"grant '{self.verb}' on {self.qualified} in namespace {self.namespace} with a "
                "Role and RoleBinding, or run `shiplane cluster add` again with "
                f"--namespace {self.namespace} (docs/clusters.md)"
            )
        return (
            "cluster-scoped objects need a ClusterRole and ClusterRoleBinding; a cluster "
            "registered by `shiplane cluster add` is granted namespaces only (docs/clusters.md)"
        )

    def details(self) -> dict[str, Any]:
        return {
            "user": self.user,
            "verb": self.verb,
            "resource": self.resource,
            "group": self.group,
            "namespace": self.namespace,
        }


def parse_denial(message: str) -> Denial | None:
    """The refusal in an API server's 403 message, or None when it is worded otherwise."""
    found = _DENIAL.search(message)
    if found is None:
        return None
    return Denial(
        user=found["user"],
        verb=found["verb"],
        resource=found["resource"],
        group=found["group"] or "",
        namespace=found["namespace"],
    )


def _covers(values: Sequence[str] | None, wanted: str) -> bool:
    return bool(values) and ("*" in values or wanted in values)  # type: ignore[operator]


def allows(rules: Iterable[Mapping[str, Any]], group: str, resource: str, verb: str) -> bool:
    """Whether SelfSubjectRulesReview `resourceRules` allow `verb` on every object of
    `resource` in `group` (a rule limited to resourceNames does not)."""
    for rule in rules:
        if rule.get("resourceNames"):
            continue
        if (
            _covers(rule.get("apiGroups"), group)
            and _covers(rule.get("resources"), resource)
            and _covers(rule.get("verbs"), verb)
        ):
            return True
    return False


def missing(
    rules: Iterable[Mapping[str, Any]],
    resources: Sequence[tuple[str, str]] = PROBED_RESOURCES,
    verbs: Sequence[str] = REQUIRED_VERBS,
) -> list[str]:
    """`verb resource[.group]` for each needed permission the rules do not grant."""
    rules = list(rules)
    out = []
    for group, resource in resources:
        name = f"{resource}.{group}" if group else resource
        out += [f"{verb} {name}" for verb in verbs if not allows(rules, group, resource, verb)]
    return out
