"""The canary's pure rules: replica counts per weight, weights, pauses, requests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shiplane.domain.canary import (
    Analysis,
    Pause,
    Progress,
    SetWeight,
    canary_replicas,
    is_done,
    pause_verdict,
    resume_refusal,
    share,
    skip_refusal,
    summary,
    weight_problems,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
STEPS = [SetWeight(25), Pause(None), Analysis(("error-rate",)), SetWeight(50), Pause(60)]


@pytest.mark.parametrize(
    ("stable", "weight", "canary", "actual"),
    [
        (3, 25, 1, 25),  # 1 of 4
        (3, 50, 3, 50),
        (4, 20, 1, 20),
        (4, 10, 1, 20),  # the smallest canary is one replica
        (1, 75, 3, 75),
        (2, 0, 0, 0),
        (0, 50, 1, 100),  # a stable scaled to zero still gets one canary replica
    ],
)
def test_canary_replicas_make_the_share_nearest_the_weight(
    stable: int, weight: int, canary: int, actual: int
) -> None:
    assert canary_replicas(stable, weight) == canary
    assert share(canary, stable) == actual


def test_weight_100_cannot_run_beside_the_stable_version() -> None:
    with pytest.raises(ValueError, match="0-99"):
        canary_replicas(3, 100)


def test_weights_must_stay_in_range_and_rise() -> None:
    assert weight_problems([(0, 10), (2, 50), (3, 100)]) == []
    assert weight_problems([(0, 20), (1, 20), (2, 10), (3, 101)]) == [
        (1, "setWeight 20 does not rise (the step before set 20)"),
        (2, "setWeight 10 does not rise (the step before set 20)"),
        (3, "setWeight 101 is out of 0-100"),
    ]


def test_a_timed_pause_ends_at_its_duration_from_the_step_start() -> None:
    progress = Progress(step=4, weight=50).started(T0)
    assert pause_verdict(Pause(60), progress, T0 + timedelta(seconds=59)) == (
        "wait",
        T0 + timedelta(seconds=60),
    )
    assert pause_verdict(Pause(60), progress, T0 + timedelta(seconds=60)) == ("done", None)


def test_an_indefinite_pause_waits_until_resumed_at_that_step() -> None:
    progress = Progress(step=1, weight=25).started(T0)
    assert pause_verdict(Pause(None), progress, T0 + timedelta(days=30)) == ("wait", None)
    # A resume given for another step does not end this pause.
    stale = Progress(step=1, weight=25, step_started_at=T0, resume=0)
    assert pause_verdict(Pause(None), stale, T0)[0] == "wait"
    resumed = Progress(step=1, weight=25, step_started_at=T0, resume=1)
    assert pause_verdict(Pause(None), resumed, T0) == ("done", None)


def test_next_step_spends_the_requests_and_keeps_the_weight() -> None:
    progress = Progress(step=1, weight=25, step_started_at=T0, resume=1)
    after = progress.next()
    assert (after.step, after.weight, after.resume, after.step_started_at) == (2, 25, None, None)
    assert progress.next(weight=50).weight == 50


def test_progress_survives_its_json() -> None:
    progress = Progress(step=3, weight=50, step_started_at=T0, resume=None, skip=3)
    assert Progress.from_json(progress.to_json()) == progress
    assert Progress.from_json({}) == Progress()


def test_resume_only_at_a_pause_and_skip_only_before_the_end() -> None:
    assert resume_refusal(STEPS, Progress(step=1)) is None
    refusal = resume_refusal(STEPS, Progress(step=0))
    assert refusal is not None and "setWeight 25" in refusal
    assert resume_refusal(STEPS, Progress(step=5)) is not None
    assert skip_refusal(STEPS, Progress(step=2)) is None
    assert skip_refusal(STEPS, Progress(step=5)) is not None
    assert is_done(STEPS, Progress(step=5)) and not is_done(STEPS, Progress(step=4))


def test_summary_says_weight_and_step() -> None:
    assert summary(STEPS, Progress(step=1, weight=25)) == (
        "canary 25% (step 2/5: pause until resumed)"
    )
    assert summary(STEPS, Progress(step=2, weight=25)).endswith("analysis error-rate)")
    assert summary(STEPS, Progress(step=5, weight=50)) == "canary 50% (all 5 steps passed)"


@pytest.mark.parametrize(
    ("stable", "weight", "canary"), [(2, 25, 1), (2, 60, 2), (4, 100, 4), (3, 0, 0), (0, 10, 1)]
)
def test_routed_canary_replicas_are_the_weight_of_the_stable_rounded_up(
    stable: int, weight: int, canary: int
) -> None:
    from shiplane.domain.canary import routed_canary_replicas

    assert routed_canary_replicas(stable, weight) == canary
    with pytest.raises(ValueError, match="0-100"):
        routed_canary_replicas(stable, 101)
