"""The deploy package's pure parts: error families, planning, and the step runner (with
steps that are test doubles, on a real SQLite store)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, cast

import pytest

from shiplane.api.problems import status_of
from shiplane.config.models import ProjectConfig
from shiplane.engine.deploy import (
    DeployNotFoundError,
    DeployOutcome,
    DeployRequestError,
    DeployStepError,
)
from shiplane.engine.deploy.outcome import AppOutcome
from shiplane.engine.deploy.plan import dependency_levels, tree_plans
from shiplane.engine.deploy.recorder import RunRecorder
from shiplane.engine.deploy.run import DeployRun, StepFailed, StepReport
from shiplane.engine.deploy.runner import errors_text, run_steps
from shiplane.gitops.pins import Pin, dump_pin, pin_path
from shiplane.store import deploys
from shiplane.store.db import Database


def project() -> ProjectConfig:
    app = {"images": ["r.example/x"], "manifests": {"path": "apps/x"}}
    return ProjectConfig.model_validate(
        {
            "apiVersion": "shiplane/v1alpha1",
            "project": "shop",
            "clusters": {"c": {"kubeconfig": "k"}},
            "environments": {"dev": {"cluster": "c", "namespace": "ns-dev"}},
            "apps": {
                "db": app,
                "api": {**app, "dependsOn": ["db"]},
                "web": {**app, "dependsOn": ["api"]},
                "docs": app,
            },
        }
    )


@pytest.mark.parametrize(
    ("error", "status", "retryable"),
    [
        (DeployNotFoundError("environment 'x' is not defined"), 404, False),
        (DeployRequestError("nothing to sync"), 422, False),
        (DeployStepError("dry-run", "web: replicas: invalid"), 502, False),
        (DeployStepError("git", "fetch failed"), 503, True),
        (DeployStepError("commit", "push rejected"), 503, True),
    ],
)
def test_deploy_errors_are_in_the_families(error: Any, status: int, retryable: bool) -> None:
    assert status_of(error) == status
    assert getattr(error, "retryable", False) is retryable
    assert str(error) == f"{error.step}: {error.message}"


def test_dependency_levels_put_each_app_after_what_it_depends_on() -> None:
    levels = dependency_levels(project(), ["web", "api", "db", "docs"])
    assert levels == [["db", "docs"], ["api"], ["web"]]
    # A dependency outside the run does not hold an app back.
    assert dependency_levels(project(), ["web"]) == [["web"]]


def test_tree_plans_take_apps_with_a_directory_and_read_their_pins(tmp_path: Path) -> None:
    pin = Pin(app="api", release="rel-1", alias="1.0", images=())
    (tmp_path / pin_path("dev", "api")).parent.mkdir(parents=True)
    (tmp_path / pin_path("dev", "api")).write_bytes(dump_pin(pin))
    (tmp_path / "envs/dev/docs").mkdir(parents=True)  # in the environment, no pin
    plans = tree_plans(project(), "dev", tmp_path, None)
    assert [(p.app, p.pin.release if p.pin else None) for p in plans] == [
        ("api", "rel-1"),
        ("docs", None),
    ]
    with pytest.raises(DeployRequestError, match="'web' is not in environment 'dev'"):
        tree_plans(project(), "dev", tmp_path, ["web"])
    with pytest.raises(DeployNotFoundError):
        tree_plans(project(), "dev", tmp_path, ["nope"])


class FakeStep:
    def __init__(self, name: str, *, recorded: bool = True, fail: Exception | None = None):
        self.name, self.recorded, self.fail = name, recorded, fail
        self.ran = False

    async def run(self, run: DeployRun) -> StepReport:
        self.ran = True
        if self.fail is not None:
            raise self.fail
        return StepReport(detail=f"{self.name} done")


def _run(tmp_path: Path, apps: list[str]) -> tuple[Database, DeployRun]:
    db = Database.from_url(f"sqlite:///{tmp_path / 'db.sqlite'}")
    db.migrate()
    rec = RunRecorder(
        db, group_id="dep-1", environment="dev", apps=apps, kind="sync", release_id=None,
        actor="t",
    )  # fmt: skip
    config = project()
    run = DeployRun(
        environment="dev",
        env=config.environments["dev"],
        handle=cast(Any, None),
        rec=rec,
        outcome=DeployOutcome("dep-1", "dev", "sync", None, git_commit="abc"),
        plans=[],
    )
    return db, run


async def _start(run: DeployRun) -> None:
    run.rec.start({})
    for app, run_id in run.rec.run_ids.items():
        run.outcome.apps[app] = AppOutcome(app, run_id)


def _steps_of(db: Database, run: DeployRun, app: str) -> tuple[str, list[tuple[str, str]]]:
    with db.session(readonly=True) as s:
        row = deploys.get_run(s, run.rec.run_ids[app])
    assert row is not None
    return row.status, [(st.name, st.outcome) for st in row.steps]


def test_runner_records_each_step_and_finishes_the_run(tmp_path: Path) -> None:
    db, run = _run(tmp_path, ["web"])
    steps = [FakeStep("git", recorded=False), FakeStep("render"), FakeStep("apply")]

    async def main() -> DeployOutcome:
        await _start(run)
        return await run_steps(run, steps)

    outcome = asyncio.run(main())
    assert outcome.ok and all(s.ran for s in steps)
    assert _steps_of(db, run, "web") == ("succeeded", [("render", "ok"), ("apply", "ok")])
    db.close()


def test_a_failing_step_stops_the_sequence_and_is_recorded(tmp_path: Path) -> None:
    db, run = _run(tmp_path, ["web", "api"])
    later = FakeStep("prune")
    steps = [FakeStep("apply", fail=StepFailed({"api": "rejected"})), later]

    async def main() -> None:
        await _start(run)
        await run_steps(run, steps)

    with pytest.raises(DeployStepError) as err:
        asyncio.run(main())
    assert err.value.step == "apply" and err.value.message == "api: rejected"
    assert err.value.outcome is not None and err.value.outcome.apps["api"].error == "rejected"
    assert not later.ran
    assert _steps_of(db, run, "api") == ("failed", [("apply", "failed")])
    # The other app's step never finished, but its run is finished too.
    assert _steps_of(db, run, "web")[0] == "failed"
    db.close()


def test_a_bug_in_a_step_is_recorded_as_internal(tmp_path: Path) -> None:
    db, run = _run(tmp_path, ["web"])

    async def main() -> None:
        await _start(run)
        await run_steps(run, [FakeStep("apply", fail=KeyError("boom"))])

    with pytest.raises(DeployStepError) as err:
        asyncio.run(main())
    assert err.value.step == "internal" and "KeyError" in err.value.message
    assert _steps_of(db, run, "web") == (
        "failed",
        [("apply", "running"), ("internal", "failed")],
    )
    db.close()


def test_a_render_failure_reports_no_outcome(tmp_path: Path) -> None:
    db, run = _run(tmp_path, ["web"])

    async def main() -> None:
        await _start(run)
        await run_steps(run, [FakeStep("render", fail=StepFailed({"web": "bad yaml"}))])

    with pytest.raises(DeployStepError) as err:
        asyncio.run(main())
    assert err.value.step == "render" and err.value.outcome is None
    assert _steps_of(db, run, "web") == ("failed", [("render", "failed")])
    db.close()


def test_records_are_batched_into_few_transactions(tmp_path: Path) -> None:
    db, run = _run(tmp_path, ["web", "api"])
    writes = 0
    transact = db.transact

    def counting(fn: Any, **kwargs: Any) -> Any:
        nonlocal writes
        writes += 1
        return transact(fn, **kwargs)

    db.transact = counting  # type: ignore[method-assign]
    steps = [FakeStep(name) for name in ("render", "dry-run", "apply", "prune")]

    async def main() -> None:
        await _start(run)
        await run_steps(run, steps)

    asyncio.run(main())
    # start + 4 steps x (running, ok) + finish: 10 writes unbatched; each step's end
    # now lands with the next step's start, the start with the first, the last with
    # the finish.
    assert writes == 5
    assert _steps_of(db, run, "api") == (
        "succeeded",
        [("render", "ok"), ("dry-run", "ok"), ("apply", "ok"), ("prune", "ok")],
    )
    db.close()


def test_one_reason_for_several_apps_is_said_once() -> None:
    # A refused removal fails every app of the run for one reason: say it once.
    assert errors_text({"web": "refused", "api": "refused"}) == "web, api: refused"
    assert errors_text({"web": "a", "api": "b"}) == "web: a; api: b"
    assert errors_text({"web": "a"}) == "web: a"


def test_a_recorder_knows_whether_its_group_ran_before(tmp_path: Path) -> None:
    """What lets the commit step skip the trailer lookup: no earlier run of the group
    means nothing of it was pushed."""
    db, run = _run(tmp_path, ["web"])

    async def main() -> None:
        await _start(run)
        assert run.rec.ran_before is None  # not known before the rows are written
        await run.rec.flush()
        assert run.rec.ran_before is False
        again = RunRecorder(
            db, group_id="dep-1", environment="dev", apps=["web"], kind="sync",
            release_id=None, actor="t",
        )  # fmt: skip
        again.start({})
        await again.flush()
        assert again.ran_before is True

    asyncio.run(main())
