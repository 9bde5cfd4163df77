from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict

from shiplane.domain.registry import PluginConfigError, Registry, UnknownPluginError


class SoakConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seconds: int


def test_register_get_and_validate_config():
    reg: Registry[str] = Registry("gate")
    reg.register("soak", schema=SoakConfig, description="wait")("soak-plugin")
    assert reg.get("soak").plugin == "soak-plugin"
    assert reg.names() == ["soak"] and "soak" in reg
    assert reg.parse_config("soak", {"seconds": 5}) == SoakConfig(seconds=5)


def test_unknown_name_suggests_the_nearest():
    reg: Registry[str] = Registry("gate")
    reg.register("approval", schema=SoakConfig)("x")
    with pytest.raises(
        UnknownPluginError, match=r"unknown gate 'aproval'.*did you mean 'approval'"
    ):
        reg.get("aproval")


def test_bad_config_names_the_field_and_double_registration_fails():
    reg: Registry[str] = Registry("check")
    reg.register("soak", schema=SoakConfig)("x")
    with pytest.raises(PluginConfigError, match="check 'soak': seconds: Input should be"):
        reg.parse_config("soak", {"seconds": "many"})
    with pytest.raises(PluginConfigError, match="typo: Extra inputs are not permitted"):
        reg.parse_config("soak", {"seconds": 1, "typo": 2})
    with pytest.raises(ValueError, match="registered twice"):
        reg.register("soak", schema=SoakConfig)("y")
