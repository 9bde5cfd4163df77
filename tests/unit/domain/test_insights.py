"""The insights arithmetic on hand-built promotion histories: every DORA metric and the
flow analytics, with their edge cases (no data, open intervals at the range's end,
rollbacks automatic and by hand, aborted and superseded promotions, release trains)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shiplane.domain.insights import (
    EnvironmentInfo,
    GateEvaluation,
    Insights,
    Move,
    PromotionHistory,
    Verification,
    compute_insights,
    percentile,
    ready_time,
    with_verifications,
)
from shiplane.domain.promotion import PromotionState

S = PromotionState
T0 = datetime(2026, 11, 2, tzinfo=UTC)  # a Monday
SINCE, UNTIL = T0, T0 + timedelta(days=7)
ENVS = [
    EnvironmentInfo("staging", "staging"),
    EnvironmentInfo("prod", "production"),
]
H = timedelta(hours=1)
M = timedelta(minutes=1)

_counter = iter(range(1, 10_000))


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def promotion(
    env: str = "prod",
    *,
    created: float,
    moves: list[tuple[float, S]],
    apps: tuple[str, ...] = ("web",),
    kind: str = "normal",
    release_created: float = -24.0,
    release: str | None = None,
    gates: list[tuple[float, set[str]]] | None = None,
    rollback_of: str | None = None,
    committed: bool | None = None,
    first: bool = True,
    ready: float | None = None,
    pid: str | None = None,
) -> PromotionHistory:
    n = next(_counter)
    states = [s for _, s in moves]
    return PromotionHistory(
        id=pid or f"prm-{n:04d}",
        environment=env,
        apps=apps,
        kind="rollback" if kind == "rollback" else "normal",
        release_id=release or f"rel-{n:04d}",
        release_created_at=at(release_created),
        created_at=at(created),
        moves=tuple(Move(at(h), s) for h, s in moves),
        gate_evaluations=tuple(GateEvaluation(at(h), frozenset(g)) for h, g in gates or []),
        rollback_of=rollback_of,
        committed=(S.VERIFYING in states) if committed is None else committed,
        ready_at=None if ready is None else at(ready),
        first_verification_of=frozenset(apps) if first else frozenset(),
    )


def succeeded(created: float, done: float, **kw: object) -> PromotionHistory:
    """Created, waited no time, deployed for a minute, verified at `done`."""
    moves = [
        (created, S.WAITING),
        (created, S.DEPLOYING),
        (created + 1 / 60, S.VERIFYING),
        (done, S.SUCCEEDED),
    ]
    return promotion(created=created, moves=moves, **kw)  # type: ignore[arg-type]


def failed(created: float, fail: float, **kw: object) -> PromotionHistory:
    moves = [
        (created, S.WAITING),
        (created, S.DEPLOYING),
        (created + 1 / 60, S.VERIFYING),
        (fail, S.FAILED),
    ]
    return promotion(created=created, moves=moves, **kw)  # type: ignore[arg-type]


def report(*histories: PromotionHistory, **kw: object) -> Insights:
    options: dict[str, object] = {"since": SINCE, "until": UNTIL, "environments": ENVS, **kw}
    return compute_insights(histories, **options)  # type: ignore[arg-type]


def prod(r: Insights):  # type: ignore[no-untyped-def]
    (row,) = [e for e in r.environments if e.environment == "prod"]
    return row


# --- no data --------------------------------------------------------------------------------


def test_no_data_gives_zero_deployments_and_null_measures():
    r = report()
    assert r.days == 7.0
    assert [e.environment for e in r.environments] == ["staging", "prod"]
    assert r.production is not None and r.production.environments == ("prod",)
    d = r.production.dora
    assert (d.deployments, d.deployments_per_day, d.rollbacks) == (0, 0.0, 0)
    assert d.lead_time.count == 0 and d.lead_time.p50_seconds is None
    assert d.lead_time.p90_seconds is None
    assert d.change_failure_rate is None and d.changes_deployed == 0
    assert d.time_to_restore.p50_seconds is None and d.unrestored == 0
    assert r.production.flow.bottleneck is None
    assert all(s.total_seconds == 0 and s.p50_seconds is None for s in r.production.flow.stages)
    assert prod(r).apps == ()


def test_without_production_tier_there_is_no_production_rollup():
    r = report(environments=[EnvironmentInfo("dev", "development")])
    assert r.production is None


def test_a_range_must_not_be_empty():
    with pytest.raises(ValueError, match="earlier"):
        compute_insights([], since=UNTIL, until=UNTIL, environments=ENVS)


# --- deployment frequency and lead time ------------------------------------------------------


def test_deployment_frequency_counts_verified_normal_promotions_in_the_range():
    r = report(
        succeeded(1, 2),
        succeeded(10, 12),
        succeeded(-10, -9),  # verified before the range
        succeeded(167, 169),  # verified after the range (created inside)
        promotion(created=20, moves=[(20, S.WAITING), (21, S.ABORTED)]),
        promotion(created=30, moves=[(30, S.SUPERSEDED)]),
        succeeded(40, 41, kind="rollback"),
    )
    d = prod(r).dora
    assert d.deployments == 2
    assert d.deployments_per_day == pytest.approx(2 / 7)
    assert d.deployments_per_week == pytest.approx(2.0)
    assert d.rollbacks == 1


def test_lead_time_is_release_created_to_verified_with_nearest_rank_percentiles():
    # Lead times 10h, 20h, ..., 100h.
    histories = [
        succeeded(h, h + 1, release_created=h + 1 - 10 * (i + 1))
        for i, h in enumerate(range(1, 101, 10))
    ]
    d = prod(report(*histories)).dora
    assert d.lead_time.count == 10
    assert d.lead_time.p50_seconds == 50 * 3600
    assert d.lead_time.p90_seconds == 90 * 3600


def test_lead_time_leaves_out_repeat_verifications_rollbacks_and_unfinished_promotions():
    d = prod(
        report(
            succeeded(5, 6, release_created=0),  # 6h
            succeeded(8, 9, release_created=0, first=False),  # a release verified here before
            succeeded(10, 11, release_created=0, kind="rollback"),
            promotion(created=12, moves=[(12, S.WAITING), (13, S.ABORTED)]),
            promotion(created=14, moves=[(14, S.SUPERSEDED)]),
            promotion(created=160, moves=[(160, S.WAITING), (160, S.DEPLOYING)]),  # open
        )
    ).dora
    assert d.lead_time.count == 1 and d.lead_time.p50_seconds == 6 * 3600
    assert d.deployments == 2  # the repeat is a deployment all the same


def test_percentile_by_nearest_rank():
    assert percentile([], 50) is None
    assert percentile([7.0], 90) == 7.0
    assert percentile([1.0, 2.0], 50) == 1.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 90) == 4.0


# --- change failure rate ---------------------------------------------------------------------


def test_change_failure_rate_over_promotions_that_deployed():
    r = report(
        succeeded(1, 2),
        succeeded(3, 4),
        failed(5, 6),
        # A gate rejection deployed nothing: not in the rate.
        promotion(created=7, moves=[(7, S.WAITING), (8, S.FAILED)]),
        # A deploy failing before its commit: nothing deployed.
        promotion(created=9, moves=[(9, S.WAITING), (9, S.DEPLOYING), (10, S.FAILED)]),
        # Failing after its commit: deployed, and a failure.
        promotion(
            created=11,
            moves=[(11, S.WAITING), (11, S.DEPLOYING), (12, S.FAILED)],
            committed=True,
        ),
        # Aborted while verifying: deployed, not a failure.
        promotion(
            created=13,
            moves=[(13, S.WAITING), (13, S.DEPLOYING), (13.5, S.VERIFYING), (14, S.ABORTED)],
        ),
        # Still verifying at the end of the range: outcome unknown, left out.
        promotion(created=160, moves=[(160, S.WAITING), (160, S.DEPLOYING), (161, S.VERIFYING)]),
    )
    d = prod(r).dora
    assert (d.change_failures, d.changes_deployed) == (2, 5)
    assert d.change_failure_rate == pytest.approx(0.4)


def test_a_failure_after_the_range_is_not_known_inside_it():
    d = prod(report(failed(160, 170))).dora  # deployed inside, failed after `until`
    assert (d.changes_deployed, d.change_failures, d.change_failure_rate) == (0, 0, None)


def test_automatic_rollback_counts_once_and_restores():
    bad = failed(10, 11, pid="prm-bad")
    moves_after = [*bad.moves, Move(at(11), S.ROLLING_BACK), Move(at(11.5), S.ROLLED_BACK)]
    bad = PromotionHistory(**{**_fields(bad), "moves": tuple(moves_after)})
    back = succeeded(11, 11.5, kind="rollback", rollback_of="prm-bad", first=False)
    d = prod(report(succeeded(1, 2), bad, back)).dora
    assert (d.change_failures, d.changes_deployed) == (1, 2)
    assert d.time_to_restore.count == 1 and d.time_to_restore.p50_seconds == 0.5 * 3600
    assert d.rollbacks == 1 and d.deployments == 1


def test_a_manual_rollback_makes_the_promotion_it_undid_a_failure():
    good = succeeded(1, 2, pid="prm-good")
    undone = succeeded(5, 6, pid="prm-undone")
    by_hand = succeeded(8, 9, kind="rollback", first=False)  # `shiplane rollback prod web`
    r = report(good, undone, by_hand)
    d = prod(r).dora
    assert (d.change_failures, d.changes_deployed) == (1, 2)
    assert d.time_to_restore.count == 1 and d.time_to_restore.p50_seconds == 3600
    assert d.deployments == 2  # it was verified: still a deployment


def test_a_manual_rollback_that_deploys_at_once_still_undoes_the_promotion_before_it():
    undone = succeeded(5, 6)
    instant = promotion(
        created=8,
        kind="rollback",
        first=False,
        moves=[(8, S.WAITING), (8, S.DEPLOYING), (8, S.VERIFYING), (8, S.SUCCEEDED)],
    )
    d = prod(report(undone, instant)).dora
    assert d.change_failures == 1 and d.time_to_restore.p50_seconds == 0.0


def test_a_manual_rollback_aborted_before_it_deployed_is_no_failure():
    withdrawn = promotion(created=8, kind="rollback", moves=[(8, S.WAITING), (8.5, S.ABORTED)])
    d = prod(report(succeeded(1, 2), succeeded(5, 6), withdrawn)).dora
    assert d.change_failures == 0 and d.unrestored == 0 and d.time_to_restore.count == 0


def test_a_manual_rollback_of_a_failed_promotion_is_not_a_second_failure():
    broken = failed(5, 6)
    by_hand = succeeded(8, 9, kind="rollback", first=False)
    d = prod(report(succeeded(1, 2), broken, by_hand)).dora
    assert d.change_failures == 1
    assert d.time_to_restore.count == 1 and d.time_to_restore.p50_seconds == 3 * 3600


# --- time to restore -------------------------------------------------------------------------


def test_time_to_restore_runs_to_the_next_verified_promotion_of_that_environment_and_app():
    r = report(
        failed(1, 2),
        succeeded(2.5, 3, apps=("api",)),  # another app: no restore of web
        failed(4, 5),  # still failing: not a new incident
        succeeded(6, 7),
        succeeded(8, 9, env="staging"),
    )
    d = prod(r).dora
    assert d.time_to_restore.count == 1 and d.time_to_restore.p50_seconds == 5 * 3600
    assert d.change_failures == 2  # both failed deploys count as change failures
    web = {a.app: a for a in prod(r).apps}["web"]
    assert web.dora.time_to_restore.p50_seconds == 5 * 3600


def test_an_unrestored_failure_is_open_at_the_range_end_not_a_duration():
    d = prod(report(succeeded(1, 2), failed(100, 101))).dora
    assert d.unrestored == 1 and d.time_to_restore.count == 0
    assert d.time_to_restore.p50_seconds is None


def test_a_restore_after_the_range_end_does_not_count():
    d = prod(report(failed(160, 165), succeeded(166, 170))).dora
    assert d.unrestored == 1 and d.time_to_restore.count == 0


def test_a_release_train_failure_counts_once_and_is_restored_by_its_last_app():
    train = failed(1, 2, apps=("web", "api"))
    r = report(train, succeeded(3, 4, apps=("web",)), succeeded(5, 6, apps=("api",)))
    d = prod(r).dora
    assert d.change_failures == 1
    assert d.time_to_restore.count == 1 and d.time_to_restore.p50_seconds == 4 * 3600
    apps = {a.app: a.dora for a in prod(r).apps}
    assert apps["web"].time_to_restore.p50_seconds == 2 * 3600
    assert apps["api"].time_to_restore.p50_seconds == 4 * 3600


# --- flow -------------------------------------------------------------------------------------


def test_flow_stages_and_gate_types_show_the_bottleneck():
    p = promotion(
        created=10,
        ready=4,  # verified upstream 6h before anybody asked
        moves=[
            (11, S.WAITING),
            (20, S.DEPLOYING),
            (20.5, S.VERIFYING),
            (21, S.SUCCEEDED),
        ],
        gates=[(11, {"approval", "window"}), (13, {"approval"}), (19, {"window"})],
    )
    f = prod(report(p)).flow
    stages = {s.name: s for s in f.stages}
    assert stages["ready"].total_seconds == 6 * 3600 and stages["ready"].count == 1
    assert stages["queued"].p50_seconds == 3600
    assert stages["gates"].p50_seconds == 9 * 3600
    assert stages["deploying"].p50_seconds == 1800
    assert stages["verifying"].p50_seconds == 1800
    gates = {g.name: g for g in f.gates}
    assert gates["approval"].total_seconds == 8 * 3600  # 11..19
    assert gates["window"].total_seconds == 3 * 3600  # 11..13 and 19..20
    assert [g.name for g in f.gates] == ["approval", "window"]  # longest first
    assert f.bottleneck == "gate:approval"


def test_open_waits_count_up_to_the_range_end_and_are_not_samples():
    waiting = promotion(
        created=100, moves=[(100, S.WAITING)], gates=[(100, {"approval"})], first=False
    )
    queued = promotion(created=150, moves=[], first=False)
    f = prod(report(waiting, queued)).flow
    stages = {s.name: s for s in f.stages}
    assert stages["gates"].total_seconds == 68 * 3600
    assert stages["gates"].open == 1 and stages["gates"].count == 0
    assert stages["queued"].open == 1 and stages["queued"].total_seconds == 18 * 3600
    (approval,) = f.gates
    assert (approval.open, approval.count, approval.total_seconds) == (1, 0, 68 * 3600)
    assert f.bottleneck == "gate:approval"


def test_waits_are_clipped_to_the_range_but_samples_are_whole():
    # Waiting from 24h before the range to 2h into it.
    p = promotion(
        created=-24,
        moves=[(-24, S.WAITING), (2, S.DEPLOYING), (2, S.VERIFYING), (3, S.SUCCEEDED)],
        gates=[(-24, {"soak"})],
    )
    f = prod(report(p)).flow
    gates = {s.name: s for s in f.stages}["gates"]
    assert gates.total_seconds == 2 * 3600 and gates.p50_seconds == 26 * 3600
    (soak,) = f.gates
    assert soak.total_seconds == 2 * 3600 and soak.p50_seconds == 26 * 3600


def test_flow_leaves_out_rollbacks_and_counts_aborted_waits():
    rollback = promotion(
        created=1, kind="rollback", moves=[(1, S.WAITING)], gates=[(1, {"freeze"})]
    )
    aborted = promotion(
        created=2, moves=[(2, S.WAITING), (5, S.ABORTED)], gates=[(2, {"rollback"})]
    )
    f = prod(report(rollback, aborted)).flow
    assert [g.name for g in f.gates] == ["rollback"]
    assert f.gates[0].p50_seconds == 3 * 3600


def test_ready_time_follows_the_upstream_rule():
    created = at(0)
    verified = {
        "qa": {"web": at(2), "api": at(3)},
        "eu": {"web": at(5), "api": at(4)},
        "us": {"web": at(1)},
    }
    assert ready_time("all", (), ("web",), verified, created) == created
    assert ready_time("all", ("qa", "eu"), ("web", "api"), verified, created) == at(5)
    assert ready_time("any", ("qa", "eu"), ("web", "api"), verified, created) == at(3)
    assert ready_time("all", ("qa", "us"), ("web", "api"), verified, created) is None
    assert ready_time("any", ("us",), ("web", "api"), verified, created) is None


def test_with_verifications_fills_ready_and_first_verification():
    h = promotion(created=10, moves=[], release="rel-x", first=False, pid="prm-p")
    other = promotion(created=20, moves=[], release="rel-x", first=False, pid="prm-q")
    facts = [
        Verification("rel-x", "staging", "web", "prm-s", at(8)),
        Verification("rel-x", "prod", "web", "prm-p", at(12)),
        Verification("rel-x", "prod", "web", "prm-q", at(22)),
    ]
    rules = {"prod": ("all", ("staging",))}
    a, b = with_verifications([h, other], facts, rules)  # type: ignore[arg-type]
    assert a.ready_at == at(8) and a.first_verification_of == {"web"}
    assert b.ready_at == at(8) and b.first_verification_of == frozenset()
    (gone,) = with_verifications(
        [promotion(env="old", created=1, moves=[])],
        facts,
        rules,  # type: ignore[arg-type]
    )
    assert gone.ready_at is None


# --- scopes and filters ----------------------------------------------------------------------


def test_environments_from_records_only_are_listed_without_a_tier():
    r = report(succeeded(1, 2, env="legacy"))
    assert [(e.environment, e.tier) for e in r.environments] == [
        ("staging", "staging"),
        ("prod", "production"),
        ("legacy", None),
    ]


def test_filters_narrow_to_one_environment_and_one_app():
    histories = [
        succeeded(1, 2, apps=("web",)),
        succeeded(3, 4, apps=("api",)),
        succeeded(5, 6, apps=("web", "api")),
        succeeded(7, 8, env="staging"),
    ]
    r = report(*histories, environment="prod", app="web")
    assert [e.environment for e in r.environments] == ["prod"]
    assert prod(r).dora.deployments == 2
    assert [a.app for a in prod(r).apps] == ["web"]
    assert r.production is not None and r.production.dora.deployments == 2
    unfiltered = report(*histories, app_order=["web", "api"])
    assert [a.app for a in prod(unfiltered).apps] == ["web", "api"]
    assert prod(unfiltered).dora.deployments == 3  # a release train is one deployment


def test_production_rolls_up_every_production_environment():
    envs = [*ENVS, EnvironmentInfo("prod-us", "production")]
    r = report(succeeded(1, 2), succeeded(3, 4, env="prod-us"), environments=envs)
    assert r.production is not None
    assert r.production.environments == ("prod", "prod-us")
    assert r.production.dora.deployments == 2


def test_times_are_utc_whatever_zone_the_range_is_given_in():
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    r = report(since=SINCE.astimezone(berlin), until=UNTIL.astimezone(berlin))
    assert r.since.tzinfo == UTC and r.since == SINCE


def _fields(h: PromotionHistory) -> dict[str, object]:
    return {name: getattr(h, name) for name in h.__dataclass_fields__}
