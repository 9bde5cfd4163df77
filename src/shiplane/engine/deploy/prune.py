"""Step `prune`: delete what the previous inventory has and the run no longer renders.

A prune above the environment's `maxFraction` is refused (and stops the run), objects
with the opt-out annotation are kept, and with prune disabled the old objects stay in
the inventory so that a later prune still finds them.
"""

from __future__ import annotations

from shiplane.engine.deploy.inventory import read_inventories, remember_inventories
from shiplane.engine.deploy.plan import AppPlan
from shiplane.engine.deploy.run import DeployRun, StepFailed, StepReport
from shiplane.kube.refs import ObjRef


class PruneStep:
    name = "prune"
    recorded = True
    writes_first = True  # reading the inventories writes the step's start with them

    async def run(self, run: DeployRun) -> StepReport:
        previous = await read_inventories(run.rec, run.apps)
        texts: dict[str, str] = {}
        inventories: dict[str, list[ObjRef]] = {}
        try:
            for plan in run.plans:
                texts[plan.app], inventories[plan.app] = await prune_plan(
                    run, plan, previous[plan.app]
                )
        finally:  # a refused prune stops here; the apps before it are done
            await remember_inventories(run.rec, inventories, run.outcome.git_commit)
        apps = run.outcome.apps
        run.say(
            "applied "
            + ", ".join(
                f"{a} ({o.changed}/{o.objects} changed, {o.pruned} pruned)" for a, o in apps.items()
            )
        )
        return StepReport(detail=texts, audit={"pruned": {a: o.pruned for a, o in apps.items()}})


async def prune_plan(
    run: DeployRun, plan: AppPlan, previous: list[ObjRef]
) -> tuple[str, list[ObjRef]]:
    """Prune one app; the text for its step row and its new inventory."""
    current = [ObjRef.of(o) for o in plan.objects]
    keep: list[ObjRef] = []
    text = "nothing to prune"
    if run.env.prune.enabled and previous:
        run.rec.assert_held()
        result = await run.handle.applier.prune(
            previous,
            current,
            max_fraction=run.env.prune.max_fraction,
            environment=run.environment,
            app=plan.app,
        )
        if result.refused:
            raise StepFailed({plan.app: result.reason})
        run.outcome.apps[plan.app].pruned = len(result.deleted)
        keep = list(result.keep)
        if result.deleted or result.skipped_opt_out:
            text = f"deleted {len(result.deleted)}, kept {len(result.skipped_opt_out)} (opt-out)"
    elif previous:
        text = "prune disabled for this environment"
        keep = [r for r in previous if r not in set(current)]
    return text, current + keep
