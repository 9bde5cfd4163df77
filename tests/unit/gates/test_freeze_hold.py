from __future__ import annotations

import pytest

from shiplane.domain.promotion_controls import Freeze, Hold
from shiplane.gates import Outcome
from shiplane.gates.freeze import FREEZE
from shiplane.gates.hold import HOLD

from .factory import T0, context, project, promotion

PROJECT = project({"prod": {"freeze": {"allowRollback": False}}, "staging": {}})


def env_freeze(env: str = "prod") -> Freeze:
    return Freeze("environment", env, "incident 42", "bob", T0)


def freeze(env="prod", freezes=(), kind="normal"):
    ctx = context(PROJECT, env=env, freezes=freezes, prm=promotion(environment=env, kind=kind))
    return FREEZE.evaluate(ctx, FREEZE.configure(PROJECT, env))


def test_not_frozen_passes():
    result = freeze(freezes=[env_freeze("staging")])
    assert result.outcome == Outcome.PASS and result.reason == "prod is not frozen"


def test_environment_freeze_waits_with_reason_and_who():
    result = freeze(freezes=[env_freeze()])
    assert result.outcome == Outcome.WAIT
    assert result.reason == "frozen by bob: incident 42"
    assert result.unblock_hint == "it continues by itself after `shiplane unfreeze prod`"


def test_project_freeze_blocks_every_environment():
    project_freeze = Freeze("project", None, "black friday", "carol", T0)
    result = freeze(env="staging", freezes=[project_freeze])
    assert result.outcome == Outcome.WAIT
    assert result.reason == "frozen by carol: black friday (whole project)"


def test_rollbacks_pass_only_when_allowed():
    # staging: allowRollback defaults to true.
    passed = freeze(env="staging", freezes=[env_freeze("staging")], kind="rollback")
    assert passed.outcome == Outcome.PASS
    assert passed.reason == "frozen by bob: incident 42; rollbacks are allowed"
    # prod: allowRollback false.
    assert freeze(freezes=[env_freeze()], kind="rollback").outcome == Outcome.WAIT


def test_freeze_validation():
    with pytest.raises(ValueError, match="names its environment"):
        Freeze("environment", None, "x", "bob", T0)
    with pytest.raises(ValueError, match="names its environment"):
        Freeze("project", "prod", "x", "bob", T0)


def hold_result(trigger: str, holds):
    prm = promotion(trigger=trigger, requested_by="shiplane" if trigger == "auto" else "alice")
    ctx = context(PROJECT, prm=prm, holds=holds)
    return HOLD.evaluate(ctx, HOLD.configure(PROJECT, "prod"))


def test_hold_rejects_auto_promotions_only():
    holds = [Hold("prod", "checkout", "dave", T0, "rolled back")]
    auto = hold_result("auto", holds)
    assert auto.outcome == Outcome.REJECT
    assert auto.reason == "auto-promotion stopped: prod/checkout is held by dave: rolled back"
    assert "shiplane unhold prod checkout" in auto.unblock_hint
    assert hold_result("manual", holds).outcome == Outcome.PASS
    assert hold_result("auto", [Hold("prod", "payments", "dave", T0)]).outcome == Outcome.PASS
