"""Every deploy target registers under its `deploy.via` name with its config model."""

from __future__ import annotations

import pytest

from shiplane.config.models import TARGET_SCHEMAS, FluxTargetConfig
from shiplane.domain.registry import UnknownPluginError
from shiplane.targets import TARGETS


def test_each_target_has_the_schema_config_names() -> None:
    assert {"shiplane", "flux"} <= set(TARGETS.names())
    for entry in TARGETS:
        assert entry.schema is TARGET_SCHEMAS[entry.name], entry.name


def test_own_sync_only_for_shiplane_and_flux_runs_rolling_only() -> None:
    assert TARGETS.get("shiplane").plugin.own_sync
    flux = TARGETS.get("flux").plugin
    assert not flux.own_sync and flux.strategies == frozenset({"rolling"})
    assert flux.hydration("staging", "web") is not None
    assert flux.hydration("staging", "web").path == "rendered/staging/web/manifests.yaml"  # type: ignore[union-attr]
    config = FluxTargetConfig.model_validate(
        {"gitRepository": "flux-system/shop", "kustomization": "flux-system/shop-stg",
         "apps": {"api": {"kustomization": "apps/api"}}}
    )  # fmt: skip
    assert [str(o) for o in flux.owners(config, "api")] == [
        "GitRepository flux-system/shop",
        "Kustomization apps/api",
    ]


def test_an_unknown_target_names_the_known_ones() -> None:
    with pytest.raises(UnknownPluginError, match="did you mean 'flux'"):
        TARGETS.get("fluxx")
