from __future__ import annotations

from datetime import timedelta

from shiplane.domain.clock import ManualClock
from shiplane.gates import Outcome
from shiplane.gates.soak import SOAK, SoakGateConfig
from shiplane.gates.upstream import UPSTREAM

from .factory import T0, context, project, promotion

ALL = project(
    {
        "qa": {},
        "perf": {},
        "staging": {"after": ["qa"]},
        "prod": {"after": {"all": ["staging", "perf"]}, "soak": "1h"},
        "prod-us": {"after": {"any": ["staging", "perf"]}, "soak": "30m"},
        "dev": {},
        "lone": {"soak": "5m"},
    }
)


def upstream(env: str, verified, apps=("checkout",)):
    ctx = context(ALL, env=env, prm=promotion(environment=env, apps=apps), verified=verified)
    config = UPSTREAM.configure(ALL, env)
    assert config is not None
    return UPSTREAM.evaluate(ctx, config)


def test_no_upstream_means_no_upstream_gate():
    assert UPSTREAM.configure(ALL, "dev") is None
    assert SOAK.configure(ALL, "dev") is None


def test_all_upstreams_must_verify():
    result = upstream("prod", {"staging": {"checkout": T0}})
    assert result.outcome == Outcome.WAIT
    assert result.reason == "not yet verified in perf"
    assert result.inputs["missing"] == {"perf": ["checkout"]}
    result = upstream("prod", {"staging": {"checkout": T0}, "perf": {"checkout": T0}})
    assert result.outcome == Outcome.PASS and result.reason == "verified in staging and perf"


def test_any_upstream_is_enough():
    result = upstream("prod-us", {})
    assert result.outcome == Outcome.WAIT
    assert result.reason == "not yet verified in any of staging or perf"
    result = upstream("prod-us", {"perf": {"checkout": T0}, "staging": {"checkout": None}})
    assert result.outcome == Outcome.PASS and result.reason == "verified in perf"


def test_every_app_of_a_train_must_be_verified_in_the_same_environment():
    apps = ("checkout", "payments")
    # any: perf has checkout only, staging has payments only -> no environment has both.
    verified = {"perf": {"checkout": T0}, "staging": {"payments": T0}}
    result = upstream("prod-us", verified, apps)
    assert result.outcome == Outcome.WAIT
    assert result.reason == "not yet verified in any of staging (checkout) or perf (payments)"
    verified["staging"]["checkout"] = T0
    assert upstream("prod-us", verified, apps).outcome == Outcome.PASS


def soak(env: str, verified, now_offset: timedelta, apps=("checkout",)):
    clock = ManualClock(T0 + now_offset)
    ctx = context(
        ALL, env=env, prm=promotion(environment=env, apps=apps), verified=verified, clock=clock
    )
    config = SOAK.configure(ALL, env)
    assert config is not None
    return SOAK.evaluate(ctx, config)


def test_soak_holds_promotions_into_the_environment_it_is_set_on():
    # prod's own soak applies to each of its upstreams (README, `shiplane init`).
    assert SOAK.configure(ALL, "prod") == SoakGateConfig(
        mode="all", upstream={"staging": 3600, "perf": 3600}
    )
    assert SOAK.configure(ALL, "staging") is None  # no soak of its own
    assert SOAK.configure(ALL, "lone") is None  # nothing upstream to soak in


def test_soak_waits_until_verified_at_plus_soak_in_every_upstream():
    verified = {"staging": {"checkout": T0}, "perf": {"checkout": T0 + timedelta(minutes=10)}}
    result = soak("prod", verified, timedelta(minutes=20))
    assert result.outcome == Outcome.WAIT
    # all: the last one to finish soaking decides (perf: verified 12:10 + 1h).
    assert result.next_check_at == T0 + timedelta(minutes=70)
    # The instant, not a remaining time that would go stale once recorded.
    assert result.reason == "soaking in perf: 1h after verification, until 2026-11-27 13:10:00 UTC"
    assert soak("prod", verified, timedelta(minutes=69, seconds=59)).outcome == Outcome.WAIT
    assert soak("prod", verified, timedelta(minutes=70)).outcome == Outcome.PASS


def test_soak_any_takes_the_first_environment_to_finish():
    verified = {"staging": {"checkout": T0}, "perf": {"checkout": T0 + timedelta(minutes=1)}}
    result = soak("prod-us", verified, timedelta(minutes=5))
    assert result.outcome == Outcome.WAIT and result.next_check_at == T0 + timedelta(minutes=30)
    passed = soak("prod-us", verified, timedelta(minutes=30))
    assert passed.outcome == Outcome.PASS and passed.reason == "soaked in staging"


def test_soak_of_a_train_counts_from_its_last_verified_app():
    verified = {
        "staging": {"checkout": T0, "payments": T0 + timedelta(minutes=15)},
        "perf": {"checkout": T0 + timedelta(minutes=20), "payments": T0},
    }
    result = soak("prod-us", verified, timedelta(minutes=40), apps=("checkout", "payments"))
    assert result.outcome == Outcome.WAIT
    assert result.next_check_at == T0 + timedelta(minutes=45)


def test_soak_before_verification_waits_without_a_time():
    result = soak("prod", {"staging": {"checkout": T0}}, timedelta(hours=5))
    assert result.outcome == Outcome.WAIT and result.next_check_at is None
    assert result.reason == "soak has not started: not yet verified in perf"
    result = soak("prod-us", {}, timedelta(hours=5))
    assert result.outcome == Outcome.WAIT and "staging, perf" in result.reason
