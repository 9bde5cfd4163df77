"""Fixtures: a receiver on 127.0.0.1, project configurations with notification channels."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from shiplane.config import ProjectConfig
from tests.integration.engine.notify.receiver import Receiver

SECRET_ENV = "SHIPLANE_TEST_WEBHOOK_SECRET"


def project_with(notifications: dict[str, Any]) -> ProjectConfig:
    return ProjectConfig.model_validate(
        {
            "apiVersion": "shiplane/v1alpha1",
            "project": "shop",
            "clusters": {"local": {"inCluster": True}},
            "environments": {"prod": {"cluster": "local", "namespace": "shop"}},
            "apps": {"checkout": {"images": ["r.example/checkout"], "manifests": {"path": "a"}}},
            "notifications": notifications,
        }
    )


def promotion(pid: str, state: str = "Waiting", **extra: Any) -> dict[str, Any]:
    return {
        "id": pid,
        "release": "rel-3f9c2a41d0e5b6c7",
        "alias": "swift-otter-3f9c",
        "version": "1.4.2",
        "environment": "prod",
        "apps": ["checkout"],
        "state": state,
        "requested_by": "alice",
        **extra,
    }


@pytest.fixture
def webhook_secret() -> str:
    return "whsec_" + secrets.token_hex(20)


@pytest.fixture
def receiver(webhook_secret: str) -> Iterator[Receiver]:
    r = Receiver(webhook_secret).start()
    try:
        yield r
    finally:
        r.stop()
