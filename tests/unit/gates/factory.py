"""Builders for gate tests: a project config, a promotion and a context, by hand."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from shiplane.config.models import ProjectConfig
from shiplane.domain.clock import ManualClock
from shiplane.domain.promotion import Promotion, PromotionState
from shiplane.domain.promotion_controls import Approval, Freeze, Hold
from shiplane.gates.context import GateContext, ReleaseInfo, TargetEnvironment

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # a Friday


def project(environments: Mapping[str, Any], **extra: Any) -> ProjectConfig:
    envs = {
        name: {"cluster": "c", "namespace": f"ns-{name}", **spec}
        for name, spec in environments.items()
    }
    return ProjectConfig.model_validate(
        {
            "apiVersion": "shiplane/v1alpha1",
            "project": "shop",
            "clusters": {"c": {"kubeconfig": "k"}},
            "environments": envs,
            "apps": {
                "checkout": {"images": ["r.example/checkout"], "manifests": {"path": "a/c"}},
                "payments": {"images": ["r.example/payments"], "manifests": {"path": "a/p"}},
            },
            **extra,
        }
    )


def release(**overrides: Any) -> ReleaseInfo:
    fields: dict[str, Any] = {
        "id": "rel-a",
        "artifacts": {"checkout": "r.example/checkout:1.0", "payments": "r.example/payments:1.0"},
        "creator": "ci",
        "labels": {"branch": "main"},
        "alias": "1.0",
    }
    fields.update(overrides)
    return ReleaseInfo(**fields)


def promotion(**overrides: Any) -> Promotion:
    fields: dict[str, Any] = {
        "id": "prm-01",
        "release_id": "rel-a",
        "environment": "prod",
        "apps": ("checkout",),
        "requested_by": "alice",
        "created_at": T0,
        "state": PromotionState.WAITING,
    }
    fields.update(overrides)
    return Promotion(**fields)


def context(
    proj: ProjectConfig,
    *,
    env: str = "prod",
    clock: ManualClock | None = None,
    prm: Promotion | None = None,
    rel: ReleaseInfo | None = None,
    verified: Mapping[str, Mapping[str, datetime | None]] | None = None,
    approvals: Sequence[Approval] = (),
    freezes: Sequence[Freeze] = (),
    holds: Sequence[Hold] = (),
    labels: Mapping[str, str] | None = None,
) -> GateContext:
    return GateContext(
        promotion=prm or promotion(environment=env),
        release=rel or release(),
        environment=TargetEnvironment(env, proj.environments[env], labels or {}),
        clock=clock or ManualClock(T0),
        upstream_verified=verified or {},
        approvals=approvals,
        freezes=freezes,
        holds=holds,
    )


def approval(
    user: str,
    *,
    at: datetime = T0,
    groups: Sequence[str] = ("release-managers",),
    decision: str = "approve",
    release_id: str = "rel-a",
    environment: str = "prod",
    promotion_id: str = "prm-01",
    comment: str = "",
) -> Approval:
    return Approval(
        user=user,
        groups=tuple(groups),
        at=at,
        decision=decision,  # type: ignore[arg-type]
        release_id=release_id,
        environment=environment,
        promotion_id=promotion_id,
        comment=comment,
    )
