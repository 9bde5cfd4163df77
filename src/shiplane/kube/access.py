"""Can Shiplane use a cluster now, and if not, why: for `/readyz`, `GET /api/v1/clusters`
(`shiplane status`, the UI) and `shiplane cluster list`.

Three questions, cheapest first: does the API server answer (`GET /version`, allowed to
every authenticated user); does it accept the credentials (a 401 is rejected credentials,
named "expired" when the token's own expiry has passed); and, in each namespace the
credentials are limited to, do they still hold the verbs Shiplane uses (one
SelfSubjectRulesReview per namespace, allowed to every authenticated user, evaluated by
`permissions.missing`)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from lightkube import AsyncClient

from shiplane.kube.apply_rest import KubeApiError, request
from shiplane.kube.permissions import missing

RULES_REVIEW = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"
ACCESS_REVIEW = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


async def allowed(
    client: AsyncClient, verb: str, group: str, resource: str, namespace: str | None = None
) -> bool:
    """Whether the credentials may `verb` `resource` (everywhere when `namespace` is None):
    one SelfSubjectAccessReview, which every authenticated user may ask."""
    attributes = {"verb": verb, "group": group, "resource": resource}
    if namespace is not None:
        attributes["namespace"] = namespace
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": attributes},
    }
    answer = await request(client, "POST", ACCESS_REVIEW, body=review)
    return bool(((answer or {}).get("status") or {}).get("allowed"))


@dataclass(frozen=True)
class Access:
    """What a probe found: `reachable` (the API server answered and accepted the
    credentials) and, when something is wrong, `reason` in words for people."""

    reachable: bool
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.reachable and self.reason is None


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def expired_reason(token_expires: str | None, now: datetime | None = None) -> str | None:
    at = _parse_time(token_expires)
    if at is not None and at <= (now or datetime.now(UTC)):
        return f"credentials expired at {token_expires}; renew them (`shiplane cluster add`)"
    return None


def _also(reason: str, expired: str | None) -> str:
    """A failure, and that the credentials expired too (it will matter once it answers)."""
    return f"{reason}; {expired}" if expired else reason


async def probe(
    client: AsyncClient,
    namespaces: Sequence[str] = (),
    *,
    token_expires: str | None = None,
    timeout: float = 3.0,  # noqa: ASYNC109
    now: datetime | None = None,
) -> Access:
    """Ask the cluster; never raises (a failure is the reason)."""
    try:
        async with asyncio.timeout(timeout):
            await request(client, "GET", "/version")
            lacking: dict[str, list[str]] = {}
            for ns in namespaces:
                review = {
                    "apiVersion": "authorization.k8s.io/v1",
                    "kind": "SelfSubjectRulesReview",
                    "spec": {"namespace": ns},
                }
                answer = await request(client, "POST", RULES_REVIEW, body=review)
                rules = ((answer or {}).get("status") or {}).get("resourceRules") or []
                if gaps := missing(rules):
                    lacking[ns] = gaps
    except KubeApiError as err:
        expired = expired_reason(token_expires, now)
        if err.code == 401:
            return Access(False, expired or "credentials rejected (401): expired or revoked")
        return Access(False, _also(f"the API server answered {err}", expired))
    except TimeoutError:
        return Access(
            False, _also(f"no answer within {timeout:g}s", expired_reason(token_expires, now))
        )
    except Exception as exc:  # refused, TLS, DNS: the class says enough, details go to logs
        text = f"unreachable: {type(exc).__name__}: {exc}"[:200]
        return Access(False, _also(text, expired_reason(token_expires, now)))
    if lacking:
        text = "; ".join(f"in {ns}: {', '.join(gaps)}" for ns, gaps in lacking.items())
        return Access(True, f"missing permissions {text}")
    return Access(True, expired_reason(token_expires, now))
