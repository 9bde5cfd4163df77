"""The state handlers on an in-memory deployer and verifier: every move a promotion can
make, and what each move writes (state, step, audit event) together."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from shiplane.engine.deploy import DeployError, DeployOutcome
from shiplane.engine.promotions import requests
from shiplane.engine.promotions.auto import auto_promote_roots
from shiplane.engine.promotions.create import create_promotion
from shiplane.engine.promotions.model import PromotionData
from shiplane.engine.promotions.verify import record_round
from shiplane.engine.verification import VerifyRound
from shiplane.store import promotion_controls, verifications
from shiplane.store.matrix import get_matrix
from tests.unit.engine.promotions.conftest import ALICE, BOB, World

# staging without an upstream, so a promotion into it needs no earlier environment.
FLAT = {"dev": {}, "staging": {"rollback": {"onFailure": "auto"}}}


@pytest.fixture
def flat(make_world: Callable[..., World]) -> World:
    return make_world(FLAT)


def promote(w: World, release_id: str, environment: str, **kw: object):
    return w.write(lambda s: create_promotion(w.rt, s, release_id, environment, actor=ALICE, **kw))


def test_a_promotion_runs_to_succeeded_in_one_pass_and_records_every_move(world: World):
    rel = world.release("1.0")
    p = promote(world, rel.id, "dev")
    assert p.state == "Pending" and p.data == {"request_reason": ""}

    done = world.reconcile(p.id)

    assert done.state == "Succeeded", done.reason
    assert [c["kind"] for c in world.deployer.calls] == ["deploy"]
    moves = [st.name for st in world.steps(p.id) if st.name.startswith("->")]
    assert moves == ["-> Waiting", "-> Deploying", "-> Verifying", "-> Succeeded"]
    assert world.actions()[:5] == [
        "promotion.create",
        "promotion.waiting",
        "promotion.deploying",
        "promotion.verifying",
        "promotion.succeeded",
    ]
    data = PromotionData.of(done)
    assert data.waiting_since is not None and data.gates is not None
    assert data.verify_reason == "healthy and every check passed"
    verified = world.read(lambda s: verifications.verified_apps(s, rel.id, ["dev"]))
    assert set(verified["dev"]) == {"web"}


def test_success_auto_promotes_downstream_but_not_into_an_environment_without_auto(world: World):
    rel = world.release("1.0")
    world.write(lambda s: auto_promote_roots(world.rt, s, rel.id))
    (dev,) = world.promotions("dev")
    assert dev.trigger == "auto"
    world.reconcile(dev.id)
    (stg,) = world.promotions("staging")
    assert stg.trigger == "auto" and stg.release_id == rel.id
    assert world.reconcile(stg.id).state == "Succeeded"
    assert world.promotions("prod") == []  # prod does not auto-promote
    # Never twice automatically.
    world.write(lambda s: auto_promote_roots(world.rt, s, rel.id))
    assert len(world.promotions("dev")) == 1


def test_a_failed_verification_rolls_back_to_the_last_verified_release(flat: World):
    good, bad = flat.release("1.0"), flat.release("2.0")
    first = promote(flat, good.id, "staging")
    assert flat.reconcile(first.id).state == "Succeeded"

    flat.verifier.script = ["failed"]
    second = promote(flat, bad.id, "staging")
    failed = flat.reconcile(second.id)

    assert failed.state == "RollingBack", failed.reason
    (rollback,) = [r for r in flat.promotions("staging") if r.rollback_of == second.id]
    assert rollback.kind == "rollback" and rollback.release_id == good.id
    holds = flat.read(lambda s: promotion_controls.list_holds(s, "staging"))
    assert [(h.app, h.reason) for h in holds] == [("web", f"rollback {rollback.id}")]
    (cell,) = flat.read(lambda s: get_matrix(s, apps=["web"], environments=["staging"]))
    assert cell.health == "Degraded" and "web crashes" in (cell.health_reason or "")

    assert flat.reconcile(rollback.id).state == "Succeeded"
    assert flat.get(second.id).state == "RolledBack"
    assert flat.deployer.calls[-1]["kind"] == "rollback"
    assert flat.verifier.rounds[-1]["run_checks"] is False  # a rollback needs health only


def test_no_rollback_without_an_earlier_verified_release(flat: World):
    flat.verifier.script = ["failed"]
    p = promote(flat, flat.release("1.0").id, "staging")
    failed = flat.reconcile(p.id)
    assert failed.state == "Failed"
    skipped = [st for st in flat.steps(p.id) if st.name == "rollback"]
    assert [st.outcome for st in skipped] == ["skipped"]
    assert "no earlier verified release" in skipped[0].detail


def test_a_deploy_failure_before_a_commit_fails_without_rollback(flat: World):
    good = flat.release("1.0")
    assert flat.reconcile(promote(flat, good.id, "staging").id).state == "Succeeded"
    flat.deployer.failures = [DeployError("dry-run", "the API server rejected web")]
    p = promote(flat, flat.release("2.0").id, "staging")
    failed = flat.reconcile(p.id)
    assert failed.state == "Failed"
    assert failed.reason == "deploy failed at dry-run: the API server rejected web"
    assert [r.kind for r in flat.promotions("staging")] == ["normal", "normal"]


def test_a_deploy_failure_after_the_commit_rolls_back(flat: World):
    good = flat.release("1.0")
    assert flat.reconcile(promote(flat, good.id, "staging").id).state == "Succeeded"
    pushed = DeployOutcome("grp", "staging", "deploy", None, git_commit="c" * 40)
    flat.deployer.failures = [DeployError("apply", "timed out", pushed)]
    p = promote(flat, flat.release("2.0").id, "staging")
    assert flat.reconcile(p.id).state == "RollingBack"
    assert flat.get(p.id).git_commit == "c" * 40


def test_a_second_promotion_of_the_same_slot_queues_behind_the_first(world: World):
    world.verifier.script = ["running"]
    first = promote(world, world.release("1.0").id, "dev")
    assert world.reconcile(first.id).state == "Verifying"
    second = promote(world, world.release("2.0").id, "dev")
    queued = world.reconcile(second.id)
    assert queued.state == "Pending"
    assert queued.reason == f"queued behind {first.id}"
    assert queued.next_check_at is not None and queued.next_check_at > world.clock.now()


def test_gates_keep_a_promotion_waiting_until_someone_approves(world: World):
    rel = world.release("1.0")
    world.write(lambda s: auto_promote_roots(world.rt, s, rel.id))
    for env in ("dev", "staging"):  # each success auto-promotes into the next
        (upstream,) = world.promotions(env)
        assert world.reconcile(upstream.id).state == "Succeeded"
    p = promote(world, rel.id, "prod")
    waiting = world.reconcile(p.id)
    assert waiting.state == "Waiting" and "approval" in waiting.reason
    assert [st.name for st in world.steps(p.id)].count("gates") == 1
    # Looking again without news records no second step.
    assert world.reconcile(p.id).state == "Waiting"
    assert [st.name for st in world.steps(p.id)].count("gates") == 1

    world.write(lambda s: requests.approve(world.rt, s, p.id, actor=BOB, decision="approve"))
    assert world.reconcile(p.id).state == "Succeeded"


def test_a_held_auto_promotion_is_aborted_when_it_would_start(world: World):
    rel = world.release("1.0")
    world.write(lambda s: auto_promote_roots(world.rt, s, rel.id))
    (dev,) = world.promotions("dev")
    from shiplane.engine.promotions.controls import set_hold

    world.write(lambda s: set_hold(world.rt, s, "dev", "web", actor=ALICE, on=True))
    aborted = world.reconcile(dev.id)
    assert aborted.state == "Aborted" and aborted.reason.startswith("held:")


def test_a_round_recorded_after_an_abort_changes_nothing(world: World):
    world.verifier.script = ["running"]
    p = promote(world, world.release("1.0").id, "dev")
    assert world.reconcile(p.id).state == "Verifying"
    world.write(lambda s: requests.abort(world.rt, s, p.id, actor=ALICE, reason="stop"))
    late = VerifyRound("passed", "healthy", None, {"healthy": True})
    after = world.write(lambda s: record_round(world.rt, s, p.id, late, {}))
    assert after.state == "Aborted"
    assert (
        world.read(lambda s: verifications.verified_apps(s, after.release_id, ["dev"]))["dev"] == {}
    )


def test_the_loop_stops_at_a_finished_promotion(world: World):
    p = promote(world, world.release("1.0").id, "dev")
    world.write(lambda s: requests.abort(world.rt, s, p.id, actor=ALICE, reason="no"))
    before = len(world.steps(p.id))
    assert world.reconcile(p.id).state == "Aborted"
    assert len(world.steps(p.id)) == before and world.deployer.calls == []


def test_handlers_cover_every_state_that_is_not_finished():
    from shiplane.domain.promotion import FINISHED_STATES, PromotionState
    from shiplane.engine.faults import POINTS
    from shiplane.engine.promotions.loop import FAULTS, HANDLERS

    assert set(HANDLERS) == set(PromotionState) - FINISHED_STATES
    named = {p for v in FAULTS.values() for p in ((v,) if isinstance(v, str) else v)}
    assert named <= set(POINTS)


def test_a_promotion_whose_gates_pass_at_once_starts_and_passes_them_in_one_write(
    world: World,
):
    import asyncio

    from shiplane.engine.promotions import start

    p = promote(world, world.release("1.0").id, "dev")
    writes: list[str] = []
    real = world.rt.write

    async def counted(fn):  # type: ignore[no-untyped-def]
        writes.append(getattr(fn, "__qualname__", "?"))
        return await real(fn)

    world.rt.write = counted  # type: ignore[method-assign]
    record = asyncio.run(start.handle(world.rt, world.get(p.id), None))
    assert record.state == "Deploying" and len(writes) == 1
    moves = [st.name for st in world.steps(p.id) if st.name.startswith("->")]
    assert moves == ["-> Waiting", "-> Deploying"]  # both moves recorded, as before


def test_a_transition_from_a_stale_read_is_refused_as_a_conflict(world: World):
    from shiplane.api.problems import status_of
    from shiplane.domain.promotion import PromotionEvent
    from shiplane.engine.promotions.transitions import transition
    from shiplane.store.promotions import StaleStateError

    p = promote(world, world.release("1.0").id, "dev")
    world.write(lambda s: requests.abort(world.rt, s, p.id, actor=ALICE, reason="no"))
    with pytest.raises(StaleStateError) as err:
        world.write(
            lambda s: transition(world.rt, s, p.domain(), PromotionEvent.STARTED, "too late")
        )
    assert status_of(err.value) == 409
    assert world.get(p.id).state == "Aborted"
