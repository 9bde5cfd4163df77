from __future__ import annotations

from pydantic import ValidationError

from shiplane.config.models.conditions import ConditionConfig
from shiplane.gates import Outcome
from shiplane.gates.condition import CONDITION, ConditionGateConfig

from .factory import context, project, promotion, release


def conditions(**defs):
    return project({"prod": {}, "qa": {}}, conditions=defs)


def evaluate(proj, env="prod", **kw):
    config = CONDITION.configure(proj, env)
    assert config is not None
    return CONDITION.evaluate(context(proj, env=env, **kw), config)


def test_conditions_apply_to_their_environments():
    proj = conditions(
        **{"only-prod": {"environments": ["prod"], "reject": "false"}},
        everywhere={"eligible": "true"},
    )
    assert set(CONDITION.configure(proj, "prod").conditions) == {"only-prod", "everywhere"}  # type: ignore[union-attr]
    assert set(CONDITION.configure(proj, "qa").conditions) == {"everywhere"}  # type: ignore[union-attr]
    assert CONDITION.configure(project({"prod": {}}), "prod") is None


def test_reject_expression_true_rejects():
    proj = conditions(**{"prod-only-main": {"reject": "release.labels.branch != 'main'"}})
    assert evaluate(proj).outcome == Outcome.PASS
    result = evaluate(proj, rel=release(labels={"branch": "feature-x"}))
    assert result.outcome == Outcome.REJECT
    assert result.reason == (
        "condition prod-only-main rejects app checkout: `release.labels.branch != 'main'` is true"
    )
    assert result.inputs["checked"] == [
        {"condition": "prod-only-main", "app": "checkout",
         "reject": "release.labels.branch != 'main'", "result": True}
    ]  # fmt: skip


def test_eligible_false_waits():
    proj = conditions(signed={"eligible": "'qa-signed' in release.labels"})
    result = evaluate(proj)
    assert result.outcome == Outcome.WAIT
    assert result.reason == (
        "condition signed: app checkout is not eligible, `'qa-signed' in release.labels` is false"
    )
    assert evaluate(proj, rel=release(labels={"qa-signed": "yes"})).outcome == Outcome.PASS


def test_reject_wins_over_eligible():
    proj = conditions(both={"eligible": "false", "reject": "true"})
    assert evaluate(proj).outcome == Outcome.REJECT


def test_variables_cover_release_app_and_environment():
    proj = conditions(
        vars={
            "eligible": "release.id == 'rel-a' && release.alias == '1.0' && release.creator == 'ci'"
            " && app.name == 'payments' && app.artifact.endsWith(':1.0')"
            " && release.artifacts['checkout'] == 'r.example/checkout:1.0'"
            " && environment.name == 'prod' && environment.labels.region == 'eu'"
        }
    )
    result = evaluate(proj, prm=promotion(apps=("payments",)), labels={"region": "eu"})
    assert result.outcome == Outcome.PASS, result.reason


def test_each_app_of_a_train_is_checked():
    proj = conditions(**{"no-payments": {"reject": "app.name == 'payments'"}})
    result = evaluate(proj, prm=promotion(apps=("checkout", "payments")))
    assert result.outcome == Outcome.REJECT and "app payments" in result.reason


def test_a_syntax_error_is_refused_when_the_config_is_read():
    try:
        conditions(broken={"reject": "release.labels.branch != "})
    except ValidationError as exc:
        (error,) = exc.errors()
        assert error["loc"] == ("conditions", "broken", "reject")
        assert "not a valid CEL expression: at line 1, column 26: Syntax error" in error["msg"]
    else:
        raise AssertionError("a broken condition was accepted")


def test_a_compile_error_met_at_run_time_is_located_and_rejects():
    # A config that skipped validation (it cannot come from shiplane.yaml): never a crash.
    broken = ConditionConfig.model_construct(
        environments=(), eligible=None, reject="release.labels.branch != "
    )
    proj = conditions(ok={"reject": "false"})
    config = ConditionGateConfig.model_construct(conditions={"broken": broken})
    result = CONDITION.evaluate(context(proj, env="prod"), config)
    assert result.outcome == Outcome.REJECT
    assert result.reason.startswith(
        "condition broken (reject, app checkout): `release.labels.branch != ` at line 1, "
        "column 26: Syntax error"
    )
    assert result.unblock_hint == "fix the expression under `conditions` in shiplane.yaml"


def test_missing_key_at_run_time_is_located_and_rejects():
    proj = conditions(team={"eligible": "release.labels.team == 'payments'"})
    result = evaluate(proj)
    assert result.outcome == Outcome.REJECT
    assert result.reason == (
        "condition team (eligible, app checkout): `release.labels.team == 'payments'` at line 1, "
        "column 16: no such key 'team' (use has(...) to test for it)"
    )
    guarded = conditions(team={"eligible": "has(release.labels.team)"})
    assert evaluate(guarded).outcome == Outcome.WAIT


def test_config_schema_is_registered():
    parsed = ConditionGateConfig.model_validate({"conditions": {"x": {"reject": "true"}}})
    assert parsed.conditions["x"].reject == "true"
