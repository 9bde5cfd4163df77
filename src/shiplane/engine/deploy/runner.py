"""Running the steps of one deploy: in order, each recorded as it starts and ends, and
the run rows finished however the sequence ends (succeeded, failed at a step, or a bug),
so that no run is ever left `running` by a process that is still alive."""

from __future__ import annotations

from collections.abc import Sequence

import structlog

from shiplane.domain.errors import ForbiddenError
from shiplane.engine.deploy.errors import DeployError, DeployStepError
from shiplane.engine.deploy.outcome import DeployOutcome
from shiplane.engine.deploy.run import DeployRun, Step, StepFailed
from shiplane.store.leases import LeaseLostError

log = structlog.get_logger(__name__)

# A failure in these steps reports no outcome: nothing of this run was applied, and a
# promotion reads `outcome.git_commit` as "the cluster may run the new release".
_NO_OUTCOME = frozenset({"git", "render", "dry-run", "strategy"})


async def run_steps(run: DeployRun, steps: Sequence[Step]) -> DeployOutcome:
    """Run `steps` in order on `run`; the outcome, or DeployStepError naming the step.

    A LeaseLostError passes through unrecorded: another replica owns the apps now and
    writes their rows."""
    rec, outcome = run.rec, run.outcome
    name = "internal"
    try:
        for step in steps:
            name = step.name
            # Rows of the synced apps (a removed app's rows say only what removal did).
            if step.recorded:  # written with the previous step's end (and the start)
                # A step that begins with a write of its own carries its start in it.
                await rec.step(
                    step.name, "running", apps=run.stepped_apps, defer=step_writes_first(step)
                )
            report = await step.run(run)
            if step.recorded:  # written with the next step's start or the finish
                await rec.step(
                    step.name,
                    report.outcome,
                    apps=run.stepped_apps,
                    detail=report.detail,
                    audit_details=report.audit,
                    defer=True,
                )
    except StepFailed as failed:
        raise await _fail(run, failed.step or name, dict(failed.errors)) from None
    except (DeployError, LeaseLostError):
        raise
    except ForbiddenError as exc:  # the cluster refused Shiplane's credentials: say which
        log.warning("deploy.forbidden", group=rec.group_id, step=name, error=str(exc))
        raise await _fail(run, name, dict.fromkeys(rec.apps, str(exc))) from exc
    except Exception as exc:  # a bug or an outage: record it, never leave "running"
        log.exception("deploy.crashed", group=rec.group_id, kind=rec.kind, step=name)
        raise await _fail(run, "internal", dict.fromkeys(rec.apps, repr(exc))) from exc
    failed_apps = outcome.errors
    outcome.status = "failed" if failed_apps else "succeeded"
    await rec.finish(
        outcome.status,
        git_commit=outcome.git_commit,
        errors=failed_apps,
        details={"health": {a: o.health for a, o in outcome.apps.items()}},
    )
    if failed_apps:  # only health records a failure without raising
        app, error = next(iter(failed_apps.items()))
        raise DeployStepError("health", f"{app}: {error}", outcome)
    return outcome


def step_writes_first(step: Step) -> bool:
    return bool(getattr(step, "writes_first", False))


async def _fail(run: DeployRun, step: str, errors: dict[str, str]) -> DeployStepError:
    """Record `step` as failed for `errors`' apps and finish the run as failed."""
    outcome = None if step in _NO_OUTCOME else run.outcome
    await run.rec.step(step, "failed", apps=list(errors), detail=errors, defer=True)
    await run.rec.finish(
        "failed",
        git_commit=outcome.git_commit if outcome else None,
        errors=errors,
        details={"step": step},
    )
    if outcome is not None:
        outcome.status = "failed"
        for app, error in errors.items():
            outcome.apps[app].error = error
    return DeployStepError(step, errors_text(errors), outcome)


def errors_text(errors: dict[str, str]) -> str:
    """`app: error; ...`, or, when several apps failed for one reason (a refused removal,
    a crash), `app, app: error` (the reason once)."""
    reasons = set(errors.values())
    if len(errors) > 1 and len(reasons) == 1:
        return f"{', '.join(errors)}: {reasons.pop()}"
    return "; ".join(f"{app}: {error}" for app, error in errors.items())
