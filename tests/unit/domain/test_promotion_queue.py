from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shiplane.domain.promotion import Promotion, PromotionState
from shiplane.domain.promotion_controls import Hold
from shiplane.domain.promotion_queue import (
    held_auto_promotions,
    held_slots,
    may_auto_promote,
    next_to_start,
    queue_order,
    rollbacks_first,
    superseded_by,
)

S = PromotionState
T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def prm(
    n: int,
    *,
    release: str = "rel-a",
    env: str = "prod",
    apps: tuple[str, ...] = ("checkout",),
    trigger: str = "auto",
    kind: str = "normal",
    state: PromotionState = S.PENDING,
) -> Promotion:
    return Promotion(
        id=f"prm-{n:02d}",
        release_id=release,
        environment=env,
        apps=apps,
        requested_by="shiplane" if trigger == "auto" else "alice",
        created_at=T0 + timedelta(minutes=n),
        trigger=trigger,  # type: ignore[arg-type]
        kind=kind,  # type: ignore[arg-type]
        state=state,
    )


def hold(env: str = "prod", app: str = "checkout") -> Hold:
    return Hold(environment=env, app=app, set_by="bob", set_at=T0, reason="rollback")


def ids(promotions: list[Promotion]) -> list[str]:
    return [p.id for p in promotions]


def test_queue_order_is_creation_order():
    assert ids(queue_order([prm(3), prm(1), prm(2)])) == ["prm-01", "prm-02", "prm-03"]


def test_one_active_promotion_per_environment_and_app():
    active = prm(1, state=S.DEPLOYING)
    queued = prm(2, release="rel-b")
    assert next_to_start([active, queued]) == []
    assert ids(next_to_start([prm(1, state=S.SUCCEEDED), queued])) == ["prm-02"]


def test_first_come_first_served_per_slot():
    first, second = prm(1, trigger="manual"), prm(2, release="rel-b", trigger="manual")
    assert ids(next_to_start([second, first])) == ["prm-01"]


def test_independent_slots_start_together():
    queue = [prm(1, env="qa"), prm(2, env="prod"), prm(3, apps=("payments",))]
    assert ids(next_to_start(queue)) == ["prm-01", "prm-02", "prm-03"]


def test_a_release_train_waits_for_all_its_slots_and_keeps_its_place():
    active = prm(1, apps=("payments",), state=S.VERIFYING)
    train = prm(2, release="rel-t", apps=("checkout", "payments"))
    later_checkout = prm(3, release="rel-c", trigger="manual")
    # The train cannot start (payments busy) and later checkout work queues behind it.
    assert next_to_start([active, train, later_checkout]) == []


def test_waiting_and_rolling_back_occupy_the_slot():
    for state in (S.WAITING, S.ROLLING_BACK, S.VERIFYING):
        assert next_to_start([prm(1, state=state), prm(2, release="rel-b")]) == []


def test_newer_auto_promotion_supersedes_queued_older_auto_promotions():
    old_pending = prm(1, release="rel-1")
    old_waiting = prm(2, release="rel-2", state=S.WAITING)
    deploying = prm(3, release="rel-3", state=S.DEPLOYING)
    newer = prm(4, release="rel-4")
    assert ids(superseded_by([old_pending, old_waiting, deploying, newer], newer)) == [
        "prm-01",
        "prm-02",
    ]


def test_manual_promotions_and_rollbacks_are_never_superseded_and_keep_order():
    manual = prm(1, release="rel-1", trigger="manual")
    rollback = prm(2, release="rel-0", kind="rollback", trigger="manual")
    newer = prm(3, release="rel-3")
    assert superseded_by([manual, rollback, newer], newer) == []
    # A manual promotion supersedes nothing either.
    assert superseded_by([prm(1, release="rel-1")], prm(2, release="rel-2", trigger="manual")) == []


def test_supersede_needs_same_environment_other_release_older_and_covered_apps():
    newer = prm(5, release="rel-5", apps=("checkout", "payments"))
    queue = [
        prm(1, release="rel-1", env="qa"),  # other environment
        prm(2, release="rel-5"),  # same release
        prm(3, release="rel-3", apps=("checkout",)),  # covered: superseded
        prm(4, release="rel-4", apps=("checkout", "cart")),  # cart not covered
        prm(6, release="rel-6"),  # newer than `newer`
    ]
    assert ids(superseded_by(queue, newer)) == ["prm-03"]


def test_held_slots_never_auto_promote():
    holds = [hold()]
    assert not may_auto_promote("prod", ["checkout"], holds)
    assert may_auto_promote("prod", ["payments"], holds)
    assert may_auto_promote("qa", ["checkout"], holds)
    assert not may_auto_promote("prod", ["payments", "checkout"], holds)


def test_held_auto_promotions_do_not_start_and_do_not_block():
    held_auto = prm(1, release="rel-1")
    manual = prm(2, release="rel-2", trigger="manual")
    assert ids(next_to_start([held_auto, manual], [hold()])) == ["prm-02"]
    assert ids(held_auto_promotions([held_auto, manual], [hold()])) == ["prm-01"]
    assert held_slots(held_auto, [hold(), hold(app="cart")]) == [("prod", "checkout")]


def test_a_deploying_auto_promotion_is_left_to_finish_when_held():
    assert held_auto_promotions([prm(1, state=S.DEPLOYING)], [hold()]) == []


def test_a_rollback_starts_while_a_promotion_is_held_at_its_gates():
    held_at_gates = prm(1, release="rel-new", trigger="manual", state=S.WAITING)
    rollback = prm(2, release="rel-old", kind="rollback", trigger="manual")
    assert ids(next_to_start([held_at_gates, rollback])) == ["prm-02"]
    # The held promotion lets it go first, while it is queued and while it runs.
    assert ids(rollbacks_first([held_at_gates, rollback], held_at_gates)) == ["prm-02"]
    running = prm(2, release="rel-old", kind="rollback", state=S.DEPLOYING)
    assert ids(rollbacks_first([held_at_gates, running], held_at_gates)) == ["prm-02"]
    done = prm(2, release="rel-old", kind="rollback", state=S.SUCCEEDED)
    assert rollbacks_first([held_at_gates, done], held_at_gates) == []


def test_a_rollback_still_waits_for_a_promotion_that_changes_the_cluster():
    for state in (S.DEPLOYING, S.VERIFYING, S.ROLLING_BACK):
        rollback = prm(2, release="rel-old", kind="rollback", trigger="manual")
        assert next_to_start([prm(1, state=state), rollback]) == []
    # And for an older rollback of the same slot; a Waiting rollback gives way to nobody.
    older = prm(1, release="rel-0", kind="rollback", state=S.WAITING)
    assert next_to_start([older, prm(2, release="rel-1", kind="rollback")]) == []
    assert rollbacks_first([older, prm(2, kind="rollback")], older) == []


def test_no_normal_promotion_starts_in_a_slot_a_rollback_asks_for():
    held_at_gates = prm(1, release="rel-new", trigger="manual", state=S.WAITING)
    rollback = prm(2, release="rel-old", kind="rollback", trigger="manual")
    elsewhere = prm(3, release="rel-x", trigger="manual", apps=("payments",))
    newer = prm(0, release="rel-y", trigger="manual")  # older than the rollback, still behind
    queue = [held_at_gates, rollback, elsewhere]
    assert ids(next_to_start(queue)) == ["prm-02", "prm-03"]
    assert ids(next_to_start([newer, prm(2, release="rel-old", kind="rollback")])) == ["prm-02"]
    assert rollbacks_first(queue, elsewhere) == []
